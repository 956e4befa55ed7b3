package org.meddiff.gateway.tools;

import org.meddiff.gateway.infer.diffusion.ClassicalBlend;
import org.meddiff.gateway.infer.diffusion.FloatVolume;
import org.meddiff.gateway.infer.diffusion.GaussianFilter;

/** The classical denoising baselines the evaluation compares with: a 3-D Gaussian, 3-D non-local means, their mix. */
public final class ClassicalFilters {
    private ClassicalFilters() {}

    /** (1 - w) * a + w * b, voxel by voxel. */
    public static FloatVolume mix(FloatVolume a, FloatVolume b, double w) {
        return ClassicalBlend.mix(a, b, w);
    }

    /** Separable 3-D Gaussian filter, sigma in voxels, truncated at 4 sigma, mirror edges (as scipy.ndimage 'reflect'). */
    public static FloatVolume gaussian3d(FloatVolume v, double sigma) {
        return GaussianFilter.apply(v, sigma);
    }

    /**
     * 3-D non-local means: patch (2 pr + 1)^3 (mean squared HU difference), search window (2 rz + 1) x (2 rxy + 1)^2,
     * weight exp(-d / h^2) (h in HU), edges clamped. Cost is one box filter per search offset.
     */
    public static FloatVolume nlm3d(FloatVolume v, double h, int pr, int rz, int rxy) {
        int dd = v.depth(), hh = v.height(), ww = v.width();
        float[] src = v.data();
        int n = src.length;
        double[] acc = new double[n];
        double[] wsum = new double[n];
        float[] sq = new float[n];
        float[] nb = new float[n];
        double inv = 1.0 / (h * h);
        for (int oz = -rz; oz <= rz; oz++) {
            for (int oy = -rxy; oy <= rxy; oy++) {
                for (int ox = -rxy; ox <= rxy; ox++) {
                    for (int z = 0; z < dd; z++) {
                        int z2 = clamp(z + oz, dd);
                        for (int y = 0; y < hh; y++) {
                            int y2 = clamp(y + oy, hh);
                            int row = (z * hh + y) * ww;
                            int row2 = (z2 * hh + y2) * ww;
                            for (int x = 0; x < ww; x++) {
                                float q = src[row2 + clamp(x + ox, ww)];
                                float d = src[row + x] - q;
                                nb[row + x] = q;
                                sq[row + x] = d * d;
                            }
                        }
                    }
                    float[] box = boxMean(sq, dd, hh, ww, pr);
                    for (int i = 0; i < n; i++) {
                        double wgt = Math.exp(-box[i] * inv);
                        acc[i] += wgt * nb[i];
                        wsum[i] += wgt;
                    }
                }
            }
        }
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (acc[i] / wsum[i]);
        }
        return new FloatVolume(dd, hh, ww, out);
    }

    private static int clamp(int i, int n) {
        return i < 0 ? 0 : i >= n ? n - 1 : i;
    }

    private static float[] boxMean(float[] a, int dd, int hh, int ww, int r) {
        int[] dims = {dd, hh, ww};
        int[] strides = {hh * ww, ww, 1};
        float[] cur = a;
        for (int axis = 0; axis < 3; axis++) {
            float[] out = new float[cur.length];
            int n = dims[axis];
            int st = strides[axis];
            for (int idx = 0; idx < cur.length; idx++) {
                int c = (idx / st) % n;
                int base = idx - c * st;
                float s = 0;
                for (int t = -r; t <= r; t++) {
                    s += cur[base + clamp(c + t, n) * st];
                }
                out[idx] = s / (2 * r + 1);
            }
            cur = out;
        }
        return cur;
    }
}
