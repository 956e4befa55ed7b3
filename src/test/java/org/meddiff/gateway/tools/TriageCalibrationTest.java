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
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.dicom.pixelmed.PixelMedDatasets;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.model.OnnxModel;
import org.meddiff.gateway.infer.model.TinyModels;
import org.meddiff.gateway.infer.pipeline.DiffusionPipeline;
import org.meddiff.gateway.infer.pipeline.Region;
import org.meddiff.gateway.volume.Volume;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;

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
        Matcher u = Pattern.compile("gateway\\.diffusion\\.anomaly\\.urgent-score=([0-9.]+)").matcher(out);
        Matcher s = Pattern.compile("gateway\\.diffusion\\.anomaly\\.stat-score=([0-9.]+)").matcher(out);
        assertTrue(u.find() && s.find(), out);
        double urgent = Double.parseDouble(u.group(1));
        double stat = Double.parseDouble(s.group(1));
        // false-positive rate 0: as the gateway compares (score >= threshold), no lesion-free series reaches URGENT (the
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
        Matcher m = Pattern.compile("\\| .+?/a \\| lesion-free \\| abdomen \\| 6 \\| ([0-9.]+) \\|").matcher(out);
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
            double direct = new DiffusionPipeline(reg, 4, 0, 0).anomaly(v, Region.ABDOMEN, null, shipped.anomaly().t(),
                    shipped.anomaly().smoothingSigmaMm(), shipped.anomaly().draws(), TriageCalibration.seed(a, dicom.readHeader(files.get(0)))).score();
            assertEquals(direct, Double.parseDouble(m.group(1)), 1e-6);
        }
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
        // the rate is checked before any series is scored
        IllegalArgumentException e4 = assertThrows(IllegalArgumentException.class, () -> run("--models", models.toString(),
                "--lesion-free", series("r", 4).toString(), "--false-positive-rate", "10"));
        assertTrue(e4.getMessage().contains("false-positive rate"), e4.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> run("--threads", "2.5")).getMessage().contains("whole number"));
    }
}
