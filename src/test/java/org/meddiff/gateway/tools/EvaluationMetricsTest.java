package org.meddiff.gateway.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.meddiff.gateway.infer.diffusion.FloatVolume;

class EvaluationMetricsTest {

    private static FloatVolume flat(int d, int h, int w, float value, double noiseHu, long seed) {
        Random r = new Random(seed);
        float[] a = new float[d * h * w];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (value + noiseHu * r.nextGaussian());
        }
        return new FloatVolume(d, h, w, a);
    }

    private static double std(FloatVolume v, float mean) {
        double s = 0;
        for (float f : v.data()) {
            s += (f - mean) * (f - mean);
        }
        return Math.sqrt(s / v.size());
    }

    @Test
    void psnrOfIdenticalIsCappedAndSsimIsOne() {
        FloatVolume a = flat(4, 16, 16, 40, 30, 1);
        assertEquals(ImageMetrics.PSNR_CAP, ImageMetrics.psnr(a, a.copy()));
        assertEquals(1.0, ImageMetrics.ssim2d(a, a.copy()), 1e-9);
    }

    @Test
    void psnrOfKnownNoise() {
        // 20 HU noise on a mid-window value (no clipping): MSE = (20/400)^2 -> PSNR = 20 log10(20) = 26.02 dB
        FloatVolume ref = flat(8, 64, 64, 40, 0, 1);
        FloatVolume noisy = flat(8, 64, 64, 40, 20, 2);
        assertEquals(20 * Math.log10(20), ImageMetrics.psnr(noisy, ref), 0.1);
        assertTrue(ImageMetrics.ssim2d(noisy, ref) < 0.9);
    }

    @Test
    void aurocOfPerfectReversedAndTiedSeparators() {
        double[] s = {0.1, 0.2, 0.3, 0.8, 0.9};
        assertEquals(1.0, ImageMetrics.auroc(s, new boolean[] {false, false, false, true, true}), 1e-12);
        assertEquals(0.0, ImageMetrics.auroc(s, new boolean[] {true, true, false, false, false}), 1e-12);
        assertEquals(
                0.5, ImageMetrics.auroc(new double[] {1, 1, 1, 1}, new boolean[] {true, false, true, false}), 1e-12);
        assertTrue(Double.isNaN(ImageMetrics.auroc(s, new boolean[5])));
    }

    @Test
    void nlmAndGaussianReduceNoiseOfAFlatVolume() {
        FloatVolume noisy = flat(8, 24, 24, 40, 20, 3);
        double before = std(noisy, 40);
        double nlm = std(ClassicalFilters.nlm3d(noisy, 30, 1, 1, 2), 40);
        double gauss = std(ClassicalFilters.gaussian3d(noisy, 1.0), 40);
        assertTrue(nlm < 0.6 * before, "NLM std " + nlm + " vs " + before);
        assertTrue(gauss < 0.3 * before, "Gaussian std " + gauss + " vs " + before);
    }

    @Test
    void nlmKeepsAnEdge() {
        float[] a = new float[4 * 16 * 16];
        for (int i = 0; i < a.length; i++) {
            a[i] = (i % 16) < 8 ? -100 : 100;
        }
        FloatVolume v = new FloatVolume(4, 16, 16, a);
        FloatVolume out = ClassicalFilters.nlm3d(v, 10, 1, 1, 2);
        assertEquals(-100, out.get(2, 8, 7), 1e-3);
        assertEquals(100, out.get(2, 8, 8), 1e-3);
    }

    @Test
    void linearZMatchesSlabCentres() {
        // thick slices of value 0, 10 (sf 5): centres at thin 2 and 7; thin 4.5 is halfway
        float[] t = new float[2];
        t[1] = 10;
        FloatVolume out = VolumeBlocks.linearZ(new FloatVolume(2, 1, 1, t), 10, 5);
        assertEquals(0, out.get(0, 0, 0), 1e-6);
        assertEquals(0, out.get(2, 0, 0), 1e-6);
        assertEquals(4, out.get(4, 0, 0), 1e-5);
        assertEquals(10, out.get(7, 0, 0), 1e-6);
        assertEquals(10, out.get(9, 0, 0), 1e-6);
    }

    @Test
    void onlyAcceptsTheEvaluationPartsAndNamesATypo() {
        assertEquals(Set.of("denoise", "anomaly"), Evaluation.tasks("denoise,anomaly"));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Evaluation.tasks("denoise,superes"));
        assertTrue(e.getMessage().contains("superes"), e.getMessage());
        assertEquals(Set.of("ldct", "lesions"), Evaluation.tasks("ldct,lesions"));
    }

    @Test
    void baselinesAreTunedByPsnrOnTheTrainingPairAndThenApplied() {
        // an edge (tissue / fat) under strong noise: the tuned filters must beat the input and sit inside their grids
        float[] clean = new float[4 * 24 * 24];
        for (int i = 0; i < clean.length; i++) {
            clean[i] = (i % 24) < 12 ? 50 : -100;
        }
        FloatVolume full = new FloatVolume(4, 24, 24, clean);
        FloatVolume noise = flat(4, 24, 24, 0, 40, 7);
        float[] noisy = new float[clean.length];
        for (int i = 0; i < noisy.length; i++) {
            noisy[i] = clean[i] + noise.data()[i];
        }
        FloatVolume low = new FloatVolume(4, 24, 24, noisy);
        Evaluation.ClassicalBaselines b = Evaluation.ClassicalBaselines.tune(low, full);
        assertTrue(
                Arrays.stream(Evaluation.ClassicalBaselines.SIGMAS).anyMatch(x -> x == b.sigma()),
                "sigma " + b.sigma());
        assertTrue(Arrays.stream(Evaluation.ClassicalBaselines.HS).anyMatch(x -> x == b.h()), "h " + b.h());
        double input = ImageMetrics.psnr(low, full);
        FloatVolume g = b.gaussian(low);
        FloatVolume nlm = b.nlm(low);
        assertTrue(
                ImageMetrics.psnr(g, full) > input + 3,
                "Gaussian " + ImageMetrics.psnr(g, full) + " vs input " + input);
        assertTrue(
                ImageMetrics.psnr(nlm, full) > input + 3, "NLM " + ImageMetrics.psnr(nlm, full) + " vs input " + input);
        // the chosen sigma is the best of the grid on this pair
        for (double s : Evaluation.ClassicalBaselines.SIGMAS) {
            assertTrue(
                    ImageMetrics.psnr(ClassicalFilters.gaussian3d(low, s), full) <= ImageMetrics.psnr(g, full) + 1e-9,
                    "sigma " + s);
        }
        assertTrue(ImageMetrics.psnr(b.mix(g, nlm), full)
                >= Math.min(ImageMetrics.psnr(g, full), ImageMetrics.psnr(nlm, full)));
    }
}
