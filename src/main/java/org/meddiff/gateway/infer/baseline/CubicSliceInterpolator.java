package org.meddiff.gateway.infer.baseline;

import java.util.stream.IntStream;

import org.meddiff.gateway.infer.pipeline.Resampling;
import org.meddiff.gateway.volume.Volume;
import org.meddiff.gateway.volume.VolumeGeometry;

/**
 * Classical through-plane super-resolution baseline: cubic convolution interpolation along z
 * (Keys 1981, a = -0.5, i.e. the Catmull-Rom spline), in-plane grid untouched.
 *
 * <p>The output slices run from the first source slice position to the last, every
 * {@code targetSpacingMm}: {@code count = floor((last - first) / target) + 1}, slice {@code k} at
 * {@code first + k * target} along the source slice direction; the new nominal slice thickness is the
 * target spacing. Samples beyond the ends use the end slices (edge clamp). Pure computation, no I/O.
 *
 * <p>The kernel reproduces polynomials up to degree 2 exactly wherever the four taps lie inside the
 * volume, and its error is O(h^3) for smooth signals (linear interpolation: O(h^2)).
 */
public final class CubicSliceInterpolator {

    /** Positions closer than this (in source slice units) to an integer count as on the grid. */
    private static final double GRID_EPSILON = 1e-9;

    private final double targetSpacingMm;

    public CubicSliceInterpolator(double targetSpacingMm) {
        if (!(targetSpacingMm > 0) || Double.isInfinite(targetSpacingMm)) {
            throw new IllegalArgumentException("target spacing must be a positive number of mm: " + targetSpacingMm);
        }
        this.targetSpacingMm = targetSpacingMm;
    }

    public double targetSpacingMm() {
        return targetSpacingMm;
    }

    /** Same as {@code new CubicSliceInterpolator(targetSpacingMm).apply(source)}. */
    public static Volume resample(Volume source, double targetSpacingMm) {
        return new CubicSliceInterpolator(targetSpacingMm).apply(source);
    }

    /** Number of output slices for a source of {@code slices} slices {@code spacingZ} apart. */
    public static int outputSliceCount(int slices, double spacingZ, double targetSpacingMm) {
        if (slices <= 1) {
            return slices;
        }
        double extent = (slices - 1) * spacingZ;
        return (int) Math.floor(extent / targetSpacingMm + 1e-6) + 1;
    }

    public Volume apply(Volume source) {
        VolumeGeometry g = source.geometry();
        if (g.slices() < 1) {
            throw new IllegalArgumentException("empty volume");
        }
        if (g.slices() > 1 && !(g.spacingZ() > 0)) {
            throw new IllegalArgumentException("source slice spacing must be positive: " + g.spacingZ());
        }
        int count = outputSliceCount(g.slices(), g.spacingZ(), targetSpacingMm);
        VolumeGeometry out = g.withSlices(count, targetSpacingMm, targetSpacingMm);
        int plane = g.columns() * g.rows();
        float[] src = source.voxels();
        float[] dst = new float[plane * count];
        int last = g.slices() - 1;
        double step = g.slices() > 1 ? targetSpacingMm / g.spacingZ() : 0;

        IntStream.range(0, count).parallel().forEach(k -> {
            double u = k * step;
            int i = (int) Math.floor(u);
            double t = u - i;
            if (t > 1 - GRID_EPSILON) { // on the next source slice up to rounding
                i++;
                t = 0;
            } else if (t < GRID_EPSILON) {
                t = 0;
            }
            int outOffset = k * plane;
            if (t == 0) {
                System.arraycopy(src, Math.min(i, last) * plane, dst, outOffset, plane);
                return;
            }
            double[] w = weights(t);
            int o0 = clamp(i - 1, last) * plane;
            int o1 = clamp(i, last) * plane;
            int o2 = clamp(i + 1, last) * plane;
            int o3 = clamp(i + 2, last) * plane;
            double w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
            for (int p = 0; p < plane; p++) {
                dst[outOffset + p] =
                        (float) (w0 * src[o0 + p] + w1 * src[o1 + p] + w2 * src[o2 + p] + w3 * src[o3 + p]);
            }
        });
        return new Volume(out, dst);
    }

    /**
     * Keys cubic convolution weights (a = -0.5) for the taps at offsets -1, 0, +1, +2 from the sample
     * below a position {@code t} in [0, 1). They sum to 1.
     */
    public static double[] weights(double t) {
        return Resampling.keysWeights(t);
    }

    private static int clamp(int i, int last) {
        return i < 0 ? 0 : Math.min(i, last);
    }
}
