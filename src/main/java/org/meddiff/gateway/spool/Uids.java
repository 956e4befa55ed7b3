package org.meddiff.gateway.spool;

import java.util.regex.Pattern;

/** UID syntax checks (PS3.5 section 9): the spool uses UIDs as path names, so this is also a security check. */
public final class Uids {
    private static final Pattern UID = Pattern.compile("[0-9]+(\\.[0-9]+)*");

    private Uids() {}

    public static boolean isValid(String uid) {
        return uid != null
                && !uid.isEmpty()
                && uid.length() <= 64
                && UID.matcher(uid).matches();
    }
}
