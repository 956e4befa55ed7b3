package org.meddiff.gateway.infer.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * DiffPIR arithmetic on tiny volumes against a hand computation in float64 (spec 8-10), with a linear fake
 * network (eps = 0.3 x + 0.05 [+ 0.2 cond]) so that the sliding-window average is the identity.
 * Tolerance 2e-5: float32 rounding of ~10 operations per step on values of order 1.
 */
class DiffPirTest {

    private static final double TOL = 2e-5;
    private final CosineSchedule sch = CosineSchedule.cosine();

    private static FloatVolume volume(int d, int h, int w, long seed) {
        FloatVolume v = FloatVolume.zeros(d, h, w);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < v.size(); i++) {
            v.data()[i] = (float) (r.nextDouble() * 1.6 - 0.8);
        }
        return v;
    }

    /** Records the arrays it hands out. */
    private static final class Recording implements NoiseSource {
        final SeededGaussianNoise n = new SeededGaussianNoise(3);
        final List<float[]> used = new ArrayList<>();

        public float[] next(int count) {
            float[] a = n.next(count);
            used.add(a);
            return a;
        }
    }

    private static double clip(double v) {
        return Math.max(-1, Math.min(1, v));
    }

    @Test
    void denoiseMatchesHandComputation() {
        FloatVolume y0 = volume(6, 5, 4, 1);
        FakeModels.Linear m = new FakeModels.Linear(0.3, 0.05);
        DiffPirDenoiser dn = new DiffPirDenoiser(sch, new SlidingWindowEstimator(m, 4, 2, 4, 3));
        Recording noise = new Recording();
        DiffPirDenoiser.Params p = new DiffPirDenoiser.Params(0.15, 10, 0.3, 3);
        List<String> progress = new ArrayList<>();
        SamplerResult r = dn.denoise(
                y0, FloatVolume.zeros(6, 5, 4), 2, p, noise, (i, n, t, pps) -> progress.add(i + "/" + n + "@" + t));
        assertArrayEquals(new int[] {87, 58, 29}, r.timesteps());
        assertEquals(List.of("1/3@87", "2/3@58", "3/3@29"), progress);
        assertEquals(2, noise.used.size()); // one per step with t_prev >= 0
        assertEquals(List.of(87, 87, 58, 58, 29, 29), m.ts); // 2 x 2 x 1 = 4 patches per step: calls of 3 + 1

        double[] x = new double[y0.size()];
        double a0 = sch.alphaBar(87);
        for (int i = 0; i < x.length; i++) x[i] = Math.sqrt(a0) * y0.data()[i];
        int[] ts = {87, 58, 29};
        for (int s = 0; s < 3; s++) {
            double a = sch.alphaBar(ts[s]);
            double rho = 10 * 0.15 * 0.15 / ((1 - a) / a);
            assertEquals(rho, r.rho()[s], 1e-15);
            for (int i = 0; i < x.length; i++) {
                double eps = m.eps(x[i], 0);
                double x0t = clip((x[i] - Math.sqrt(1 - a) * eps) / Math.sqrt(a));
                double x0h = (y0.data()[i] + rho * x0t) / (1 + rho);
                if (s == 2) {
                    x[i] = x0h;
                } else {
                    double ap = sch.alphaBar(ts[s + 1]);
                    double e = (x[i] - Math.sqrt(a) * x0h) / Math.sqrt(1 - a);
                    double mix =
                            Math.sqrt(0.7) * e + Math.sqrt(0.3) * noise.used.get(s)[i];
                    x[i] = Math.sqrt(ap) * x0h + Math.sqrt(1 - ap) * mix;
                }
            }
        }
        for (int i = 0; i < x.length; i++) {
            assertEquals(x[i], r.output().data()[i], TOL, "voxel " + i);
        }
    }

    @Test
    void zetaZeroConsumesNoNoise() {
        FloatVolume y0 = volume(4, 4, 4, 2);
        DiffPirDenoiser dn =
                new DiffPirDenoiser(sch, new SlidingWindowEstimator(new FakeModels.Linear(0.1, 0), 4, 4, 4, 1));
        ArrayNoiseSource none = new ArrayNoiseSource(List.of());
        SamplerResult r =
                dn.denoise(y0, FloatVolume.zeros(4, 4, 4), 0, new DiffPirDenoiser.Params(0.15, 10, 0, 5), none, null);
        assertEquals(5, r.timesteps().length);
        assertEquals(0, none.used());
    }

    @Test
    void slabAverageAndReplicate() {
        FloatVolume v = FloatVolume.zeros(7, 1, 2);
        for (int z = 0; z < 7; z++) {
            v.data()[2 * z] = z;
            v.data()[2 * z + 1] = 10 * z;
        }
        FloatVolume h = DiffPirSuperResolver.slabAverage(v, 3);
        assertEquals(3, h.depth());
        assertArrayEquals(new float[] {1, 10, 4, 40, 6, 60}, h.data(), 0f); // last slab partial: slice 6 only
        FloatVolume ht = DiffPirSuperResolver.replicate(h, 7, 3);
        assertArrayEquals(new float[] {1, 10, 1, 10, 1, 10, 4, 40, 4, 40, 4, 40, 6, 60}, ht.data(), 0f);
        assertThrows(IllegalArgumentException.class, () -> DiffPirSuperResolver.replicate(h, 10, 3));
    }

    @Test
    void superResolutionMatchesHandComputation() {
        int thin = 7, sf = 3, hh = 4, ww = 4, plane = hh * ww;
        FloatVolume yThick = volume(3, hh, ww, 5);
        FakeModels.Linear m = new FakeModels.Linear(0.3, 0.05, true, 0.2);
        DiffPirSuperResolver sr = new DiffPirSuperResolver(sch, new SlidingWindowEstimator(m, 4, 3, 4, 4));
        Recording noise = new Recording();
        DiffPirSuperResolver.Params p = new DiffPirSuperResolver.Params(sf, 1.0, 1.0, 0.3, 3, -1);
        SamplerResult r = sr.superResolve(yThick, thin, FloatVolume.zeros(thin, hh, ww), 2, p, noise, null);
        assertArrayEquals(new int[] {495, 330, 165}, r.timesteps());
        assertEquals(3, noise.used.size()); // init + 2 steps

        double[] cond = new double[thin * plane];
        for (int z = 0; z < thin; z++)
            for (int i = 0; i < plane; i++) cond[z * plane + i] = yThick.data()[(z / sf) * plane + i];
        double a0 = sch.alphaBar(495);
        double[] x = new double[cond.length];
        for (int i = 0; i < x.length; i++)
            x[i] = Math.sqrt(a0) * cond[i] + Math.sqrt(1 - a0) * noise.used.get(0)[i];
        int[] ts = {495, 330, 165};
        for (int s = 0; s < 3; s++) {
            double a = sch.alphaBar(ts[s]);
            double rho = 1.0 / ((1 - a) / a);
            double[] x0t = new double[x.length];
            for (int i = 0; i < x.length; i++)
                x0t[i] = clip((x[i] - Math.sqrt(1 - a) * m.eps(x[i], cond[i])) / Math.sqrt(a));
            double[] hx = new double[3 * plane];
            for (int k = 0; k < 3; k++) {
                int z0 = k * sf, z1 = Math.min(z0 + sf, thin);
                for (int i = 0; i < plane; i++) {
                    double sum = 0;
                    for (int z = z0; z < z1; z++) sum += x0t[z * plane + i];
                    hx[k * plane + i] = yThick.data()[k * plane + i] - sum / (z1 - z0);
                }
            }
            for (int z = 0; z < thin; z++)
                for (int i = 0; i < plane; i++) {
                    int j = z * plane + i;
                    double x0h = x0t[j] + hx[(z / sf) * plane + i] / (1 + rho);
                    if (s == 2) {
                        x[j] = x0h;
                    } else {
                        double ap = sch.alphaBar(ts[s + 1]);
                        double e = (x[j] - Math.sqrt(a) * x0h) / Math.sqrt(1 - a);
                        x[j] = Math.sqrt(ap) * x0h
                                + Math.sqrt(1 - ap)
                                        * (Math.sqrt(0.7) * e
                                                + Math.sqrt(0.3) * noise.used.get(s + 1)[j]);
                    }
                }
        }
        for (int i = 0; i < x.length; i++) {
            assertEquals(x[i], r.output().data()[i], TOL, "voxel " + i);
        }
    }

    @Test
    void anomalyMapAndScore() {
        FloatVolume x0 = volume(5, 5, 5, 9);
        FloatVolume mask = FloatVolume.zeros(5, 5, 5);
        for (int i = 0; i < mask.size(); i += 2) mask.data()[i] = 1;
        FakeModels.Linear m = new FakeModels.Linear(0.5, -0.1);
        Recording noise = new Recording();
        AnomalyMap.Result r = new AnomalyMap(sch, new SlidingWindowEstimator(m, 4, 2, 4, 8))
                .compute(x0, FloatVolume.zeros(5, 5, 5), 2, mask, noise);
        assertEquals(1, noise.used.size());
        assertEquals(List.of(950), m.ts);
        double a = sch.alphaBar(950);
        List<Double> inside = new ArrayList<>();
        for (int i = 0; i < x0.size(); i++) {
            double xt =
                    Math.sqrt(a) * x0.data()[i] + Math.sqrt(1 - a) * noise.used.get(0)[i];
            double x0p = clip((xt - Math.sqrt(1 - a) * m.eps(xt, 0)) / Math.sqrt(a));
            assertEquals(x0p, r.x0Pred().data()[i], 2e-4, "x0' " + i); // 1/sqrt(a) ~ 13 amplifies float32 rounding
            double expect = mask.data()[i] > 0 ? Math.abs(x0.data()[i] - x0p) : 0;
            assertEquals(expect, r.map().data()[i], 2e-4);
            if (mask.data()[i] > 0) inside.add((double) r.map().data()[i]);
        }
        inside.sort(null);
        assertEquals(inside.get((int) Math.floor(0.99 * (inside.size() - 1))), r.score(), 0);
        assertEquals(0.0, AnomalyMap.score(r.map(), FloatVolume.zeros(5, 5, 5), 0.99));
    }

    @Test
    void anomalyDrawsAverageIndependentReconstructions() {
        FloatVolume x0 = volume(5, 5, 5, 4);
        FloatVolume mask = FloatVolume.zeros(5, 5, 5);
        Arrays.fill(mask.data(), 1f);
        FakeModels.Linear m = new FakeModels.Linear(0.3, 0.05);
        SlidingWindowEstimator est = new SlidingWindowEstimator(m, 4, 2, 4, 8);
        Recording noise = new Recording();
        AnomalyMap.Result avg =
                new AnomalyMap(sch, est, 700, 0.99, 0, 3).compute(x0, FloatVolume.zeros(5, 5, 5), 2, mask, noise);
        assertEquals(3, noise.used.size());
        assertEquals(3, avg.draws());
        assertEquals(List.of(700, 700, 700), m.ts); // one batch of 8 patches per draw
        for (int i = 0; i < x0.size(); i++) {
            double sum = 0;
            for (float[] z : noise.used) {
                FloatVolume one = new AnomalyMap(sch, est, 700, 0.99, 0, 1)
                        .compute(x0, FloatVolume.zeros(5, 5, 5), 2, mask, new ArrayNoiseSource(List.of(z)))
                        .x0Pred();
                sum += one.data()[i];
            }
            assertEquals(sum / 3, avg.x0Pred().data()[i], 1e-5, "x0' " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> new AnomalyMap(sch, est, 700, 0.99, 0, 0));
        assertThrows(
                IllegalArgumentException.class, () -> new AnomalyMap(sch, est, 700, 0.99, 0, AnomalyMap.MAX_DRAWS + 1));
    }

    @Test
    void smoothingActsOnTheSignedDifference() {
        // residual = +-0.4 checkerboard texture everywhere, plus a -0.3 blob: smoothing the signed residual cancels the
        // texture and keeps the blob; smoothing its magnitude would leave ~0.4 everywhere
        int n = 16;
        FloatVolume x0 = FloatVolume.zeros(n, n, n);
        FloatVolume recon = FloatVolume.zeros(n, n, n);
        FloatVolume mask = FloatVolume.zeros(n, n, n);
        for (int z = 0; z < n; z++)
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++) {
                    int i = x0.index(z, y, x);
                    boolean blob = Math.abs(z - 8) <= 2 && Math.abs(y - 8) <= 2 && Math.abs(x - 8) <= 2;
                    x0.data()[i] = ((z + y + x) % 2 == 0 ? 0.4f : -0.4f) + (blob ? -0.3f : 0f);
                    mask.data()[i] = x < 14 ? 1f : 0f;
                }
        FloatVolume raw = AnomalyMap.map(x0, recon, mask, 0);
        assertEquals(0.4, raw.get(2, 2, 2), 1e-6);
        assertEquals(0.1, raw.get(8, 8, 8), 1e-6); // +0.4 - 0.3
        assertEquals(0.7, raw.get(8, 8, 9), 1e-6); // -0.4 - 0.3
        FloatVolume smooth = AnomalyMap.map(x0, recon, mask, 1.5);
        assertTrue(smooth.get(2, 2, 2) < 0.02, "texture cancels: " + smooth.get(2, 2, 2));
        assertTrue(smooth.get(8, 8, 8) > 0.2, "blob stays: " + smooth.get(8, 8, 8));
        assertEquals(0f, smooth.get(8, 8, 15), 0f); // outside the mask
    }

    @Test
    void modelKindIsChecked() {
        SlidingWindowEstimator base = new SlidingWindowEstimator(new FakeModels.Linear(0, 0), 4, 4, 4, 1);
        SlidingWindowEstimator cn = new SlidingWindowEstimator(new FakeModels.Linear(0, 0, true, 0), 4, 4, 4, 1);
        assertThrows(IllegalArgumentException.class, () -> new DiffPirSuperResolver(sch, base));
        assertThrows(IllegalArgumentException.class, () -> new DiffPirDenoiser(sch, cn));
        assertThrows(IllegalArgumentException.class, () -> new AnomalyMap(sch, cn));
        assertThrows(IllegalArgumentException.class, () -> new DiffPirDenoiser.Params(0.15, 10, 1.5, 3));
    }

    @Test
    void seededNoiseIsReproducibleAndStandardNormal() {
        float[] a = new SeededGaussianNoise(42).next(200_000);
        float[] b = new SeededGaussianNoise(42).next(200_000);
        assertArrayEquals(a, b, 0f);
        double s = 0, s2 = 0;
        for (float v : a) {
            s += v;
            s2 += v * v;
        }
        double mean = s / a.length;
        assertEquals(0, mean, 0.01);
        assertEquals(1, Math.sqrt(s2 / a.length - mean * mean), 0.01);
    }
}
