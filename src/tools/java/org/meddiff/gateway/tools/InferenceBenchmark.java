package org.meddiff.gateway.tools;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;

import org.meddiff.gateway.dicom.pixelmed.PixelMedDatasets;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.infer.diffusion.EpsilonModel;
import org.meddiff.gateway.infer.diffusion.FloatVolume;
import org.meddiff.gateway.infer.diffusion.SamplerProgress;
import org.meddiff.gateway.infer.diffusion.SeededGaussianNoise;
import org.meddiff.gateway.infer.model.ExecutionProvider;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.model.OnnxModel;
import org.meddiff.gateway.infer.pipeline.DiffusionPipeline;
import org.meddiff.gateway.infer.pipeline.Region;
import org.meddiff.gateway.infer.pipeline.Resampling;
import org.meddiff.gateway.volume.Volume;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The diffusion workers' cost on this machine, printed as Markdown for docs/BENCHMARKS.md:
 * milliseconds per network evaluation by patch size and batch, and a whole denoising job with the shipped settings
 * ({@code application.properties}) on a reference volume with the share of its time spent outside ONNX Runtime
 * (pre/post-processing, patch assembly, averaging, the DiffPIR updates), and the cost of resampling a clinical
 * grid to the 1 mm working grid and back with both kernels.
 *
 * <pre>bin/benchmark-inference --help</pre>
 */
@Command(
        name = "benchmark-inference",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = "Diffusion worker cost on this machine (network evaluations, a whole denoising job, resampling).")
public final class InferenceBenchmark implements Callable<Integer> {

    @Option(names = "--provider", defaultValue = "cpu", description = "cpu, cuda or cuda:<device>")
    String provider;

    @Option(names = "--threads", defaultValue = "2", description = "ONNX Runtime intra-op threads")
    int threads;

    @Option(names = "--repeats", defaultValue = "5", description = "timed calls per patch size and batch (median)")
    int repeats;

    @Option(names = "--models", defaultValue = "models", description = "ONNX models and their cards")
    Path models;

    public static void main(String[] args) {
        ToolMain.run(new InferenceBenchmark(), args);
    }

    @Override
    public Integer call() throws Exception {
        try (ModelRegistry registry =
                new ModelRegistry(models, new OnnxModel.Settings(ExecutionProvider.parse(provider), threads))) {
            OnnxModel base = registry.model(ModelRegistry.BASE);
            System.out.printf(
                    Locale.ROOT,
                    "### Network evaluations (%s, %d intra-op threads, %s)%n%n",
                    base.executionProvider(),
                    threads,
                    base.card().name());
            System.out.println("| patch | batch | ms per call | ms per patch |");
            System.out.println("| --- | --- | --- | --- |");
            for (int patch : new int[] {16, 24, 32, 48}) {
                for (int batch : new int[] {1, 2, 4}) {
                    double ms = timeCall(base, patch, batch, repeats);
                    System.out.printf(Locale.ROOT, "| %d^3 | %d | %.1f | %.1f |%n", patch, batch, ms, ms / batch);
                }
            }
            Path dir = Files.createTempDirectory("meddiff-bench");
            SyntheticCtSeries.Params params = SyntheticCtSeries.Params.thick(96, 48)
                    .withSeed(7)
                    .withPixelSpacing(1.0)
                    .withThickness(1.0)
                    .withNoise(30)
                    .withDescription("benchmark reference volume");
            List<Path> files = SyntheticCtSeries.write(dir, params);
            Volume volume = new PixelMedDatasets().readVolume(files);
            DiffusionPipeline pipeline = new DiffusionPipeline(registry, 4, 0, 0);
            ShippedSettings shipped = ShippedSettings.load(); // the job a deployment runs, post-processing included
            long start = System.nanoTime();
            DiffusionPipeline.DenoiseResult r = pipeline.denoise(
                    volume,
                    Region.ABDOMEN,
                    shipped.denoise().settings(),
                    new SeededGaussianNoise(1),
                    SamplerProgress.NONE);
            double total = (System.nanoTime() - start) / 1e9;
            double network = r.sampler().networkSeconds();
            System.out.printf(
                    Locale.ROOT,
                    "%n### Whole denoising job: 96x96x48 voxels of 1 mm, the shipped settings (%d steps, "
                            + "output smoothing %.2g mm, classical blend %.2g), batch 4%n%n",
                    shipped.denoise().steps(),
                    shipped.denoise().outputSmoothingMm(),
                    shipped.denoise().classicalBlend());
            System.out.println("| patches | total s | in ONNX Runtime s | outside ONNX Runtime |");
            System.out.println("| --- | --- | --- | --- |");
            System.out.printf(
                    Locale.ROOT,
                    "| %d | %.2f | %.2f | %.1f %% |%n",
                    r.sampler().patches(),
                    total,
                    network,
                    100 * (total - network) / total);
            for (Path f : files) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
            resampling(repeats);
        }
        return 0;
    }

    /**
     * The images of a clinical series go to the 1 mm working grid and back (CtPreprocessing); on the 1 mm reference
     * volume that is the identity, so it is timed here on a typical abdomen grid, both kernels, median of the repeats.
     */
    private static void resampling(int repeats) {
        int slices = 64, side = 512;
        double[] source = {1.0, 0.7, 0.7};
        double[] mm = {1, 1, 1};
        Random random = new Random(5);
        float[] v = new float[slices * side * side];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (40 + 30 * random.nextGaussian());
        }
        FloatVolume series = new FloatVolume(slices, side, side, v);
        System.out.printf(
                Locale.ROOT,
                "%n### Resampling a %dx%dx%d series (%.1f mm pixels, %.0f mm slices) to 1 mm and back%n%n",
                side,
                side,
                slices,
                source[1],
                source[0]);
        System.out.println("| kernel | to 1 mm s | back s |");
        System.out.println("| --- | --- | --- |");
        for (boolean cubic : new boolean[] {false, true}) {
            double[] there = new double[repeats];
            double[] back = new double[repeats];
            for (int k = 0; k < repeats; k++) {
                long t0 = System.nanoTime();
                FloatVolume at1mm =
                        cubic ? Resampling.resampleCubic(series, source, mm) : Resampling.resample(series, source, mm);
                long t1 = System.nanoTime();
                if (cubic) {
                    Resampling.resampleCubic(at1mm, slices, side, side, mm, source);
                } else {
                    Resampling.resample(at1mm, slices, side, side, mm, source);
                }
                long t2 = System.nanoTime();
                there[k] = (t1 - t0) / 1e9;
                back[k] = (t2 - t1) / 1e9;
            }
            Arrays.sort(there);
            Arrays.sort(back);
            System.out.printf(
                    Locale.ROOT,
                    "| %s | %.2f | %.2f |%n",
                    cubic ? "cubic (Keys, images: the shipped path)" : "linear",
                    there[repeats / 2],
                    back[repeats / 2]);
        }
    }

    private static double timeCall(EpsilonModel model, int patch, int batch, int repeats) {
        int voxels = patch * patch * patch;
        Random random = new Random(3);
        float[] x = new float[batch * voxels];
        float[] pos = new float[batch * model.positionChannels() * voxels];
        float[] anatomy = new float[batch * voxels];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
            anatomy[i] = 3;
        }
        EpsilonModel.PatchBatch b = new EpsilonModel.PatchBatch(batch, patch, 500, x, pos, anatomy, 2, null);
        model.predict(b); // warm-up: first call allocates and plans
        long start = System.nanoTime();
        for (int i = 0; i < repeats; i++) {
            model.predict(b);
        }
        return (System.nanoTime() - start) / 1e6 / repeats;
    }
}
