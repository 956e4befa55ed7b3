package org.meddiff.gateway;

import java.io.UncheckedIOException;

/** Failures in words, for log lines, DICOM error comments and events: never empty, never "null". */
public final class Failures {
    private Failures() {}

    /** The exception's message, or its class name when it has none; an UncheckedIOException speaks for its cause. */
    public static String reason(Throwable e) {
        Throwable t = e instanceof UncheckedIOException && e.getCause() != null ? e.getCause() : e;
        String message = t.getMessage();
        return message == null || message.isBlank() ? t.getClass().getSimpleName() : message;
    }
}
