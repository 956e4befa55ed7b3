package org.meddiff.gateway.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.dicom.pixelmed.PixelMedDatasets;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.model.OnnxModel;
import org.meddiff.gateway.infer.model.TinyModels;
import org.meddiff.gateway.infer.pipeline.DiffusionPipeline;
import org.meddiff.gateway.infer.pipeline.Region;
import org.meddiff.gateway.volume.Volume;

/** The calibration command on DICOM folders the test writes, with the tiny analytic networks as models. */
class TriageCalibrationTest {

    @TempDir
    Path dir;

    private Path series(String name, long seed) throws IOException {
        Path d = dir.resolve(name);
        SyntheticCtSeries.write(
                d,
                SyntheticCtSeries.Params.thick(32, 6)
                        .withSeed(seed)
                        .withPixelSpacing(1.0)
                        .withThickness(1.0)
                        .withNoise(20)
                        .withBodyPart("ABDOMEN")
                        .withDescription(name));
        return d;
    }

    /** What bin/calibrate-triage prints and exits with. */
    record Run(int status, String out, String err) {}

    private static Run execute(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = ToolMain.execute(new TriageCalibration(), args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static String run(String... args) {
        Run r = execute(args);
        assertEquals(0, r.status(), r.err());
        return r.out();
    }

    @Test
    void printsEverySeriesScoreAndThresholdLinesThatHoldForTheLesionFreeSeries() throws Exception {
        Path models = TinyModels.install(dir.resolve("models"), ModelRegistry.BASE, ModelRegistry.SR_CONTROLNET);
        String out = run(
                "--models",
                models.toString(),
                "--threads",
                "1",
                "--false-positive-rate",
                "0",
                "--lesion-free",
                series("a", 1).toString(),
                "--lesion-free",
                series("b", 2).toString(),
                "--finding",
                series("c", 3).toString());
        Pattern row = Pattern.compile("\\| .+?/(a|b|c) \\| (lesion-free|finding) \\| abdomen \\| 6 \\| ([0-9.]+) \\|");
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
        Matcher u = Pattern.compile("gateway\\.diffusion\\.anomaly\\.urgent-score=([0-9.]+)")
                .matcher(out);
        Matcher s = Pattern.compile("gateway\\.diffusion\\.anomaly\\.stat-score=([0-9.]+)")
                .matcher(out);
        assertTrue(u.find() && s.find(), out);
        double urgent = Double.parseDouble(u.group(1));
        double stat = Double.parseDouble(s.group(1));
        // false-positive rate 0: as the gateway compares (score >= threshold), no lesion-free series reaches URGENT
        // (the
        // count is made on the exact scores; printed, both have 6 decimals, the threshold rounded up)
        assertTrue(urgent >= maxFree, urgent + " vs " + maxFree);
        assertTrue(stat >= urgent, stat + " vs " + urgent);
        assertTrue(out.contains("0 of 2 lesion-free series reach it"), out);
    }

    @Test
    void theScoreIsTheAnomalyTasksPipelineCallOnTheSeries() throws Exception {
        Path models = TinyModels.install(dir.resolve("models"), ModelRegistry.BASE, ModelRegistry.SR_CONTROLNET);
        Path a = series("a", 1);
        String out = run("--models", models.toString(), "--threads", "1", "--lesion-free", a.toString());
        Matcher m = Pattern.compile("\\| .+?/a \\| lesion-free \\| abdomen \\| 6 \\| ([0-9.]+) \\|")
                .matcher(out);
        assertTrue(m.find(), out);
        List<Path> files;
        try (Stream<Path> l = Files.list(a)) {
            files = l.sorted().toList();
        }
        PixelMedDatasets dicom = new PixelMedDatasets();
        Volume v = dicom.readVolume(files);
        ShippedSettings shipped = ShippedSettings.load();
        try (ModelRegistry reg = new ModelRegistry(models, OnnxModel.Settings.cpu(1))) {
            // what AnomalyTask.sample calls: no ROI (the soft-tissue class), the configured t / smoothing / draws
            double direct = new DiffusionPipeline(reg, 4, 0, 0)
                    .anomaly(
                            v,
                            Region.ABDOMEN,
                            null,
                            shipped.anomaly().settings(),
                            TriageCalibration.seed(a, dicom.readHeader(files.get(0))))
                    .score();
            assertEquals(direct, Double.parseDouble(m.group(1)), 1e-6);
        }
    }

    @Test
    void aFolderThatIsNotASeriesIsNamedInTheError() throws Exception {
        Path models = TinyModels.install(dir.resolve("models"), ModelRegistry.BASE, ModelRegistry.SR_CONTROLNET);
        Path empty = Files.createDirectories(dir.resolve("empty"));
        Run e = execute("--models", models.toString(), "--lesion-free", empty.toString());
        assertEquals(1, e.status());
        assertTrue(e.err().contains(empty.toString()) && e.err().contains("no files"), e.err());
        assertEquals(1, e.err().lines().count(), "one line, no stack trace: " + e.err());
        Path notDicom = Files.createDirectories(dir.resolve("text"));
        Files.writeString(notDicom.resolve("readme.txt"), "not DICOM");
        Run e2 = execute("--models", models.toString(), "--lesion-free", notDicom.toString());
        assertEquals(1, e2.status());
        assertTrue(e2.err().contains(notDicom.toString()), e2.err());
        Run e3 = execute("--models", models.toString());
        assertEquals(2, e3.status(), "a usage error");
        assertTrue(e3.err().contains("--lesion-free"), e3.err());
        // the rate is checked before any series is scored
        Run e4 = execute(
                "--models",
                models.toString(),
                "--lesion-free",
                series("r", 4).toString(),
                "--false-positive-rate",
                "10");
        assertEquals(2, e4.status());
        assertTrue(e4.err().contains("false-positive rate"), e4.err());
        assertTrue(e4.out().isEmpty(), "nothing scored: " + e4.out());
        Run e5 = execute("--lesion-free", "x", "--threads", "2.5");
        assertEquals(2, e5.status());
        assertTrue(e5.err().contains("--threads") && e5.err().contains("2.5"), e5.err());
    }
}
