package org.meddiff.gateway.dicom.net;

/** DIMSE status codes the gateway sends or interprets (PS3.4 annex B.2.3, PS3.7 annex C). */
public final class DicomStatus {
    public static final int SUCCESS = 0x0000;
    /** Refused: SOP Class not supported. */
    public static final int SOP_CLASS_NOT_SUPPORTED = 0x0122;
    /** Refused: out of resources (e.g. spool full or not writable). */
    public static final int OUT_OF_RESOURCES = 0xA700;
    /** Error: data set does not match SOP Class. */
    public static final int DATA_SET_DOES_NOT_MATCH_SOP_CLASS = 0xA900;
    /** Error: cannot understand (malformed data set, invalid UIDs). */
    public static final int CANNOT_UNDERSTAND = 0xC000;

    public static final int WARNING_COERCION = 0xB000;
    public static final int WARNING_ELEMENTS_DISCARDED = 0xB006;
    public static final int WARNING_DATA_SET_DOES_NOT_MATCH = 0xB007;

    private DicomStatus() {}

    /** Success and the storage warnings all mean the peer kept the instance. */
    public static boolean isStored(int status) {
        return status == SUCCESS
                || status == WARNING_COERCION
                || status == WARNING_ELEMENTS_DISCARDED
                || status == WARNING_DATA_SET_DOES_NOT_MATCH;
    }

    public static String hex(int status) {
        return String.format("0x%04X", status);
    }
}
