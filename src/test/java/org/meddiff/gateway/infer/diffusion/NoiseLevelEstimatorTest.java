package org.meddiff.gateway.infer.diffusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** sigma_n estimate on smooth anatomy + white Gaussian noise of known std. */
class NoiseLevelEstimatorTest {

    /** A smooth "body" (ellipsoid with slowly varying values) in air (-1), plus noise of std sigma inside. */
    private static FloatVolume phantom(double sigma, long seed, FloatVolume bodyOut) {
        int d = 40, h = 64, w = 64;
        FloatVolume v = FloatVolume.zeros(d, h, w);
        SeededGaussianNoise n = new SeededGaussianNoise(seed);
        float[] z = n.next(v.size());
        for (int k = 0; k < d; k++)
            for (int j = 0; j < h; j++)
                for (int i = 0; i < w; i++) {
                    double r = Math.pow((j - 32) / 28.0, 2) + Math.pow((i - 32) / 24.0, 2);
                    int idx = v.index(k, j, i);
                    if (r <= 1) {
                        double base = -0.2 + 0.3 * Math.sin(k / 9.0) * Math.cos(j / 13.0) + 0.2 * (i / 64.0);
                        v.data()[idx] = (float) Math.max(-1, Math.min(1, base + sigma * z[idx]));
                        bodyOut.data()[idx] = 3;
                    } else {
                        v.data()[idx] = -1;
                    }
                }
        return v;
    }

    @Test
    void recoversKnownSigma() {
        for (double sigma : new double[] {0.02, 0.05, 0.15}) {
            FloatVolume body = FloatVolume.zeros(40, 64, 64);
            FloatVolume v = phantom(sigma, 11, body);
            double est = NoiseLevelEstimator.estimate(v, body);
            assertEquals(sigma, est, 0.05 * sigma, "sigma " + sigma + " estimated " + est);
            // without a mask the air (clipped at -1) is excluded by the (-1, 1) rule
            assertEquals(sigma, NoiseLevelEstimator.estimate(v), 0.05 * sigma);
            // the reference's first difference agrees on white noise (its z trend bias shows at low sigma)
            assertEquals(sigma, NoiseLevelEstimator.estimateFirstDifference(v, body), 0.25 * sigma);
        }
    }

    @Test
    void noiselessIsNearZeroAndTooFewPairsIsNaN() {
        FloatVolume body = FloatVolume.zeros(40, 64, 64);
        FloatVolume v = phantom(0, 1, body);
        assertTrue(
                NoiseLevelEstimator.estimate(v, body) < 0.002,
                "smooth anatomy alone reads " + NoiseLevelEstimator.estimate(v, body));
        assertTrue(Double.isNaN(NoiseLevelEstimator.estimate(FloatVolume.zeros(2, 3, 3))));
    }

    @Test
    void medianOfEvenAndOddCounts() {
        assertEquals(2.5, NoiseLevelEstimator.median(new float[] {4, 1, 3, 2}, 4));
        assertEquals(3.0, NoiseLevelEstimator.median(new float[] {5, 1, 3, 2, 4}, 5));
        assertEquals(7.0, NoiseLevelEstimator.median(new float[] {7, 7, 7, 7, 99}, 4));
    }
}
