package org.meddiff.gateway.campaign;

import java.nio.charset.StandardCharsets;

/**
 * The campaign's own reading of a data set it sent (top-level elements only, little endian): the SOP Instance,
 * Study and Series UIDs as the bytes say them, to know where a stored instance must be. Null when the bytes
 * do not walk cleanly (a mutation hit a tag, VR or length): then the location is checked by file name only.
 */
final class TopLevel {
    private TopLevel() {}

    /** {sop, study, series}; null if unreadable or one of them is missing. */
    static String[] uids(byte[] ds, boolean explicit) {
        String sop = null, study = null, series = null;
        int pos = 0;
        while (pos < ds.length) {
            if (pos + 8 > ds.length) {
                return null;
            }
            int group = (ds[pos] & 0xff) | (ds[pos + 1] & 0xff) << 8;
            int element = (ds[pos + 2] & 0xff) | (ds[pos + 3] & 0xff) << 8;
            long length;
            int header;
            if (explicit) {
                String vr = new String(ds, pos + 4, 2, StandardCharsets.ISO_8859_1);
                if (HostileBytes.DataSet.longForm(vr)) {
                    if (pos + 12 > ds.length) {
                        return null;
                    }
                    length = HostileBytes.u32le(ds, pos + 8);
                    header = 12;
                } else {
                    length = (ds[pos + 6] & 0xff) | (ds[pos + 7] & 0xff) << 8;
                    header = 8;
                }
            } else {
                length = HostileBytes.u32le(ds, pos + 4);
                header = 8;
            }
            if (length > ds.length - pos - header) {
                return null; // undefined length or beyond the end
            }
            String value = new String(ds, pos + header, (int) length, StandardCharsets.ISO_8859_1);
            if (group == 0x0008 && element == 0x0018) {
                sop = trim(value);
            } else if (group == 0x0020 && element == 0x000D) {
                study = trim(value);
            } else if (group == 0x0020 && element == 0x000E) {
                series = trim(value);
            }
            pos += header + (int) length;
        }
        return sop == null || study == null || series == null ? null : new String[] {sop, study, series};
    }

    /** Leading and trailing spaces and NUL padding are not part of a UI value. */
    private static String trim(String v) {
        int start = 0, end = v.length();
        while (end > start && (v.charAt(end - 1) == 0 || v.charAt(end - 1) == ' ')) {
            end--;
        }
        while (start < end && v.charAt(start) == ' ') {
            start++;
        }
        return v.substring(start, end);
    }
}
