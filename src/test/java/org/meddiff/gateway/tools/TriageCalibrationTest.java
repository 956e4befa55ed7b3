package org.meddiff.gateway.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.model.TinyModels;

/** The calibration command on DICOM folders the test writes, with the tiny analytic networks as models. */
class TriageCalibrationTest {

    @TempDir
    Path dir;

    private Path series(String name, long seed) throws IOException {
        Path d = dir.resolve(name);
        SyntheticCtSeries.write(d, SyntheticCtSeries.Params.thick(32, 6).withSeed(seed).withPixelSpacing(1.0).withThickness(1.0)
                .withNoise(20).withBodyPart("ABDOMEN").withDescription(name));
        return d;
    }

    private static String run(String... args) throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            TriageCalibration.run(args);
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void printsEverySeriesScoreAndThresholdLinesThatHoldForTheLesionFreeSeries() throws Exception {
        Path models = TinyModels.install(dir.resolve("models"), ModelRegistry.BASE, ModelRegistry.SR_CONTROLNET);
        String out = run("--models", models.toString(), "--threads", "1", "--false-positive-rate", "0",
                "--lesion-free", series("a", 1).toString(), "--lesion-free", series("b", 2).toString(), "--finding", series("c", 3).toString());
        Pattern row = Pattern.compile("\\| \\S+/(a|b|c) \\| (lesion-free|finding) \\| abdomen \\| 6 \\| ([0-9.]+) \\|");
        Matcher m = row.matcher(out);
        double maxFree = Double.NEGATIVE_INFINITY;
        int rows = 0;
        while (m.find()) {
            rows++;
            assertEquals(m.group(1).equals("c") ? "finding" : "lesion-free", m.group(2));
            if (!m.group(1).equals("c")) {
                maxFree = Math.max(maxFree, Double.parseDouble(m.group(3)));
            }
        }
        assertEquals(3, rows, out);
        Matcher u = Pattern.compile("gateway\\.diffusion\\.anomaly\\.urgent-score=([0-9.]+)").matcher(out);
        Matcher s = Pattern.compile("gateway\\.diffusion\\.anomaly\\.stat-score=([0-9.]+)").matcher(out);
        assertTrue(u.find() && s.find(), out);
        double urgent = Double.parseDouble(u.group(1));
        // false-positive rate 0: no lesion-free series reaches URGENT (printed to 4 decimals)
        assertTrue(urgent >= maxFree, urgent + " vs " + maxFree);
        assertTrue(Double.parseDouble(s.group(1)) >= urgent);
        assertTrue(out.contains("0 of 2 lesion-free series reach it"), out);
    }

    @Test
    void aFolderThatIsNotASeriesIsNamedInTheError() throws Exception {
        Path models = TinyModels.install(dir.resolve("models"), ModelRegistry.BASE, ModelRegistry.SR_CONTROLNET);
        Path empty = Files.createDirectories(dir.resolve("empty"));
        IOException e = assertThrows(IOException.class, () -> run("--models", models.toString(), "--lesion-free", empty.toString()));
        assertTrue(e.getMessage().contains(empty.toString()) && e.getMessage().contains("no files"), e.getMessage());
        Path notDicom = Files.createDirectories(dir.resolve("text"));
        Files.writeString(notDicom.resolve("readme.txt"), "not DICOM");
        IOException e2 = assertThrows(IOException.class, () -> run("--models", models.toString(), "--lesion-free", notDicom.toString()));
        assertTrue(e2.getMessage().contains(notDicom.toString()), e2.getMessage());
        IllegalArgumentException e3 = assertThrows(IllegalArgumentException.class, () -> run("--models", models.toString()));
        assertTrue(e3.getMessage().contains("--lesion-free"), e3.getMessage());
    }
}
