package org.meddiff.gateway.infer.diffusion;

/**
 * Separable 3-D Gaussian filter in voxel units, truncated at 4 sigma, mirror boundary ("reflect", the
 * scipy.ndimage default, so the figures compare with the Python side). Pure computation.
 */
public final class GaussianFilter {

    private GaussianFilter() {}

    public static FloatVolume apply(FloatVolume v, double sigma) {
        return apply(v, new double[] {sigma, sigma, sigma});
    }

    /** Smoothing within each slice only (y and x), sigma in voxels; z is left as it is. */
    public static FloatVolume applyInPlane(FloatVolume v, double sigma) {
        return apply(v, new double[] {0, sigma, sigma});
    }

    /** Per-axis sigma in voxels, z, y, x order; 0 leaves that axis alone. */
    public static FloatVolume apply(FloatVolume v, double[] sigmaZyx) {
        float[] a = v.data().clone();
        int[] dims = {v.depth(), v.height(), v.width()};
        int[] strides = {v.height() * v.width(), v.width(), 1};
        for (int axis = 0; axis < 3; axis++) {
            double sigma = sigmaZyx[axis];
            if (!(sigma >= 0) || Double.isInfinite(sigma)) {
                throw new IllegalArgumentException("sigma must be >= 0 voxels: " + sigma);
            }
            if (sigma > 0) {
                a = convolveAxis(a, dims, strides, axis, kernel(sigma), (int) (4 * sigma + 0.5));
            }
        }
        return new FloatVolume(v.depth(), v.height(), v.width(), a);
    }

    private static double[] kernel(double sigma) {
        int rad = (int) (4 * sigma + 0.5);
        double[] k = new double[2 * rad + 1];
        double sk = 0;
        for (int i = -rad; i <= rad; i++) {
            k[i + rad] = Math.exp(-0.5 * i * i / (sigma * sigma));
            sk += k[i + rad];
        }
        for (int i = 0; i < k.length; i++) {
            k[i] /= sk;
        }
        return k;
    }

    private static int reflect(int i, int n) {
        while (i < 0 || i >= n) {
            i = i < 0 ? -i - 1 : 2 * n - i - 1;
        }
        return i;
    }

    private static float[] convolveAxis(float[] a, int[] dims, int[] strides, int axis, double[] k, int rad) {
        float[] out = new float[a.length];
        int n = dims[axis];
        int st = strides[axis];
        for (int idx = 0; idx < a.length; idx++) {
            int c = (idx / st) % n;
            int base = idx - c * st;
            double s = 0;
            for (int t = -rad; t <= rad; t++) {
                s += k[t + rad] * a[base + reflect(c + t, n) * st];
            }
            out[idx] = (float) s;
        }
        return out;
    }
}
