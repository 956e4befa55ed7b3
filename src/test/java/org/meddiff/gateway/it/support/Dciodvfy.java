package org.meddiff.gateway.it.support;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** dicom3tools' dciodvfy: checks a DICOM file against its IOD. */
public final class Dciodvfy {
    private Dciodvfy() {}

    /** The whole dciodvfy output (stdout + stderr). */
    public static Processes.Result run(Path file) {
        return Processes.run(List.of("dciodvfy", file.toString()), null, null, Duration.ofSeconds(60));
    }

    /** Lines containing "Error" (an empty list means the object is valid for its IOD). */
    public static List<String> errors(Path file) {
        return run(file).linesContaining("Error");
    }

    /** Lines containing "Warning". */
    public static List<String> warnings(Path file) {
        return run(file).linesContaining("Warning");
    }
}
