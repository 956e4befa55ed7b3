package org.meddiff.gateway.infer.diffusion;

/**
 * Automatic estimate of sigma_n, the noise standard deviation of a normalized volume (the DiffPIR
 * denoising input): a robust MAD of a high-pass residual along z inside the body.
 *
 * <pre>
 * r = (y[z+1] - 2 y[z] + y[z-1]) / sqrt(6)   second difference along z (float32); for white noise of std
 *                                            sigma, r has std sigma, and linear trends of the anatomy cancel
 * over voxel triples with all values strictly inside (-1, 1) (not clipped by the window) and all inside
 * the body (anatomy class != 0) when a body map is given
 * sigma_n = 1.4826 * median(|r - median(r)|)     (robust MAD; even count: mean of the two middles)
 * </pre>
 *
 * {@link #estimateFirstDifference} is the reference's {@code meddiff.evaluate.estimate_sigma}
 * ({@code (y[z+1] - y[z]) / sqrt 2}); both agree on white noise, the second difference is not biased
 * upwards by anatomy that changes linearly along z (at 1 mm a soft-tissue gradient of a few HU per
 * slice is a few 0.01 in the abdomen window, comparable to the noise of a good scan). Assumptions:
 * noise independent between neighbouring slices; noise correlated along z (slices resampled from a
 * finer grid, or thick-slice reconstructions interpolated to 1 mm) reads low, so estimate on a grid
 * whose slices were reconstructed independently when possible. NaN when fewer than {@link #MIN_PAIRS}
 * voxels qualify. The gateway logs the estimate next to any configured value.
 */
public final class NoiseLevelEstimator {

    public static final double MAD_TO_SIGMA = 1.4826;
    public static final int MIN_PAIRS = 100;

    private NoiseLevelEstimator() {}

    /** sigma_n of y over all voxels. */
    public static double estimate(FloatVolume y) {
        return estimate(y, null);
    }

    /** sigma_n of y inside the body (anatomy class &gt; 0), or everywhere for a null map (second difference). */
    public static double estimate(FloatVolume y, FloatVolume bodyOrAnatomy) {
        return residualMad(y, bodyOrAnatomy, true);
    }

    /** The reference's first-difference estimator (meddiff.evaluate.estimate_sigma). */
    public static double estimateFirstDifference(FloatVolume y, FloatVolume bodyOrAnatomy) {
        return residualMad(y, bodyOrAnatomy, false);
    }

    private static double residualMad(FloatVolume y, FloatVolume bodyOrAnatomy, boolean second) {
        if (bodyOrAnatomy != null) {
            y.requireSameShape(bodyOrAnatomy, "body mask");
        }
        int plane = y.height() * y.width();
        float[] v = y.data();
        float[] m = bodyOrAnatomy == null ? null : bodyOrAnatomy.data();
        float norm = (float) Math.sqrt(second ? 6 : 2);
        int count = 0;
        int from = second ? plane : 0;
        float[] d = new float[Math.max(0, v.length - plane - from)];
        for (int i = from; i + plane < v.length; i++) {
            float b = v[i];
            float c = v[i + plane];
            if (Math.abs(b) >= 1f || Math.abs(c) >= 1f || (m != null && (m[i] <= 0 || m[i + plane] <= 0))) {
                continue;
            }
            if (second) {
                float a = v[i - plane];
                if (Math.abs(a) >= 1f || (m != null && m[i - plane] <= 0)) {
                    continue;
                }
                d[count++] = (c - 2f * b + a) / norm;
            } else {
                d[count++] = (c - b) / norm;
            }
        }
        if (count < MIN_PAIRS) {
            return Double.NaN;
        }
        double med = median(d, count);
        for (int i = 0; i < count; i++) {
            d[i] = (float) Math.abs(d[i] - med);
        }
        return MAD_TO_SIGMA * median(d, count);
    }

    /** Median of the first n values (reorders them). */
    static double median(float[] a, int n) {
        if (n % 2 == 1) {
            return select(a, 0, n - 1, n / 2);
        }
        double hi = select(a, 0, n - 1, n / 2);
        // after selection, the lower half holds the values <= a[n/2]: its maximum is the other middle
        float lo = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n / 2; i++) {
            lo = Math.max(lo, a[i]);
        }
        return (lo + hi) / 2.0;
    }

    /** k-th smallest of a[lo..hi] (quickselect, median-of-three pivot). */
    static float select(float[] a, int lo, int hi, int k) {
        while (hi > lo) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] < a[lo]) swap(a, mid, lo);
            if (a[hi] < a[lo]) swap(a, hi, lo);
            if (a[hi] < a[mid]) swap(a, hi, mid);
            float pivot = a[mid];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j) {
                    swap(a, i, j);
                    i++;
                    j--;
                }
            }
            if (k <= j) {
                hi = j;
            } else if (k >= i) {
                lo = i;
            } else {
                return a[k];
            }
        }
        return a[k];
    }

    private static void swap(float[] a, int i, int j) {
        float t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
