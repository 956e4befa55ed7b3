package org.meddiff.gateway.infer.diffusion;

/**
 * Automatic estimate of sigma_n, the noise standard deviation of a normalized volume (the DiffPIR
 * denoising input), the same estimator as {@code meddiff.evaluate.estimate_sigma}:
 *
 * <pre>
 * d = (y[z+1] - y[z]) / sqrt(2)        high-pass residual along z (float32, like numpy)
 * over voxel pairs with both values strictly inside (-1, 1) (not clipped by the window) and both
 * inside the body (anatomy class != 0) when a body mask is given
 * sigma_n = 1.4826 * median(|d - median(d)|)      (robust MAD; median of an even count = mean of the two middles)
 * </pre>
 *
 * Assumptions: noise independent between neighbouring slices and anatomy smooth along z at 1 mm, so
 * the difference of two neighbours is noise with variance 2 sigma^2 except at a few edges, which the
 * median ignores. Noise that is correlated along z (e.g. slices resampled from a finer source grid)
 * reads low: estimate on a grid whose slices were reconstructed independently when possible. Returns
 * NaN when fewer than {@link #MIN_PAIRS} pairs qualify.
 */
public final class NoiseLevelEstimator {

    public static final double MAD_TO_SIGMA = 1.4826;
    public static final int MIN_PAIRS = 100;

    private NoiseLevelEstimator() {
    }

    /** sigma_n of y over all voxels. */
    public static double estimate(FloatVolume y) {
        return estimate(y, null);
    }

    /** sigma_n of y inside the body (anatomy class &gt; 0), or everywhere for a null map. */
    public static double estimate(FloatVolume y, FloatVolume bodyOrAnatomy) {
        if (bodyOrAnatomy != null) {
            y.requireSameShape(bodyOrAnatomy, "body mask");
        }
        int plane = y.height() * y.width();
        float[] v = y.data();
        float[] m = bodyOrAnatomy == null ? null : bodyOrAnatomy.data();
        float s2 = (float) Math.sqrt(2);
        int count = 0;
        float[] d = new float[Math.max(0, v.length - plane)];
        for (int i = 0; i + plane < v.length; i++) {
            float a = v[i];
            float b = v[i + plane];
            if (Math.abs(a) < 1f && Math.abs(b) < 1f && (m == null || (m[i] > 0 && m[i + plane] > 0))) {
                d[count++] = (b - a) / s2;
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
