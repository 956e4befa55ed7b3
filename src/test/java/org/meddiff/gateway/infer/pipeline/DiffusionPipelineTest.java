package org.meddiff.gateway.infer.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.infer.diffusion.FloatVolume;
import org.meddiff.gateway.infer.diffusion.GaussianFilter;
import org.meddiff.gateway.infer.diffusion.SeededGaussianNoise;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.model.OnnxModel;
import org.meddiff.gateway.infer.model.TinyModels;
import org.meddiff.gateway.volume.Volume;
import org.meddiff.gateway.volume.VolumeGeometry;

/** Series volume in, series volume out, on the tiny analytic ONNX networks (shapes, grids, plumbing). */
class DiffusionPipelineTest {

    @TempDir
    Path dir;

    private static Volume noisyBody(int cols, int rows, int slices, double sxy, double sz, long seed) {
        return noisyBody(cols, rows, slices, sxy, sxy, sz, seed);
    }

    private static Volume noisyBody(int cols, int rows, int slices, double sx, double sy, double sz, long seed) {
        VolumeGeometry g = new VolumeGeometry(
                cols,
                rows,
                slices,
                new double[] {0, 0, 0},
                new double[] {1, 0, 0},
                new double[] {0, 1, 0},
                new double[] {0, 0, 1},
                sx,
                sy,
                sz,
                sz);
        float[] n = new SeededGaussianNoise(seed).next(cols * rows * slices);
        float[] v = new float[n.length];
        for (int z = 0; z < slices; z++)
            for (int y = 0; y < rows; y++)
                for (int x = 0; x < cols; x++) {
                    int i = (z * rows + y) * cols + x;
                    double r = Math.hypot((x - cols / 2.0) / (cols * 0.4), (y - rows / 2.0) / (rows * 0.4));
                    v[i] = r <= 1 ? (float) (50 + 15 * n[i]) : -1000f;
                }
        return new Volume(g, v);
    }

    @Test
    void classicalBlendMixesTheSmoothedOutputWithTheFilteredSourceInHu() {
        TinyModels.install(dir, ModelRegistry.BASE, ModelRegistry.SR_CONTROLNET);
        try (ModelRegistry reg = new ModelRegistry(dir, OnnxModel.Settings.cpu(1))) {
            DiffusionPipeline pipe = new DiffusionPipeline(reg, 4, 16, 8);
            // columns 0.8 mm apart, rows 0.6 mm, slices 2 mm: a swapped axis changes the result
            Volume src = noisyBody(28, 24, 10, 0.8, 0.6, 2.0, 1);
            DiffusionPipeline.DenoiseResult smoothed = pipe.denoise(
                    src,
                    Region.ABDOMEN,
                    new DiffusionPipeline.DenoiseSettings(
                            null, 1.5, 10, 0, 1, DiffusionPipeline.DenoisePostProcessing.smoothingOnly(1.0)),
                    new SeededGaussianNoise(2),
                    null);
            DiffusionPipeline.DenoiseResult blended = pipe.denoise(
                    src,
                    Region.ABDOMEN,
                    new DiffusionPipeline.DenoiseSettings(
                            null, 1.5, 10, 0, 1, new DiffusionPipeline.DenoisePostProcessing(1.0, 0.4, 0.75)),
                    new SeededGaussianNoise(2),
                    null);
            float[] own = blended.unblended().voxels();
            assertArrayEquals(
                    smoothed.output().voxels(),
                    own,
                    0f,
                    "same seed, same sampler: the stage before the blend is the smoothed output");
            // 60 % of that with 40 % of the source under a Gaussian of 0.75 mm: 0.75 / 2.0 voxel along z, 0.75 / 0.6
            // along
            // y, 0.75 / 0.8 along x
            float[] g = GaussianFilter.apply(
                            CtPreprocessing.asFloatVolume(src), new double[] {0.75 / 2.0, 0.75 / 0.6, 0.75 / 0.8})
                    .data();
            float[] out = blended.output().voxels();
            for (int i = 0; i < out.length; i++) {
                assertEquals(0.6 * own[i] + 0.4 * g[i], out[i], 1e-3, "voxel " + i);
            }
            assertEquals(src.geometry(), blended.output().geometry());
        }
    }

    @Test
    void postProcessingSettingsOutsideTheirBoundsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new DiffusionPipeline.DenoisePostProcessing(-0.1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new DiffusionPipeline.DenoisePostProcessing(3.5, 0, 0));
        assertThrows(
                IllegalArgumentException.class, () -> new DiffusionPipeline.DenoisePostProcessing(0.5, 0.95, 0.75));
        assertThrows(
                IllegalArgumentException.class,
                () -> new DiffusionPipeline.DenoisePostProcessing(0.5, 0.3, 0),
                "a blend needs its sigma");
        assertThrows(IllegalArgumentException.class, () -> new DiffusionPipeline.DenoisePostProcessing(0.5, 0.3, 12));
        assertEquals(0.3, new DiffusionPipeline.DenoisePostProcessing(0.5, 0.3, 0.75).classicalBlend());
        assertEquals(
                0.5,
                DiffusionPipeline.DenoisePostProcessing.smoothingOnly(0.5).outputSmoothingMm(),
                "no blend: sigma 0 is fine");
    }

    @Test
    void denoiseSuperResolveAnomalyEndToEnd() {
        TinyModels.install(dir, ModelRegistry.BASE, ModelRegistry.SR_CONTROLNET);
        try (ModelRegistry reg = new ModelRegistry(dir, OnnxModel.Settings.cpu(1))) {
            DiffusionPipeline pipe = new DiffusionPipeline(reg, 4, 16, 8);
            Volume src = noisyBody(28, 24, 10, 0.8, 2.0, 1);
            List<Integer> steps = new ArrayList<>();
            DiffusionPipeline.DenoiseResult d = pipe.denoise(
                    src,
                    Region.ABDOMEN,
                    new DiffusionPipeline.DenoiseSettings(
                            null, 1.0, 10, 0.3, 2, DiffusionPipeline.DenoisePostProcessing.NONE),
                    new SeededGaussianNoise(2),
                    (i, n, t, pps) -> steps.add(i));
            assertEquals(src.geometry(), d.output().geometry());
            assertEquals(List.of(1, 2), steps);
            assertEquals("estimated", d.sigmaNSource());
            // 15 HU white noise in a 360 HU window is 15/180 = 0.083 normalized (estimated on the source grid)
            assertEquals(15.0 / 180, d.sigmaNEstimate(), 0.006, "estimate " + d.sigmaNEstimate());
            for (float f : d.output().voxels()) {
                assertTrue(Float.isFinite(f));
            }
            // air outside the body is below the abdomen window: it keeps its HU instead of the window edge (-120)
            assertEquals(-1000f, d.output().at(0, 0, 0), 0f);
            assertSame(d.output(), d.unsmoothed(), "no output smoothing configured");
            assertSame(d.output(), d.unblended(), "no classical blend configured");
            DiffusionPipeline.DenoiseResult fixed = pipe.denoise(
                    src,
                    Region.ABDOMEN,
                    new DiffusionPipeline.DenoiseSettings(
                            0.15, 1.5, 10, 0, 1, DiffusionPipeline.DenoisePostProcessing.NONE),
                    new SeededGaussianNoise(2),
                    null);
            assertEquals(0.15, fixed.sigmaNUsed());
            assertEquals("configured", fixed.sigmaNSource());
            assertEquals(87, fixed.sampler().timesteps()[0]); // the scale applies to estimates only
            DiffusionPipeline.DenoiseResult scaled = pipe.denoise(
                    src,
                    Region.ABDOMEN,
                    new DiffusionPipeline.DenoiseSettings(
                            null, 1.5, 10, 0, 1, DiffusionPipeline.DenoisePostProcessing.smoothingOnly(1.0)),
                    new SeededGaussianNoise(2),
                    null);
            assertEquals(1.5 * scaled.sigmaNEstimate(), scaled.sigmaNUsed(), 1e-12);
            assertTrue(scaled.sigmaNSource().startsWith("estimated"), scaled.sigmaNSource());
            // the in-plane output smoothing lowers the voxel-to-voxel differences along x inside the body and leaves
            // air (outside the window) at its source HU
            assertTrue(
                    roughnessX(scaled.output()) < 0.8 * roughnessX(scaled.unsmoothed()),
                    roughnessX(scaled.output()) + " vs " + roughnessX(scaled.unsmoothed()));
            assertEquals(-1000f, scaled.output().at(0, 0, 0), 0f);
            assertSame(scaled.output(), scaled.unblended());

            Volume thick = noisyBody(20, 20, 6, 1.0, 5.0, 3);
            DiffusionPipeline.SuperResolutionResult s = pipe.superResolve(
                    thick,
                    Region.ABDOMEN,
                    new DiffusionPipeline.SuperResolutionSettings(1.0, 1.0, 1.0, 0.3, 2, true),
                    new SeededGaussianNoise(4),
                    null);
            assertEquals(5, s.sf());
            assertEquals(30, s.output().geometry().slices());
            assertEquals(1.0, s.output().geometry().spacingZ(), 1e-12);
            assertEquals(20, s.output().geometry().columns());
            assertEquals(-2.0, s.output().geometry().origin()[2], 1e-12);
            // final slab projection: every 5 thin slices average to the thick slice they came from
            for (int k = 0; k < 6; k++)
                for (int y = 0; y < 20; y += 3)
                    for (int x = 0; x < 20; x += 3) {
                        double mean = 0;
                        for (int z = 5 * k; z < 5 * k + 5; z++) {
                            mean += s.output().at(x, y, z) / 5.0;
                        }
                        assertEquals(thick.at(x, y, k), mean, 0.05, "slab " + k + " at " + x + "," + y);
                    }

            DiffusionPipeline.AnomalyResult a = pipe.anomaly(
                    src,
                    Region.ABDOMEN,
                    null,
                    new DiffusionPipeline.AnomalySettings(950, 0, 1),
                    new SeededGaussianNoise(5));
            FloatVolume map = a.mapOnSourceGrid();
            assertEquals(src.geometry().slices(), map.depth());
            assertEquals(src.geometry().rows(), map.height());
            assertTrue(a.score() > 0);
            assertEquals(0f, map.get(0, 0, 0), 0f); // outside the body
            // smoothing averages the map: same noise, lower peak score, still zero outside the ROI
            DiffusionPipeline.AnomalyResult smooth = pipe.anomaly(
                    src,
                    Region.ABDOMEN,
                    null,
                    new DiffusionPipeline.AnomalySettings(950, 2.0, 1),
                    new SeededGaussianNoise(5));
            assertTrue(smooth.score() < a.score(), smooth.score() + " vs " + a.score());
            assertEquals(0f, smooth.mapOnSourceGrid().get(0, 0, 0), 0f);
            assertEquals(
                    500,
                    pipe.anomaly(
                                    src,
                                    Region.ABDOMEN,
                                    null,
                                    new DiffusionPipeline.AnomalySettings(500, 0, 1),
                                    new SeededGaussianNoise(5))
                            .onGrid1mm()
                            .t());
        }
    }

    /** Mean |v(x+1) - v(x)| over voxels inside the abdomen window (the body), HU. */
    private static double roughnessX(Volume v) {
        int d = v.geometry().slices(), h = v.geometry().rows(), w = v.geometry().columns();
        double sum = 0;
        int n = 0;
        for (int z = 0; z < d; z++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x + 1 < w; x++) {
                    float a = v.at(x, y, z), b = v.at(x + 1, y, z);
                    if (a > -100 && a < 200 && b > -100 && b < 200) {
                        sum += Math.abs(a - b);
                        n++;
                    }
                }
            }
        }
        return sum / Math.max(1, n);
    }
}
