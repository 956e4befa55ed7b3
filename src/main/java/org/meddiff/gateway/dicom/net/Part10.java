package org.meddiff.gateway.dicom.net;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * The Part-10 file meta information (PS3.10 section 7.1): what the network layer must write in front of
 * a received data set, and read back before sending one. The data set itself is never re-encoded:
 * bytes received are the bytes stored and the bytes sent on.
 */
public final class Part10 {
    private Part10() {}

    /** What the meta header says about a file and where its data set starts. */
    public record Meta(String sopClassUid, String sopInstanceUid, String transferSyntaxUid, long dataSetOffset) {}

    public static byte[] header(String sopClassUid, String sopInstanceUid, String transferSyntaxUid, String sourceAe) {
        ByteArrayOutputStream group = new ByteArrayOutputStream(256);
        // (0002,0001) OB: long form (2 reserved bytes + 32-bit length)
        group.writeBytes(new byte[] {2, 0, 1, 0, 'O', 'B', 0, 0, 2, 0, 0, 0, 0, 1});
        shortElement(group, 0x0002, "UI", sopClassUid, (byte) 0);
        shortElement(group, 0x0003, "UI", sopInstanceUid, (byte) 0);
        shortElement(group, 0x0010, "UI", transferSyntaxUid, (byte) 0);
        shortElement(group, 0x0012, "UI", Pdu.IMPLEMENTATION_CLASS_UID, (byte) 0);
        shortElement(group, 0x0013, "SH", Pdu.IMPLEMENTATION_VERSION, (byte) ' ');
        if (sourceAe != null && !sourceAe.isEmpty()) {
            shortElement(group, 0x0016, "AE", sourceAe, (byte) ' ');
        }
        byte[] rest = group.toByteArray();
        ByteArrayOutputStream all = new ByteArrayOutputStream(132 + 12 + rest.length);
        all.writeBytes(new byte[128]);
        all.writeBytes("DICM".getBytes(StandardCharsets.US_ASCII));
        all.writeBytes(new byte[] {2, 0, 0, 0, 'U', 'L', 4, 0});
        int n = rest.length;
        all.writeBytes(new byte[] {(byte) n, (byte) (n >>> 8), (byte) (n >>> 16), (byte) (n >>> 24)});
        all.writeBytes(rest);
        return all.toByteArray();
    }

    private static void shortElement(ByteArrayOutputStream out, int element, String vr, String value, byte pad) {
        byte[] raw = value.getBytes(StandardCharsets.US_ASCII);
        int len = raw.length + (raw.length % 2);
        out.writeBytes(new byte[] {
            2,
            0,
            (byte) element,
            (byte) (element >>> 8),
            (byte) vr.charAt(0),
            (byte) vr.charAt(1),
            (byte) len,
            (byte) (len >>> 8)
        });
        out.writeBytes(raw);
        if (raw.length % 2 != 0) {
            out.write(pad);
        }
    }

    /** Reads the meta group of a Part-10 stream positioned at its start. */
    public static Meta readMeta(InputStream stream) throws IOException {
        DataInputStream in = new DataInputStream(stream);
        byte[] preamble = new byte[132];
        in.readFully(preamble);
        if (preamble[128] != 'D' || preamble[129] != 'I' || preamble[130] != 'C' || preamble[131] != 'M') {
            throw new IOException("not a DICOM Part-10 file (no DICM prefix)");
        }
        long offset = 132;
        String sopClass = null, sopInstance = null, ts = null;
        long groupEnd = Long.MAX_VALUE;
        while (offset < groupEnd) {
            byte[] tag = new byte[8];
            in.readFully(tag);
            int group = (tag[0] & 0xff) | (tag[1] & 0xff) << 8;
            int element = (tag[2] & 0xff) | (tag[3] & 0xff) << 8;
            if (group != 2) {
                throw new IOException("meta information group ends without a group length");
            }
            String vr = new String(tag, 4, 2, StandardCharsets.US_ASCII);
            long length;
            int headerLength = 8;
            if (vr.equals("OB") || vr.equals("OW") || vr.equals("UN") || vr.equals("SQ") || vr.equals("UT")) {
                byte[] l = new byte[4];
                in.readFully(l);
                length = ((l[0] & 0xffL) | (l[1] & 0xffL) << 8 | (l[2] & 0xffL) << 16 | (l[3] & 0xffL) << 24);
                headerLength = 12;
            } else {
                length = (tag[6] & 0xff) | (tag[7] & 0xff) << 8;
            }
            byte[] value = new byte[(int) length];
            in.readFully(value);
            if (element == 0x0000) {
                long groupLength = (value[0] & 0xffL)
                        | (value[1] & 0xffL) << 8
                        | (value[2] & 0xffL) << 16
                        | (value[3] & 0xffL) << 24;
                groupEnd = offset + headerLength + length + groupLength;
            } else if (element == 0x0002) {
                sopClass = Pdu.text(value, 0, value.length);
            } else if (element == 0x0003) {
                sopInstance = Pdu.text(value, 0, value.length);
            } else if (element == 0x0010) {
                ts = Pdu.text(value, 0, value.length);
            }
            offset += headerLength + length;
        }
        if (sopClass == null || sopInstance == null || ts == null) {
            throw new IOException("meta information lacks SOP class, SOP instance or transfer syntax");
        }
        return new Meta(sopClass, sopInstance, ts, offset);
    }
}
