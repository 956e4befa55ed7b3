package org.meddiff.gateway.dicom.net;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * A DIMSE command set (PS3.7 section 9.3 and 9.1): group 0000 elements in Implicit VR Little Endian.
 * Only the elements C-ECHO and C-STORE need are given names; the rest pass through untouched.
 */
public final class DimseCommand {
    public static final int AFFECTED_SOP_CLASS_UID = 0x0002;
    public static final int COMMAND_FIELD = 0x0100;
    public static final int MESSAGE_ID = 0x0110;
    public static final int MESSAGE_ID_BEING_RESPONDED_TO = 0x0120;
    public static final int PRIORITY = 0x0700;
    public static final int COMMAND_DATA_SET_TYPE = 0x0800;
    public static final int STATUS = 0x0900;
    public static final int ERROR_COMMENT = 0x0902;
    public static final int AFFECTED_SOP_INSTANCE_UID = 0x1000;

    public static final int C_STORE_RQ = 0x0001;
    public static final int C_STORE_RSP = 0x8001;
    public static final int C_ECHO_RQ = 0x0030;
    public static final int C_ECHO_RSP = 0x8030;
    public static final int NO_DATA_SET = 0x0101;

    private final TreeMap<Integer, byte[]> elements = new TreeMap<>();

    public static DimseCommand parse(byte[] bytes, int length) throws DicomProtocolException {
        DimseCommand command = new DimseCommand();
        int pos = 0;
        while (pos + 8 <= length) {
            int group = (bytes[pos] & 0xff) | (bytes[pos + 1] & 0xff) << 8;
            int element = (bytes[pos + 2] & 0xff) | (bytes[pos + 3] & 0xff) << 8;
            int len = (bytes[pos + 4] & 0xff)
                    | (bytes[pos + 5] & 0xff) << 8
                    | (bytes[pos + 6] & 0xff) << 16
                    | (bytes[pos + 7] & 0xff) << 24;
            if (group != 0 || len < 0 || len > length - pos - 8) { // written so that a huge len cannot overflow
                throw new DicomProtocolException("malformed command set at byte " + pos);
            }
            byte[] value = new byte[len];
            System.arraycopy(bytes, pos + 8, value, 0, len);
            command.elements.put(element, value);
            pos += 8 + len;
        }
        return command;
    }

    public int getUnsignedShort(int element, int defaultValue) {
        byte[] v = elements.get(element);
        return v == null || v.length < 2 ? defaultValue : (v[0] & 0xff) | (v[1] & 0xff) << 8;
    }

    public String getString(int element) {
        byte[] v = elements.get(element);
        return v == null ? null : Pdu.text(v, 0, v.length);
    }

    public DimseCommand putUnsignedShort(int element, int value) {
        elements.put(element, new byte[] {(byte) value, (byte) (value >>> 8)});
        return this;
    }

    /** UI values are padded with NUL, other strings with a space, to even length. */
    public DimseCommand putString(int element, String value, boolean uid) {
        byte[] raw = value.getBytes(StandardCharsets.US_ASCII);
        byte[] padded = raw.length % 2 == 0 ? raw : Arrays.copyOf(raw, raw.length + 1);
        if (raw.length % 2 != 0) {
            padded[raw.length] = uid ? 0 : (byte) ' ';
        }
        elements.put(element, padded);
        return this;
    }

    public byte[] encode() {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (Map.Entry<Integer, byte[]> e : elements.entrySet()) {
            if (e.getKey() != 0) {
                writeElement(body, e.getKey(), e.getValue());
            }
        }
        byte[] rest = body.toByteArray();
        ByteArrayOutputStream all = new ByteArrayOutputStream(rest.length + 12);
        writeElement(all, 0x0000, new byte[] {
            (byte) rest.length, (byte) (rest.length >>> 8), (byte) (rest.length >>> 16), (byte) (rest.length >>> 24)
        });
        all.writeBytes(rest);
        return all.toByteArray();
    }

    private static void writeElement(ByteArrayOutputStream out, int element, byte[] value) {
        out.write(0);
        out.write(0);
        out.write(element);
        out.write(element >>> 8);
        out.write(value.length);
        out.write(value.length >>> 8);
        out.write(value.length >>> 16);
        out.write(value.length >>> 24);
        out.writeBytes(value);
    }

    public static DimseCommand echoResponse(DimseCommand rq) {
        return new DimseCommand()
                .putString(AFFECTED_SOP_CLASS_UID, nullToEmpty(rq.getString(AFFECTED_SOP_CLASS_UID)), true)
                .putUnsignedShort(COMMAND_FIELD, C_ECHO_RSP)
                .putUnsignedShort(MESSAGE_ID_BEING_RESPONDED_TO, rq.getUnsignedShort(MESSAGE_ID, 0))
                .putUnsignedShort(COMMAND_DATA_SET_TYPE, NO_DATA_SET)
                .putUnsignedShort(STATUS, DicomStatus.SUCCESS);
    }

    public static DimseCommand storeResponse(DimseCommand rq, int status, String errorComment) {
        DimseCommand rsp = new DimseCommand()
                .putString(AFFECTED_SOP_CLASS_UID, nullToEmpty(rq.getString(AFFECTED_SOP_CLASS_UID)), true)
                .putUnsignedShort(COMMAND_FIELD, C_STORE_RSP)
                .putUnsignedShort(MESSAGE_ID_BEING_RESPONDED_TO, rq.getUnsignedShort(MESSAGE_ID, 0))
                .putUnsignedShort(COMMAND_DATA_SET_TYPE, NO_DATA_SET)
                .putUnsignedShort(STATUS, status)
                .putString(AFFECTED_SOP_INSTANCE_UID, nullToEmpty(rq.getString(AFFECTED_SOP_INSTANCE_UID)), true);
        if (errorComment != null && !errorComment.isBlank()) {
            // ErrorComment is LO: at most 64 characters.
            String comment = errorComment.length() > 64 ? errorComment.substring(0, 64) : errorComment;
            rsp.putString(ERROR_COMMENT, comment.replaceAll("[^\\x20-\\x7e]", "?"), false);
        }
        return rsp;
    }

    public static DimseCommand storeRequest(int messageId, String sopClassUid, String sopInstanceUid) {
        return new DimseCommand()
                .putString(AFFECTED_SOP_CLASS_UID, sopClassUid, true)
                .putUnsignedShort(COMMAND_FIELD, C_STORE_RQ)
                .putUnsignedShort(MESSAGE_ID, messageId)
                .putUnsignedShort(PRIORITY, 0)
                .putUnsignedShort(COMMAND_DATA_SET_TYPE, 0x0000)
                .putString(AFFECTED_SOP_INSTANCE_UID, sopInstanceUid, true);
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
