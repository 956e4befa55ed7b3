package org.meddiff.gateway.tools;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.DoubleFunction;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.meddiff.gateway.infer.baseline.CubicSliceInterpolator;
import org.meddiff.gateway.infer.diffusion.FloatVolume;
import org.meddiff.gateway.infer.diffusion.SamplerProgress;
import org.meddiff.gateway.infer.diffusion.SeededGaussianNoise;
import org.meddiff.gateway.infer.model.ExecutionProvider;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.model.OnnxModel;
import org.meddiff.gateway.infer.pipeline.ClassicalThinSlices;
import org.meddiff.gateway.infer.pipeline.CtPreprocessing;
import org.meddiff.gateway.infer.pipeline.DiffusionPipeline;
import org.meddiff.gateway.infer.pipeline.Region;
import org.meddiff.gateway.volume.Volume;
import org.meddiff.gateway.volume.VolumeGeometry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Evaluation of the PRODUCT's Java samplers ({@link DiffusionPipeline} on ONNX Runtime Java) on volumes the model
 * never saw, written by {@code onnx-export/meddiff/export_eval_volumes.py} into {@code data/eval} (raw float32 +
 * index.json). Prints Markdown:
 * <ul>
 * <li>denoising (simulated quarter dose): PSNR / SSIM in the [-160, 240] HU window for the low-dose input, a 3-D
 * Gaussian filter, 3-D non-local means and the DiffPIR sampler. The baselines' parameters (Gaussian sigma,
 * NLM h) are chosen ONCE by PSNR on the training block (tseg_B, same simulation) and then fixed;</li>
 * <li>super-resolution 5 mm to 1 mm: cubic (the product's {@link CubicSliceInterpolator}), linear and the
 * ControlNet sampler;</li>
 * <li>anomaly maps with inserted lesions ({@link AnomalyEvaluation}): settings chosen on the training case, then pixel
 * AUROC inside the ROI and series AUROC on the held-out volumes, and real tumours.</li>
 * </ul>
 * Metrics ({@link ImageMetrics}): both images are clipped to the window and scaled to [0, 1] (data range = window
 * width 400 HU). PSNR over the whole block. SSIM = 2-D per axial slice, averaged over slices, with the
 * defaults of skimage.metrics.structural_similarity used by meddiff.evaluate (7x7 uniform window, sample
 * covariance, K1 0.01, K2 0.03, mean over the interior where the window fits), so the figures compare with
 * the Python evaluation.
 *
 * <pre>bin/evaluate --help</pre>
 */
@Command(
        name = "evaluate",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description =
                "Scores the product's samplers on the evaluation set (volumes the model never saw); Markdown on stdout.")
public final class Evaluation implements Callable<Integer> {
    /** The parts of the evaluation, as --only names them. */
    static final Set<String> TASKS = Set.of("denoise", "ldct", "superres", "anomaly", "lesions");

    @Option(names = "--data", defaultValue = "data/eval", description = "evaluation set (index.json + raw volumes)")
    Path data;

    @Option(names = "--models", defaultValue = "models", description = "ONNX models and their cards")
    Path models;

    @Option(names = "--provider", defaultValue = "cpu", description = "cpu, cuda or cuda:<device>")
    String provider;

    @Option(names = "--threads", defaultValue = "2", description = "ONNX Runtime intra-op threads")
    int threads;

    @Option(names = "--batch", defaultValue = "4", description = "patches per network call")
    int batch;

    @Option(names = "--steps", description = "sampler steps instead of the shipped ones")
    Integer stepsOverride;

    @Option(
            names = "--only",
            description = "comma-separated parts: denoise, ldct, superres, anomaly, lesions (default: all)")
    String only;

    @Option(names = "--json", description = "also write the figures to this file (the model cards' gateway_evaluation)")
    Path json;

    /** Sampler settings: the gateway's shipped defaults (gateway.diffusion.*, chosen on a training volume). */
    private final ShippedSettings shipped = ShippedSettings.load();

    /** Machine-readable figures of this run (--json). */
    private final ObjectNode results = new ObjectMapper().createObjectNode();

    public static void main(String[] args) {
        ToolMain.run(new Evaluation(), args);
    }

    /** --only's comma-separated list; an unknown name is an error (a typo would otherwise evaluate nothing). */
    static Set<String> tasks(String list) {
        Set<String> out = Set.of(list.split(","));
        for (String t : out) {
            if (!TASKS.contains(t)) {
                throw new IllegalArgumentException(
                        "--only: unknown part '" + t + "' (denoise, ldct, superres, anomaly, lesions)");
            }
        }
        return out;
    }

    @Override
    public Integer call() throws IOException {
        Set<String> parts = only == null ? TASKS : tasks(only);
        JsonNode index = new ObjectMapper().readTree(data.resolve("index.json").toFile());
        System.out.printf(
                Locale.ROOT,
                "Evaluation set: %s (created %s); validation case %s (never trained on), baselines tuned on %s.%n",
                data,
                index.path("created_utc").asText(),
                index.path("validation_case").asText(),
                index.path("training_case").asText());
        System.out.println("Low dose: " + index.path("low_dose").asText() + ".");
        System.out.println("Blocks are cropped small for 2 CPU cores (shapes z x y x x below, 1 mm voxels).");
        System.out.println(
                "Metrics: clip to [-160, 240] HU, scale to [0, 1] (data range 400 HU); PSNR over the block; "
                        + "SSIM 2-D per axial slice averaged (skimage defaults: 7x7 uniform window, K1 0.01, K2 0.03), as meddiff.evaluate.");
        try (ModelRegistry registry =
                new ModelRegistry(models, new OnnxModel.Settings(ExecutionProvider.parse(provider), threads))) {
            DiffusionPipeline pipeline = new DiffusionPipeline(registry, batch, 0, 0);
            System.out.printf(
                    Locale.ROOT,
                    "Models: %s, %s on %s, %d intra-op threads, batch %d.%n",
                    registry.model(ModelRegistry.BASE).card().name(),
                    registry.model(ModelRegistry.SR_CONTROLNET).card().name(),
                    registry.model(ModelRegistry.BASE).executionProvider(),
                    threads,
                    batch);
            if (parts.contains("denoise")) {
                denoising(
                        index,
                        pipeline,
                        stepsOverride != null
                                ? stepsOverride
                                : shipped.denoise().steps());
            }
            if (parts.contains("ldct")) {
                if (index.path("ldct_real_pairs").path("evaluate").size() > 0) {
                    realLowDose(
                            index,
                            pipeline,
                            stepsOverride != null
                                    ? stepsOverride
                                    : shipped.denoise().steps());
                } else {
                    System.out.println(
                            "\nNo real low-dose pairs in the evaluation set (the shared LDCT data is absent): skipped.");
                }
            }
            if (parts.contains("superres")) {
                superResolution(
                        index,
                        pipeline,
                        stepsOverride != null
                                ? stepsOverride
                                : shipped.superres().steps());
            }
            AnomalyEvaluation anomaly = new AnomalyEvaluation(
                    pipeline, registry.model(ModelRegistry.BASE).card(), results);
            if (parts.contains("anomaly")) {
                anomaly.run(data, index, shipped);
            } else if (parts.contains("lesions")) {
                // the anomaly part scores the real lesions too; alone, only them (minutes instead of the whole tuning)
                anomaly.realLesionsOnly(data, index, shipped);
            }
        }
        if (json != null) {
            results.put("evaluation_set_created_utc", index.path("created_utc").asText());
            results.put("validation_case", index.path("validation_case").asText());
            results.put("provider", provider);
            results.put("threads", threads);
            results.put("steps", stepsOverride != null ? stepsOverride.toString() : "shipped defaults");
            results.put("sampler_settings", shipped.toString());
            new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(json.toFile(), results);
            System.out.println("\nFigures written to " + json);
        }
        return 0;
    }

    private ObjectNode figures(String section) {
        return results.has(section) ? (ObjectNode) results.get(section) : results.putObject(section);
    }

    private void record(String section, String name, FloatVolume a, FloatVolume ref) {
        ObjectNode o = figures(section).putObject(name);
        o.put("psnr_db", Math.round(ImageMetrics.psnr(a, ref) * 100) / 100.0);
        o.put("ssim", Math.round(ImageMetrics.ssim2d(a, ref) * 10000) / 10000.0);
    }

    // ------------------------------------------------------------------ tasks

    private void denoising(JsonNode index, DiffusionPipeline pipeline, int steps) throws IOException {
        FloatVolume trFd = read(data, index, "train/full_dose");
        FloatVolume trLd = read(data, index, "train/low_dose");
        System.out.printf(
                Locale.ROOT,
                "%n### Baseline tuning on the training block (%s, %s), PSNR dB%n%n",
                index.path("training_case").asText(),
                trFd.shapeString());
        ClassicalBaselines baselines = ClassicalBaselines.tune(trLd, trFd);
        FloatVolume fd = read(data, index, "denoise/full_dose");
        FloatVolume ld = read(data, index, "denoise/low_dose");
        long t0 = System.nanoTime();
        DiffusionPipeline.DenoiseResult r = pipeline.denoise(
                volume(ld, 0, 1),
                Region.ABDOMEN,
                shipped.denoise().settings().withSteps(steps),
                new SeededGaussianNoise(1),
                SamplerProgress.NONE);
        double sec = (System.nanoTime() - t0) / 1e9;
        FloatVolume dn = CtPreprocessing.asFloatVolume(r.output());
        FloatVolume dnRaw = CtPreprocessing.asFloatVolume(r.unsmoothed());
        FloatVolume dnSmoothed = CtPreprocessing.asFloatVolume(r.unblended());
        FloatVolume g = baselines.gaussian(ld);
        FloatVolume nlm = baselines.nlm(ld);
        FloatVolume classicalMix = baselines.mix(g, nlm);
        System.out.printf(
                Locale.ROOT,
                "%n### Denoising, simulated quarter dose: %s block %s at %s (never trained on)%n%n",
                index.path("validation_case").asText(),
                fd.shapeString(),
                index.path("volumes").path("denoise/full_dose").path("block_zyx"));
        System.out.println("| method | PSNR dB | SSIM |");
        System.out.println("| --- | --- | --- |");
        row("low-dose input", ld, fd);
        row(
                String.format(
                        Locale.ROOT, "Gaussian 3-D, sigma %.2f voxel (tuned on training block)", baselines.sigma()),
                g,
                fd);
        row(
                String.format(Locale.ROOT, "non-local means 3-D, h %.0f HU (tuned on training block)", baselines.h()),
                nlm,
                fd);
        row(
                String.format(
                        Locale.ROOT, "Gaussian / NLM mix, %.1f NLM (tuned on training block)", baselines.nlmShare()),
                classicalMix,
                fd);
        record("denoise", "low_dose", ld, fd);
        record("denoise", String.format(Locale.ROOT, "gaussian_sigma_%.2f", baselines.sigma()), g, fd);
        record("denoise", String.format(Locale.ROOT, "nlm_h_%.0f", baselines.h()), nlm, fd);
        record("denoise", String.format(Locale.ROOT, "gaussian_nlm_mix_%.1f", baselines.nlmShare()), classicalMix, fd);
        record("denoise", "diffpir_without_output_smoothing", dnRaw, fd);
        record("denoise", "diffpir_without_classical_blend", dnSmoothed, fd);
        record("denoise", "diffpir", dn, fd);
        String settings = String.format(
                Locale.ROOT,
                "%d steps, sigma_n %.4f (%s), lambda %.3g, zeta %.2g",
                steps,
                r.sigmaNUsed(),
                r.sigmaNSource(),
                shipped.denoise().lambda(),
                shipped.denoise().zeta());
        String smoothing = String.format(
                Locale.ROOT,
                "%.2g mm in-plane output smoothing",
                shipped.denoise().outputSmoothingMm());
        String blend = String.format(
                Locale.ROOT,
                "classical blend %.2g (Gaussian %.2g mm)",
                shipped.denoise().classicalBlend(),
                shipped.denoise().classicalBlendSigmaMm());
        figures("denoise").put("diffpir_settings", settings + ", " + smoothing + ", " + blend);
        row("DiffPIR (Java, ONNX Runtime), " + settings + ", diffusion estimate alone", dnRaw, fd);
        row("DiffPIR, the same + " + smoothing, dnSmoothed, fd);
        row("DiffPIR, shipped: the same + " + smoothing + " + " + blend, dn, fd);
        System.out.printf(
                Locale.ROOT,
                "%nSampler: %.1f s, %d patches, %.1f s in ONNX Runtime.%n",
                sec,
                r.sampler().patches(),
                r.sampler().networkSeconds());
    }

    /**
     * Real quarter dose (Mayo 2016, patient L506, 3 mm slices; never trained on): the baselines are tuned on the
     * pair the index names for tuning, every other pair is scored. Each slice goes through the pipeline as the
     * one-slice series a PACS would send (native pixel size, 3 mm thickness): the model sees a 2-D input
     * repeated along z, not the 3-D context it was trained with, which this part measures as it is.
     */
    private void realLowDose(JsonNode index, DiffusionPipeline pipeline, int steps) throws IOException {
        JsonNode pairs = index.path("ldct_real_pairs");
        String tune = pairs.path("tune").asText();
        double pixel = pairs.path("pixel_mm").asDouble();
        double thickness = pairs.path("slice_mm").asDouble();
        FloatVolume tuneFull = read(data, index, "ldct/" + tune + "_full");
        System.out.printf(
                Locale.ROOT,
                "%n### Baseline tuning on the real pair %s (quarter / full dose, %s), PSNR dB%n%n",
                tune,
                tuneFull.shapeString());
        ClassicalBaselines baselines =
                ClassicalBaselines.tune(read(data, index, "ldct/" + tune + "_quarter"), tuneFull);
        String[] methods = {
            "low-dose input (real quarter dose)",
            String.format(Locale.ROOT, "Gaussian, sigma %.2f pixel (tuned on %s)", baselines.sigma(), tune),
            String.format(Locale.ROOT, "non-local means, h %.0f HU (tuned on %s)", baselines.h(), tune),
            String.format(Locale.ROOT, "Gaussian / NLM mix, %.1f NLM (tuned on %s)", baselines.nlmShare(), tune),
            "DiffPIR (Java), shipped settings, the diffusion estimate alone",
            "DiffPIR, shipped: + output smoothing + classical blend"
        };
        String[] keys = {
            "low_dose", "gaussian", "nlm", "gaussian_nlm_mix", "diffpir_without_output_smoothing", "diffpir"
        };
        int n = pairs.path("evaluate").size();
        double[][] psnr = new double[methods.length][n];
        double[][] ssim = new double[methods.length][n];
        String[] names = new String[n];
        String shape = null;
        double seconds = 0;
        for (int k = 0; k < n; k++) {
            names[k] = pairs.path("evaluate").get(k).asText();
            FloatVolume qd = read(data, index, "ldct/" + names[k] + "_quarter");
            FloatVolume fd = read(data, index, "ldct/" + names[k] + "_full");
            shape = fd.shapeString();
            long t0 = System.nanoTime();
            DiffusionPipeline.DenoiseResult r = pipeline.denoise(
                    volume(qd, 0, thickness, pixel),
                    Region.ABDOMEN,
                    shipped.denoise().settings().withSteps(steps),
                    new SeededGaussianNoise(10 + k),
                    SamplerProgress.NONE);
            seconds += (System.nanoTime() - t0) / 1e9;
            FloatVolume g = baselines.gaussian(qd);
            FloatVolume nlm = baselines.nlm(qd);
            FloatVolume[] outputs = {
                qd,
                g,
                nlm,
                baselines.mix(g, nlm),
                CtPreprocessing.asFloatVolume(r.unsmoothed()),
                CtPreprocessing.asFloatVolume(r.output())
            };
            for (int m = 0; m < methods.length; m++) {
                psnr[m][k] = ImageMetrics.psnr(outputs[m], fd);
                ssim[m][k] = ImageMetrics.ssim2d(outputs[m], fd);
            }
            System.out.printf(
                    Locale.ROOT,
                    "%s: sigma_n %.4f (%s), %.0f s%n",
                    names[k],
                    r.sigmaNUsed(),
                    r.sigmaNSource(),
                    (System.nanoTime() - t0) / 1e9);
        }
        System.out.printf(
                Locale.ROOT,
                "%n### Denoising, REAL quarter dose: Mayo 2016 patient L506, %d slices of 3 mm, central %s "
                        + "(never trained on; pixel %.2f mm assumed)%n%n",
                n,
                shape,
                pixel);
        StringBuilder head = new StringBuilder("| method | mean PSNR dB | mean SSIM |");
        StringBuilder rule = new StringBuilder("| --- | --- | --- |");
        for (String name : names) {
            head.append(' ').append(name).append(" PSNR / SSIM |");
            rule.append(" --- |");
        }
        System.out.println(head);
        System.out.println(rule);
        ObjectNode out = figures("denoise_real_ldct");
        for (int m = 0; m < methods.length; m++) {
            double mp = Arrays.stream(psnr[m]).average().orElse(Double.NaN);
            double ms = Arrays.stream(ssim[m]).average().orElse(Double.NaN);
            StringBuilder row =
                    new StringBuilder(String.format(Locale.ROOT, "| %s | %.2f | %.4f |", methods[m], mp, ms));
            for (int k = 0; k < n; k++) {
                row.append(String.format(Locale.ROOT, " %.2f / %.4f |", psnr[m][k], ssim[m][k]));
            }
            System.out.println(row);
            ObjectNode o = out.putObject(keys[m]);
            o.put("mean_psnr_db", Math.round(mp * 100) / 100.0);
            o.put("mean_ssim", Math.round(ms * 10000) / 10000.0);
        }
        out.put("slices", String.join(",", names));
        out.put("baselines_tuned_on", tune);
        System.out.printf(Locale.ROOT, "%nSampler: %.1f s for %d slices.%n", seconds, n);
    }

    /**
     * The classical denoising baselines, each parameter chosen ONCE by PSNR on a training pair (tables printed),
     * then fixed: a 3-D Gaussian (sigma in voxels), 3-D non-local means (h in HU, patch 3^3, search 5x7x7) and
     * their mix (share of NLM), an extra classical row because the shipped output mixes its estimate with a Gaussian.
     */
    record ClassicalBaselines(double sigma, double h, double nlmShare) {
        static final double[] SIGMAS = {0.5, 0.75, 1.0, 1.25, 1.5, 2.0};
        static final double[] HS = {10, 15, 20, 25, 30, 40, 50, 60};
        static final double[] SHARES = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};

        FloatVolume gaussian(FloatVolume v) {
            return ClassicalFilters.gaussian3d(v, sigma);
        }

        FloatVolume nlm(FloatVolume v) {
            return ClassicalFilters.nlm3d(v, h, 1, 2, 3);
        }

        FloatVolume mix(FloatVolume gaussian, FloatVolume nlm) {
            return ClassicalFilters.mix(gaussian, nlm, nlmShare);
        }

        static ClassicalBaselines tune(FloatVolume lowDose, FloatVolume fullDose) {
            Best g = best(
                    "Gaussian sigma (voxels)", "%.2f", SIGMAS, s -> ClassicalFilters.gaussian3d(lowDose, s), fullDose);
            System.out.println();
            Best nlm = best(
                    "NLM h (HU; patch 3x3x3, search 5x7x7)",
                    "%.0f",
                    HS,
                    h -> ClassicalFilters.nlm3d(lowDose, h, 1, 2, 3),
                    fullDose);
            System.out.println();
            Best mix = best(
                    "Gaussian / NLM mix, share of NLM",
                    "%.1f",
                    SHARES,
                    w -> ClassicalFilters.mix(g.output(), nlm.output(), w),
                    fullDose);
            return new ClassicalBaselines(g.parameter(), nlm.parameter(), mix.parameter());
        }

        /** A tuned parameter and the filtered volume it gave. */
        private record Best(double parameter, FloatVolume output) {}

        /** Prints one tuning table (parameter, PSNR) and returns the highest-PSNR entry (the first on a tie). */
        private static Best best(
                String what, String format, double[] grid, DoubleFunction<FloatVolume> filter, FloatVolume reference) {
            System.out.println("| " + what + " | PSNR |");
            System.out.println("| --- | --- |");
            Best best = null;
            double bestPsnr = Double.NEGATIVE_INFINITY;
            for (double x : grid) {
                FloatVolume filtered = filter.apply(x);
                double p = ImageMetrics.psnr(filtered, reference);
                System.out.printf(Locale.ROOT, "| " + format + " | %.2f |%n", x, p);
                if (p > bestPsnr) {
                    bestPsnr = p;
                    best = new Best(x, filtered);
                }
            }
            return best;
        }
    }

    private void superResolution(JsonNode index, DiffusionPipeline pipeline, int steps) throws IOException {
        FloatVolume thin = read(data, index, "sr/thin");
        FloatVolume thick = read(data, index, "sr/thick5mm");
        int sf = 5;
        // slab i covers thin slices 5i..5i+4; its centre (thin coordinate 5i+2) is where the thick slice lives
        Volume thickVolume = volume(thick, (sf - 1) / 2.0, sf);
        long t0 = System.nanoTime();
        DiffusionPipeline.SuperResolutionResult r = pipeline.superResolve(
                thickVolume,
                Region.ABDOMEN,
                shipped.superres().settings(1.0).withSteps(steps),
                new SeededGaussianNoise(3),
                SamplerProgress.NONE);
        double sec = (System.nanoTime() - t0) / 1e9;
        FloatVolume sr = CtPreprocessing.asFloatVolume(r.output());
        if (r.output().geometry().origin()[2] != 0 || sr.depth() != thin.depth()) {
            throw new IllegalStateException(
                    "unexpected thin grid: origin z " + r.output().geometry().origin()[2] + ", " + sr.shapeString());
        }
        Volume cubic = CubicSliceInterpolator.resample(thickVolume, 1.0);
        int c0 = (int) Math.round(cubic.geometry().origin()[2]);
        FloatVolume cub = CtPreprocessing.asFloatVolume(cubic);
        int n = cub.depth();
        FloatVolume lin = VolumeBlocks.linearZ(thick, thin.depth(), sf);
        System.out.printf(
                Locale.ROOT,
                "%n### Super-resolution 5 mm (mean of 5 slices) -> 1 mm: %s block %s%n%n",
                index.path("validation_case").asText(),
                thin.shapeString());
        System.out.printf(
                Locale.ROOT,
                "Scored on thin slices %d..%d (%d slices, between the first and last thick-slice centres, "
                        + "where the cubic baseline is defined); all 40 slices for linear / sampler in brackets.%n%n",
                c0,
                c0 + n - 1,
                n);
        System.out.println("| method | PSNR dB | SSIM |");
        System.out.println("| --- | --- | --- |");
        FloatVolume target = VolumeBlocks.slices(thin, c0, n);
        row("cubic (CubicSliceInterpolator)", cub, target);
        record("superres", "cubic", cub, target);
        record("superres", "diffpir_controlnet", VolumeBlocks.slices(sr, c0, n), target);
        record(
                "superres",
                "cubic_plus_slab_projection",
                VolumeBlocks.slices(ClassicalThinSlices.estimate(thick, thin.depth(), sf), c0, n),
                target);
        figures("superres").put("scored_slices", c0 + ".." + (c0 + n - 1));
        // what the exact slab projection alone adds to the classical estimate (the sampler ends with the same
        // projection)
        FloatVolume consistent = ClassicalThinSlices.estimate(thick, thin.depth(), sf);
        System.out.printf(
                Locale.ROOT,
                "| cubic + slab projection (ClassicalThinSlices) | %.2f (%.2f) | %.4f (%.4f) |%n",
                ImageMetrics.psnr(VolumeBlocks.slices(consistent, c0, n), target),
                ImageMetrics.psnr(consistent, thin),
                ImageMetrics.ssim2d(VolumeBlocks.slices(consistent, c0, n), target),
                ImageMetrics.ssim2d(consistent, thin));
        System.out.printf(
                Locale.ROOT,
                "| linear along z | %.2f (%.2f) | %.4f (%.4f) |%n",
                ImageMetrics.psnr(VolumeBlocks.slices(lin, c0, n), target),
                ImageMetrics.psnr(lin, thin),
                ImageMetrics.ssim2d(VolumeBlocks.slices(lin, c0, n), target),
                ImageMetrics.ssim2d(lin, thin));
        System.out.printf(
                Locale.ROOT,
                "| ControlNet DiffPIR (Java), %d steps, sigma_n %.3g, lambda %.3g, zeta %.2g, final slab projection "
                        + "| %.2f (%.2f) | %.4f (%.4f) |%n",
                steps,
                shipped.superres().sigmaN(),
                shipped.superres().lambda(),
                shipped.superres().zeta(),
                ImageMetrics.psnr(VolumeBlocks.slices(sr, c0, n), target),
                ImageMetrics.psnr(sr, thin),
                ImageMetrics.ssim2d(VolumeBlocks.slices(sr, c0, n), target),
                ImageMetrics.ssim2d(sr, thin));
        System.out.printf(
                Locale.ROOT,
                "%nSampler: %.1f s, %d patches, %.1f s in ONNX Runtime.%n",
                sec,
                r.sampler().patches(),
                r.sampler().networkSeconds());
    }

    // ------------------------------------------------------------------ helpers

    private static void row(String name, FloatVolume a, FloatVolume ref) {
        System.out.printf(
                Locale.ROOT, "| %s | %.2f | %.4f |%n", name, ImageMetrics.psnr(a, ref), ImageMetrics.ssim2d(a, ref));
    }

    /** Axial volume on a 1 mm in-plane grid; z origin and spacing in mm. */
    static Volume volume(FloatVolume v, double originZ, double spacingZ) {
        return volume(v, originZ, spacingZ, 1.0);
    }

    /** The same with an in-plane pixel size in mm. */
    static Volume volume(FloatVolume v, double originZ, double spacingZ, double pixelMm) {
        VolumeGeometry g = new VolumeGeometry(
                v.width(),
                v.height(),
                v.depth(),
                new double[] {0, 0, originZ},
                new double[] {1, 0, 0},
                new double[] {0, 1, 0},
                new double[] {0, 0, 1},
                pixelMm,
                pixelMm,
                spacingZ,
                spacingZ);
        return new Volume(g, v.data().clone());
    }

    static FloatVolume read(Path data, JsonNode index, String name) throws IOException {
        JsonNode e = index.path("volumes").path(name);
        if (e.isMissingNode()) {
            throw new IOException("index.json has no volume " + name);
        }
        int[] shape = new int[3];
        for (int i = 0; i < 3; i++) {
            shape[i] = e.path("shape_zyx").get(i).asInt();
        }
        byte[] bytes = Files.readAllBytes(data.resolve(e.path("file").asText()));
        float[] f = new float[bytes.length / 4];
        if (f.length != shape[0] * shape[1] * shape[2]) {
            throw new IOException(name + ": " + f.length + " floats for shape " + Arrays.toString(shape));
        }
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return new FloatVolume(shape[0], shape[1], shape[2], f);
    }
}
