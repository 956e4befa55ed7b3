package org.meddiff.gateway.dicom.net;

import java.io.IOException;

/** The peer broke the DICOM upper-layer protocol (or closed the connection mid-message). */
public class DicomProtocolException extends IOException {
    public DicomProtocolException(String message) {
        super(message);
    }
}
