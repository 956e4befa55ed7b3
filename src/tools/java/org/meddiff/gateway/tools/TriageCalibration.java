package org.meddiff.gateway.tools;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import org.meddiff.gateway.dicom.DicomDataException;
import org.meddiff.gateway.dicom.InstanceHeader;
import org.meddiff.gateway.dicom.pixelmed.PixelMedDatasets;
import org.meddiff.gateway.infer.diffusion.AnomalyMap;
import org.meddiff.gateway.infer.diffusion.SeededGaussianNoise;
import org.meddiff.gateway.infer.model.ExecutionProvider;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.model.OnnxModel;
import org.meddiff.gateway.infer.pipeline.CtPreprocessing;
import org.meddiff.gateway.infer.pipeline.DiffusionPipeline;
import org.meddiff.gateway.infer.pipeline.RegionGuess;
import org.meddiff.gateway.volume.Volume;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Calibrates the triage thresholds on a site's own CT series: runs the anomaly task's map on folders of lesion-free
 * series and, optionally, series with findings, prints each score as it comes, then the
 * {@code gateway.diffusion.anomaly.urgent-score} / {@code .stat-score} lines that {@link TriageThresholds} places.
 * One folder = one CT series (its DICOM files, as the gateway's spool holds them). Markdown on stdout.
 *
 * <pre>bin/calibrate-triage --help</pre>
 *
 * <p>The score is the anomaly task's: {@code DiffusionPipeline.anomaly} with no ROI (the soft-tissue class), the region
 * rule of the task ({@link RegionGuess}: --region, else BodyPartExamined, else the automatic guess), and t, draws and
 * smoothing from {@code application.properties} on the class path unless given here (a gateway whose configuration
 * overrides them must be matched with the options). The noise is seeded from the SeriesInstanceUID (the task seeds
 * from its job id), so a rerun gives the same scores. Every folder is checked (files, DICOM, CT) before the first is
 * scored: each series costs an anomaly job, minutes on a GPU worker and much longer on CPU for full-size series.
 */
@Command(
        name = "calibrate-triage",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = "Triage thresholds for this site from folders of its own CT series (one series per folder).")
public final class TriageCalibration implements Callable<Integer> {
    private static final int FEW_SERIES = 10;

    @Option(
            names = "--lesion-free",
            required = true,
            paramLabel = "DIR",
            description = "a series without findings (repeat)")
    List<Path> lesionFree = new ArrayList<>();

    @Option(names = "--finding", paramLabel = "DIR", description = "a series with a finding (repeat; optional)")
    List<Path> findings = new ArrayList<>();

    @Option(
            names = "--false-positive-rate",
            defaultValue = "0.1",
            description = "share of lesion-free series allowed at URGENT")
    double rate;

    @Option(names = "--region", defaultValue = "auto", description = "auto, abdomen, chest or HaN")
    String region;

    @Option(names = "--t", description = "anomaly timestep (default: the shipped gateway.diffusion.anomaly.t)")
    Integer t;

    @Option(names = "--draws", description = "averaged reconstructions (default: the shipped one)")
    Integer draws;

    @Option(names = "--smoothing-mm", description = "smoothing of the map in mm (default: the shipped one)")
    Double smoothingMm;

    @Option(names = "--patch", defaultValue = "0", description = "sliding-window patch (0 = the model card's)")
    int patch;

    @Option(names = "--stride", defaultValue = "0", description = "sliding-window stride (0 = the model card's)")
    int stride;

    @Option(names = "--provider", defaultValue = "cpu", description = "cpu, cuda or cuda:<device>")
    String provider;

    @Option(names = "--threads", defaultValue = "2", description = "ONNX Runtime intra-op threads")
    int threads;

    @Option(names = "--models", defaultValue = "models", description = "ONNX models and their cards")
    Path models;

    /** One series to score. */
    private record Series(Path folder, boolean finding, List<Path> files, InstanceHeader header) {}

    /** A bad argument ends the command with one line naming it (exit status 2), an unreadable series too (1). */
    public static void main(String[] args) {
        ToolMain.run(new TriageCalibration(), args);
    }

    @Override
    public Integer call() throws IOException {
        ShippedSettings shipped = ShippedSettings.load();
        int steps = t != null ? t : shipped.anomaly().t();
        int drawCount = draws != null ? draws : shipped.anomaly().draws();
        double smoothing = smoothingMm != null ? smoothingMm : shipped.anomaly().smoothingSigmaMm();
        TriageThresholds.checkRate(rate);
        if (steps < 1
                || steps > 999
                || drawCount < 1
                || drawCount > AnomalyMap.MAX_DRAWS
                || !(smoothing >= 0 && smoothing <= 20)
                || patch < 0
                || stride < 0) {
            throw new IllegalArgumentException(
                    "anomaly settings out of range: t " + steps + " (1..999), draws " + drawCount + " (1.."
                            + AnomalyMap.MAX_DRAWS + "), smoothing " + smoothing + " mm (0..20), patch / stride >= 0");
        }
        List<Series> series = new ArrayList<>();
        for (Path f : lesionFree) {
            series.add(check(f, false));
        }
        for (Path f : findings) {
            series.add(check(f, true));
        }
        System.out.printf(
                Locale.ROOT,
                "### Triage calibration: anomaly map at t = %d, %d draw(s), smoothing %.1f mm%n%n",
                steps,
                drawCount,
                smoothing);
        System.out.println("| series folder | kind | region | slices | score (q99 of the map) |");
        System.out.println("| --- | --- | --- | --- | --- |");
        List<Double> free = new ArrayList<>();
        List<Double> withFinding = new ArrayList<>();
        try (ModelRegistry registry =
                new ModelRegistry(models, new OnnxModel.Settings(ExecutionProvider.parse(provider), threads))) {
            DiffusionPipeline pipeline = new DiffusionPipeline(registry, 4, patch, stride);
            for (Series s : series) {
                Volume volume;
                try {
                    volume = new PixelMedDatasets().readVolume(s.files());
                } catch (DicomDataException e) {
                    throw new IOException(s.folder() + ": " + e.getMessage(), e);
                }
                RegionGuess.Decision d = RegionGuess.decide(
                        region, s.header().bodyPartExamined(), CtPreprocessing.asFloatVolume(volume));
                double score = pipeline.anomaly(
                                volume,
                                d.region(),
                                null,
                                new DiffusionPipeline.AnomalySettings(steps, smoothing, drawCount),
                                seed(s))
                        .score();
                (s.finding() ? withFinding : free).add(score);
                System.out.printf(
                        Locale.ROOT,
                        "| %s | %s | %s | %d | %.6f |%n",
                        s.folder(),
                        s.finding() ? "finding" : "lesion-free",
                        d.region().cardName(),
                        volume.geometry().slices(),
                        score);
            }
        }
        TriageThresholds th = TriageThresholds.suggest(
                free.stream().mapToDouble(Double::doubleValue).toArray(),
                withFinding.stream().mapToDouble(Double::doubleValue).toArray(),
                rate);
        System.out.printf(
                Locale.ROOT,
                "%nURGENT at %s: %d of %d lesion-free series reach it (false-positive rate asked: at most %.2f)",
                plain(th.urgent()),
                th.lesionFreeUrgent(),
                th.lesionFree(),
                rate);
        if (th.findings() > 0) {
            System.out.printf(
                    Locale.ROOT,
                    "; %d of %d series with findings reach URGENT, %d STAT; series AUROC %.3f",
                    th.findingsUrgent(),
                    th.findings(),
                    th.findingsStat(),
                    th.seriesAuroc());
        }
        System.out.printf(
                Locale.ROOT,
                ".%nSTAT at %s: above every lesion-free series (one upper spread, highest - median, above the "
                        + "highest; never below URGENT).%n%n",
                plain(th.stat()));
        if (th.lesionFree() < FEW_SERIES) {
            System.out.printf(
                    Locale.ROOT,
                    "Only %d lesion-free series (fewer than %d): the thresholds are rough and STAT comes out close "
                            + "to URGENT.%n%n",
                    th.lesionFree(),
                    FEW_SERIES);
        }
        System.out.println(
                "For application.properties (or the environment) of the gateway that runs this model with these settings:");
        System.out.println("gateway.diffusion.anomaly.urgent-score=" + plain(th.urgent()));
        System.out.println("gateway.diffusion.anomaly.stat-score=" + plain(th.stat()));
        return 0;
    }

    /** Noise seeded from the SeriesInstanceUID (the folder's name where a file lacks it): the same scores on a rerun. */
    static SeededGaussianNoise seed(Path folder, InstanceHeader header) {
        String uid = header.seriesInstanceUid();
        return new SeededGaussianNoise(
                (uid == null || uid.isBlank() ? folder.getFileName().toString() : uid).hashCode());
    }

    private static SeededGaussianNoise seed(Series s) {
        return seed(s.folder(), s.header());
    }

    private static String plain(double v) {
        return String.format(Locale.ROOT, "%." + TriageThresholds.DECIMALS + "f", v);
    }

    /** The folder holds one readable CT series: checked before any series is scored. */
    private static Series check(Path folder, boolean finding) throws IOException {
        if (!Files.isDirectory(folder)) {
            throw new IOException(folder + ": not a folder (one folder per series)");
        }
        List<Path> files;
        try (Stream<Path> list = Files.list(folder)) {
            files = list.filter(Files::isRegularFile).sorted().toList();
        }
        if (files.isEmpty()) {
            throw new IOException(folder + ": no files");
        }
        InstanceHeader h;
        try {
            h = new PixelMedDatasets().readHeader(files.get(0));
        } catch (DicomDataException e) {
            throw new IOException(folder + ": " + e.getMessage(), e);
        }
        if (!"CT".equalsIgnoreCase(h.modality())) {
            throw new IOException(
                    folder + ": modality " + h.modality() + " is not CT (the anomaly task takes CT only)");
        }
        return new Series(folder, finding, files, h);
    }
}
