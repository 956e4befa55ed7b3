package org.meddiff.gateway.dicom;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.regex.Pattern;

/**
 * Deterministic DICOM UIDs for the series the gateway derives (and for synthetic test data).
 *
 * <p>Scheme: a name-based UUID built from SHA-256 (the first 16 bytes of SHA-256 of the UTF-8 name,
 * with the RFC 9562 version nibble set to 8 and the variant bits to 10), written as a DICOM UID under
 * the UUID root {@code 2.25} (PS3.5 B.2): {@code "2.25." + <the UUID as an unsigned 128-bit decimal>}.
 * At most 44 characters, digits and dots only, no leading zeros.
 *
 * <ul>
 *   <li>series: name = {@code seed}</li>
 *   <li>instance {@code i} (the InstanceNumber, 1-based): name = {@code seed + "/" + i}</li>
 * </ul>
 * The same seed always gives the same UIDs, so a retried job rewrites, and never duplicates, its series.
 */
public final class DerivedUids {

    /** The DICOM root for UIDs derived from UUIDs (PS3.5 B.2). */
    public static final String UUID_ROOT = "2.25";

    private static final Pattern UID_SYNTAX = Pattern.compile("(0|[1-9][0-9]*)(\\.(0|[1-9][0-9]*))*");

    private DerivedUids() {}

    /** SeriesInstanceUID of the series derived with {@code seed}. */
    public static String seriesInstanceUid(String seed) {
        return fromName(seed);
    }

    /** SOPInstanceUID of instance {@code instanceNumber} (1-based) of the series derived with {@code seed}. */
    public static String sopInstanceUid(String seed, int instanceNumber) {
        return fromName(seed + "/" + instanceNumber);
    }

    /** {@code 2.25.<decimal of the SHA-256 name-based UUID of name>}. */
    public static String fromName(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("UID seed must not be empty");
        }
        byte[] hash;
        try {
            hash = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 not available", e);
        }
        byte[] uuid = new byte[16];
        System.arraycopy(hash, 0, uuid, 0, 16);
        uuid[6] = (byte) ((uuid[6] & 0x0f) | 0x80); // version 8 (custom, here: name-based SHA-256)
        uuid[8] = (byte) ((uuid[8] & 0x3f) | 0x80); // variant 10 (RFC 9562)
        return UUID_ROOT + "." + new BigInteger(1, uuid).toString();
    }

    /** DICOM UID syntax (PS3.5 9.1): digits and dots, no empty or zero-led components, at most 64 characters. */
    public static boolean isValid(String uid) {
        return uid != null
                && !uid.isEmpty()
                && uid.length() <= 64
                && UID_SYNTAX.matcher(uid).matches();
    }
}
