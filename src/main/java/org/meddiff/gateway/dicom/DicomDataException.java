package org.meddiff.gateway.dicom;

/** A dataset or series the gateway cannot use; the message says which file and why. */
public class DicomDataException extends Exception {
    public DicomDataException(String message) {
        super(message);
    }

    public DicomDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
