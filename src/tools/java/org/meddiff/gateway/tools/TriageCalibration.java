package org.meddiff.gateway.tools;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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

/**
 * Calibrates the triage thresholds on a site's own CT series: runs the anomaly task's map on folders of lesion-free
 * series and, optionally, series with findings, prints each score as it comes, then the
 * {@code gateway.diffusion.anomaly.urgent-score} / {@code .stat-score} lines that {@link TriageThresholds} places.
 * One folder = one CT series (its DICOM files, as the gateway's spool holds them). Markdown on stdout.
 *
 * <pre>bin/calibrate-triage --lesion-free DIR [--lesion-free DIR ...] [--finding DIR ...] [--false-positive-rate 0.1]
 *     [--region auto|abdomen|chest|HaN] [--t N] [--draws N] [--smoothing-mm S] [--patch N --stride N]
 *     [--provider cpu|cuda[:id]] [--threads 2] [--models models]</pre>
 *
 * <p>The score is the anomaly task's: {@code DiffusionPipeline.anomaly} with no ROI (the soft-tissue class), the region
 * rule of the task ({@link RegionGuess}: --region, else BodyPartExamined, else the automatic guess), and t, draws and
 * smoothing from {@code application.properties} on the class path unless given here (a gateway whose configuration
 * overrides them must be matched with the options). The noise is seeded from the SeriesInstanceUID (the task seeds
 * from its job id), so a rerun gives the same scores. Every folder is checked (files, DICOM, CT) before the first is
 * scored: each series costs an anomaly job, minutes on a GPU worker and much longer on CPU for full-size series.
 */
public final class TriageCalibration {
    private static final int FEW_SERIES = 10;

    private TriageCalibration() {
    }

    /** One series to score. */
    private record Series(Path folder, boolean finding, List<Path> files, InstanceHeader header) {
    }

    /** Command line, checked before any work. */
    private record Options(List<Path> lesionFree, List<Path> findings, double rate, String region, int t, int draws, double smoothingMm,
                           int patch, int stride, String provider, int threads, Path models) {
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
        Options o = parse(args);
        List<Series> series = new ArrayList<>();
        for (Path f : o.lesionFree()) {
            series.add(check(f, false));
        }
        for (Path f : o.findings()) {
            series.add(check(f, true));
        }
        System.out.printf(Locale.ROOT, "### Triage calibration: anomaly map at t = %d, %d draw(s), smoothing %.1f mm%n%n", o.t(), o.draws(),
                o.smoothingMm());
        System.out.println("| series folder | kind | region | slices | score (q99 of the map) |");
        System.out.println("| --- | --- | --- | --- | --- |");
        List<Double> free = new ArrayList<>();
        List<Double> withFinding = new ArrayList<>();
        try (ModelRegistry registry = new ModelRegistry(o.models(), new OnnxModel.Settings(ExecutionProvider.parse(o.provider()), o.threads()))) {
            DiffusionPipeline pipeline = new DiffusionPipeline(registry, 4, o.patch(), o.stride());
            for (Series s : series) {
                Volume volume;
                try {
                    volume = new PixelMedDatasets().readVolume(s.files());
                } catch (DicomDataException e) {
                    throw new IOException(s.folder() + ": " + e.getMessage(), e);
                }
                RegionGuess.Decision d = RegionGuess.decide(o.region(), s.header().bodyPartExamined(), CtPreprocessing.asFloatVolume(volume));
                double score = pipeline.anomaly(volume, d.region(), null, o.t(), o.smoothingMm(), o.draws(),
                        seed(s)).score();
                (s.finding() ? withFinding : free).add(score);
                System.out.printf(Locale.ROOT, "| %s | %s | %s | %d | %.6f |%n", s.folder(), s.finding() ? "finding" : "lesion-free",
                        d.region().cardName(), volume.geometry().slices(), score);
            }
        }
        TriageThresholds t = TriageThresholds.suggest(free.stream().mapToDouble(Double::doubleValue).toArray(),
                withFinding.stream().mapToDouble(Double::doubleValue).toArray(), o.rate());
        System.out.printf(Locale.ROOT, "%nURGENT at %s: %d of %d lesion-free series reach it (false-positive rate asked: at most %.2f)",
                plain(t.urgent()), t.lesionFreeUrgent(), t.lesionFree(), o.rate());
        if (t.findings() > 0) {
            System.out.printf(Locale.ROOT, "; %d of %d series with findings reach URGENT, %d STAT; series AUROC %.3f", t.findingsUrgent(),
                    t.findings(), t.findingsStat(), t.seriesAuroc());
        }
        System.out.printf(Locale.ROOT, ".%nSTAT at %s: above every lesion-free series (one upper spread, highest - median, above the "
                + "highest; never below URGENT).%n%n", plain(t.stat()));
        if (t.lesionFree() < FEW_SERIES) {
            System.out.printf(Locale.ROOT, "Only %d lesion-free series (fewer than %d): the thresholds are rough and STAT comes out close "
                    + "to URGENT.%n%n", t.lesionFree(), FEW_SERIES);
        }
        System.out.println("For application.properties (or the environment) of the gateway that runs this model with these settings:");
        System.out.println("gateway.diffusion.anomaly.urgent-score=" + plain(t.urgent()));
        System.out.println("gateway.diffusion.anomaly.stat-score=" + plain(t.stat()));
    }

    /** Noise seeded from the SeriesInstanceUID (the folder's name where a file lacks it): the same scores on a rerun. */
    static SeededGaussianNoise seed(Path folder, InstanceHeader header) {
        String uid = header.seriesInstanceUid();
        return new SeededGaussianNoise((uid == null || uid.isBlank() ? folder.getFileName().toString() : uid).hashCode());
    }

    private static SeededGaussianNoise seed(Series s) {
        return seed(s.folder(), s.header());
    }

    private static String plain(double v) {
        return String.format(Locale.ROOT, "%." + TriageThresholds.DECIMALS + "f", v);
    }

    private static Options parse(String[] args) {
        List<Path> lesionFree = new ArrayList<>();
        List<Path> findings = new ArrayList<>();
        ShippedSettings shipped = ShippedSettings.load();
        double rate = 0.1;
        String region = "auto";
        int t = shipped.anomaly().t();
        int draws = shipped.anomaly().draws();
        double smoothing = shipped.anomaly().smoothingSigmaMm();
        int patch = 0;
        int stride = 0;
        String provider = "cpu";
        int threads = 2;
        Path models = Path.of("models");
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                throw usage("usage");
            }
            if (!a.startsWith("--")) {
                throw usage("unexpected argument '" + a + "'");
            }
            if (i + 1 >= args.length) {
                throw usage(a + " needs a value");
            }
            String v = args[++i];
            switch (a) {
                case "--lesion-free" -> lesionFree.add(Path.of(v));
                case "--finding" -> findings.add(Path.of(v));
                case "--false-positive-rate" -> rate = number(a, v);
                case "--region" -> region = v;
                case "--t" -> t = integer(a, v);
                case "--draws" -> draws = integer(a, v);
                case "--smoothing-mm" -> smoothing = number(a, v);
                case "--patch" -> patch = integer(a, v);
                case "--stride" -> stride = integer(a, v);
                case "--provider" -> provider = v;
                case "--threads" -> threads = integer(a, v);
                case "--models" -> models = Path.of(v);
                default -> throw usage("unknown option " + a);
            }
        }
        if (lesionFree.isEmpty()) {
            throw usage("at least one --lesion-free folder is needed");
        }
        TriageThresholds.checkRate(rate);
        if (t < 1 || t > 999 || draws < 1 || draws > AnomalyMap.MAX_DRAWS || !(smoothing >= 0 && smoothing <= 20) || patch < 0 || stride < 0) {
            throw usage("anomaly settings out of range: t " + t + " (1..999), draws " + draws + " (1.." + AnomalyMap.MAX_DRAWS
                    + "), smoothing " + smoothing + " mm (0..20), patch / stride >= 0");
        }
        return new Options(lesionFree, findings, rate, region, t, draws, smoothing, patch, stride, provider, threads, models);
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
            throw new IOException(folder + ": modality " + h.modality() + " is not CT (the anomaly task takes CT only)");
        }
        return new Series(folder, finding, files, h);
    }

    private static double number(String option, String value) {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw usage(option + " needs a number, not '" + value + "'");
        }
    }

    private static int integer(String option, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw usage(option + " needs a whole number, not '" + value + "'");
        }
    }

    private static IllegalArgumentException usage(String why) {
        return new IllegalArgumentException(why + " (--lesion-free DIR ... [--finding DIR ...] [--false-positive-rate 0.1] "
                + "[--region auto|abdomen|chest|HaN] [--t N] [--draws N] [--smoothing-mm S] [--patch N --stride N] "
                + "[--provider cpu|cuda[:id]] [--threads N] [--models DIR])");
    }
}
