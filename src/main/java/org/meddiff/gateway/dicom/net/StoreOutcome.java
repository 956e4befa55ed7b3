package org.meddiff.gateway.dicom.net;

/** The status a C-STORE-RSP carries, with an ErrorComment for anything but success. */
public record StoreOutcome(int status, String errorComment) {
    public static StoreOutcome success() {
        return new StoreOutcome(DicomStatus.SUCCESS, null);
    }

    public static StoreOutcome failure(int status, String why) {
        return new StoreOutcome(status, why);
    }
}
