package org.meddiff.gateway.dicom;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

/** Runs dicom3tools' dciodvfy on files; tests are skipped (with a message) where it is not installed. */
public final class Dciodvfy {

    private Dciodvfy() {}

    public static boolean installed() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "dciodvfy"))) {
                return true;
            }
        }
        return false;
    }

    public static void assumeInstalled() {
        Assumptions.assumeTrue(installed(), "dciodvfy (dicom3tools) is not installed: skipping IOD validation");
    }

    /** dciodvfy's output (stdout and stderr) for one file. */
    public static List<String> run(Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("dciodvfy", file.toString())
                .redirectErrorStream(true)
                .start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "dciodvfy did not finish");
        List<String> lines = new ArrayList<>();
        for (String line : new String(out, StandardCharsets.UTF_8).split("\\R")) {
            if (!line.isBlank()) {
                lines.add(line.trim());
            }
        }
        return lines;
    }

    /**
     * Asserts dciodvfy reports no error for any of the files; returns the distinct warnings (file names
     * stripped) so a test can print or check them.
     */
    public static Collection<String> assertNoErrors(Collection<Path> files) throws IOException, InterruptedException {
        assumeInstalled();
        TreeSet<String> warnings = new TreeSet<>();
        for (Path file : files) {
            List<String> lines = run(file);
            List<String> errors = lines.stream()
                    .filter(l -> l.startsWith("Error") || l.contains(" Error "))
                    .toList();
            assertTrue(errors.isEmpty(), "dciodvfy errors for " + file + ":\n" + String.join("\n", lines));
            lines.stream().filter(l -> l.startsWith("Warning")).forEach(warnings::add);
        }
        return warnings;
    }
}
