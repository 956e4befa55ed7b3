package org.meddiff.gateway.dicom.net;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * DICOM upper-layer PDU framing (PS3.8 section 9.3): a 6-byte header (type, reserved, 32-bit big-endian
 * length) followed by the body. Kept byte-level and allocation-light because every C-STORE goes through it.
 */
final class Pdu {
    static final int ASSOCIATE_RQ = 0x01;
    static final int ASSOCIATE_AC = 0x02;
    static final int ASSOCIATE_RJ = 0x03;
    static final int P_DATA_TF = 0x04;
    static final int RELEASE_RQ = 0x05;
    static final int RELEASE_RP = 0x06;
    static final int ABORT = 0x07;

    static final String APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1";
    static final String IMPLEMENTATION_CLASS_UID = "1.2.826.0.1.3680043.10.1427.1";
    static final String IMPLEMENTATION_VERSION = "MEDDIFF_GW_01";

    /** Largest PDU body we are willing to buffer, whatever a peer announces (guards memory). */
    static final int MAX_ACCEPTED_PDU_BODY = 16 * 1024 * 1024;

    private Pdu() {}

    /** Type and body length of the next PDU, or null at a clean end of stream. */
    record Header(int type, int length) {}

    static Header readHeader(DataInputStream in) throws IOException {
        int type = in.read();
        if (type < 0) {
            return null;
        }
        in.readUnsignedByte();
        int length = in.readInt();
        if (length < 0 || length > MAX_ACCEPTED_PDU_BODY) {
            throw new DicomProtocolException("PDU length " + Integer.toUnsignedString(length) + " out of range");
        }
        return new Header(type, length);
    }

    static byte[] readBody(DataInputStream in, Header header, byte[] reuse) throws IOException {
        byte[] body =
                reuse != null && reuse.length >= header.length() ? reuse : new byte[Math.max(header.length(), 1024)];
        try {
            in.readFully(body, 0, header.length());
        } catch (EOFException e) {
            throw new DicomProtocolException("connection closed inside a PDU");
        }
        return body;
    }

    /** The first {@code keep} bytes of a body (fewer if it is shorter); the rest is read and dropped. */
    static byte[] readBodyStart(DataInputStream in, Header header, int keep) throws IOException {
        byte[] start = new byte[Math.min(keep, header.length())];
        try {
            in.readFully(start);
            in.skipNBytes(header.length() - start.length);
        } catch (EOFException e) {
            throw new DicomProtocolException("connection closed inside a PDU");
        }
        return start;
    }

    static void writeHeader(OutputStream out, int type, int length) throws IOException {
        out.write(type);
        out.write(0);
        out.write(length >>> 24);
        out.write(length >>> 16);
        out.write(length >>> 8);
        out.write(length);
    }

    static void writeReleaseRq(OutputStream out) throws IOException {
        writeHeader(out, RELEASE_RQ, 4);
        out.write(new byte[4]);
        out.flush();
    }

    static void writeReleaseRp(OutputStream out) throws IOException {
        writeHeader(out, RELEASE_RP, 4);
        out.write(new byte[4]);
        out.flush();
    }

    /** A-ABORT from the service provider (source 2) or user (source 0). */
    static void writeAbort(OutputStream out, int source, int reason) throws IOException {
        writeHeader(out, ABORT, 4);
        out.write(new byte[] {0, 0, (byte) source, (byte) reason});
        out.flush();
    }

    static void writeReject(OutputStream out, AssociationRejection rejection) throws IOException {
        writeHeader(out, ASSOCIATE_RJ, 4);
        out.write(new byte[] {0, (byte) rejection.result(), (byte) rejection.source(), (byte) rejection.reason()});
        out.flush();
    }

    static int u16(byte[] b, int off) {
        return ((b[off] & 0xff) << 8) | (b[off + 1] & 0xff);
    }

    static int u32(byte[] b, int off) {
        return ((b[off] & 0xff) << 24) | ((b[off + 1] & 0xff) << 16) | ((b[off + 2] & 0xff) << 8) | (b[off + 3] & 0xff);
    }

    /** UIDs and AE titles in PDUs are padded with NUL or spaces. */
    static String text(byte[] b, int off, int len) {
        int end = off + len;
        while (end > off && (b[end - 1] == 0 || b[end - 1] == ' ')) {
            end--;
        }
        int start = off;
        while (start < end && b[start] == ' ') {
            start++;
        }
        return new String(b, start, end - start, StandardCharsets.US_ASCII);
    }

    static byte[] aeTitleField(String ae) {
        byte[] field = new byte[16];
        Arrays.fill(field, (byte) ' ');
        byte[] src = ae.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(src, 0, field, 0, Math.min(16, src.length));
        return field;
    }
}
