package org.meddiff.gateway.tools;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import org.meddiff.gateway.dicom.DicomDataException;
import org.meddiff.gateway.dicom.pixelmed.PixelMedDatasets;
import org.meddiff.gateway.infer.diffusion.SeededGaussianNoise;
import org.meddiff.gateway.infer.model.ExecutionProvider;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.model.OnnxModel;
import org.meddiff.gateway.infer.pipeline.CtPreprocessing;
import org.meddiff.gateway.infer.pipeline.DiffusionPipeline;
import org.meddiff.gateway.infer.pipeline.RegionGuess;
import org.meddiff.gateway.volume.Volume;

/**
 * Calibrates the triage thresholds on a site's own CT series: runs the anomaly task's map (the shipped t, smoothing
 * and draws of {@code application.properties}) on folders of lesion-free series and, optionally, series with
 * findings, and prints their scores and the {@code gateway.diffusion.anomaly.urgent-score} / {@code .stat-score}
 * lines that {@link TriageThresholds} places. One folder = one series (its DICOM files, as the gateway's spool holds
 * them). Markdown on stdout.
 *
 * <pre>bin/calibrate-triage --lesion-free DIR [--lesion-free DIR ...] [--finding DIR ...] [--false-positive-rate 0.1]
 *     [--region auto|abdomen|chest|HaN] [--provider cpu|cuda[:id]] [--threads 2] [--models models]</pre>
 *
 * Each series costs what an anomaly job costs (draws x patches network evaluations): minutes on a GPU worker,
 * much longer on CPU for full-size series.
 */
public final class TriageCalibration {
    private TriageCalibration() {
    }

    private static final int FEW_SERIES = 10;

    /** One scored series. */
    record Scored(Path folder, boolean finding, String region, int slices, double score) {
    }

    /**
     * A bad argument, an unreadable series or a model that cannot be loaded (missing, sha256 not the card's) ends the
     * command with one line naming it and exit status 2.
     */
    public static void main(String[] args) {
        try {
            run(args);
        } catch (IOException | IllegalArgumentException | IllegalStateException e) {
            System.err.println("calibrate-triage: " + e.getMessage());
            System.exit(2);
        }
    }

    static void run(String[] args) throws IOException {
        List<Path> lesionFree = new ArrayList<>();
        List<Path> findings = new ArrayList<>();
        double rate = 0.1;
        String region = "auto";
        String provider = "cpu";
        int threads = 2;
        Path models = Path.of("models");
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                throw usage("missing value after " + a);
            }
            switch (a) {
                case "--lesion-free" -> lesionFree.add(Path.of(args[++i]));
                case "--finding" -> findings.add(Path.of(args[++i]));
                case "--false-positive-rate" -> rate = number(a, args[++i]);
                case "--region" -> region = args[++i];
                case "--provider" -> provider = args[++i];
                case "--threads" -> threads = (int) number(a, args[++i]);
                case "--models" -> models = Path.of(args[++i]);
                default -> throw usage("unknown argument " + a);
            }
        }
        if (lesionFree.isEmpty()) {
            throw usage("at least one --lesion-free folder is needed");
        }
        ShippedSettings shipped = ShippedSettings.load();
        List<Scored> scored = new ArrayList<>();
        try (ModelRegistry registry = new ModelRegistry(models, new OnnxModel.Settings(ExecutionProvider.parse(provider), threads))) {
            DiffusionPipeline pipeline = new DiffusionPipeline(registry, 4, 0, 0);
            for (Path f : lesionFree) {
                scored.add(score(pipeline, f, false, region, shipped));
            }
            for (Path f : findings) {
                scored.add(score(pipeline, f, true, region, shipped));
            }
        }
        double[] free = scored.stream().filter(s -> !s.finding()).mapToDouble(Scored::score).toArray();
        double[] withFinding = scored.stream().filter(Scored::finding).mapToDouble(Scored::score).toArray();
        TriageThresholds t = TriageThresholds.suggest(free, withFinding, rate);
        System.out.printf(Locale.ROOT, "### Triage calibration: anomaly map at t = %d, %d draw(s), smoothing %.1f mm (application.properties)%n%n",
                shipped.anomalyT(), shipped.anomalyDraws(), shipped.anomalySmoothingMm());
        System.out.println("| series folder | kind | region | slices | score (q99 of the map) |");
        System.out.println("| --- | --- | --- | --- | --- |");
        for (Scored s : scored) {
            System.out.printf(Locale.ROOT, "| %s | %s | %s | %d | %.5f |%n", s.folder(), s.finding() ? "finding" : "lesion-free", s.region(),
                    s.slices(), s.score());
        }
        System.out.printf(Locale.ROOT, "%nURGENT at %.5f: %d of %d lesion-free series reach it (false-positive rate asked: at most %.2f)",
                t.urgent(), t.lesionFreeUrgent(), t.lesionFree(), rate);
        if (t.findings() > 0) {
            System.out.printf(Locale.ROOT, "; %d of %d series with findings reach URGENT, %d STAT; series AUROC %.3f", t.findingsUrgent(),
                    t.findings(), t.findingsStat(), t.seriesAuroc());
        }
        System.out.printf(Locale.ROOT, ".%nSTAT at %.5f (above every lesion-free series by their upper spread).%n%n", t.stat());
        if (t.lesionFree() < FEW_SERIES) {
            System.out.printf(Locale.ROOT, "Only %d lesion-free series: the thresholds are rough (STAT comes out close to URGENT); %d or "
                    + "more give a usable spread.%n%n", t.lesionFree(), FEW_SERIES * 2);
        }
        System.out.println("For application.properties (or the environment) of the gateway that runs this model:");
        System.out.printf(Locale.ROOT, "gateway.diffusion.anomaly.urgent-score=%.6f%n", t.urgent());
        System.out.printf(Locale.ROOT, "gateway.diffusion.anomaly.stat-score=%.6f%n", t.stat());
    }

    private static Scored score(DiffusionPipeline pipeline, Path folder, boolean finding, String region, ShippedSettings s)
            throws IOException {
        List<Path> files;
        if (!Files.isDirectory(folder)) {
            throw new IOException(folder + ": not a folder (one folder per series)");
        }
        try (Stream<Path> list = Files.list(folder)) {
            files = list.filter(Files::isRegularFile).sorted().toList();
        }
        if (files.isEmpty()) {
            throw new IOException(folder + ": no files");
        }
        PixelMedDatasets dicom = new PixelMedDatasets();
        Volume volume;
        String bodyPart;
        try {
            bodyPart = dicom.readHeader(files.get(0)).bodyPartExamined();
            volume = dicom.readVolume(files);
        } catch (DicomDataException e) {
            throw new IOException(folder + ": " + e.getMessage(), e);
        }
        RegionGuess.Decision d = RegionGuess.decide(region, bodyPart, CtPreprocessing.asFloatVolume(volume));
        double score = pipeline.anomaly(volume, d.region(), null, s.anomalyT(), s.anomalySmoothingMm(), s.anomalyDraws(),
                new SeededGaussianNoise(folder.toString().hashCode())).score();
        return new Scored(folder, finding, d.region().cardName(), volume.geometry().slices(), score);
    }

    private static double number(String option, String value) {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw usage(option + " needs a number, not '" + value + "'");
        }
    }

    private static IllegalArgumentException usage(String why) {
        return new IllegalArgumentException(why + " (--lesion-free DIR ... [--finding DIR ...] [--false-positive-rate 0.1] "
                + "[--region auto|abdomen|chest|HaN] [--provider cpu|cuda[:id]] [--threads N] [--models DIR])");
    }
}
