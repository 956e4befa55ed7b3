package org.meddiff.gateway.infer.pipeline;

import org.meddiff.gateway.infer.baseline.CubicSliceInterpolator;
import org.meddiff.gateway.infer.diffusion.FloatVolume;
import org.meddiff.gateway.infer.diffusion.SlabProjection;

/**
 * Classical thin-slice estimate on the super-resolution thin grid: cubic convolution along z between
 * thick-slice centres (the same Keys kernel as the cubic baseline series), then the exact slab projection
 * so that every slab averages to its measured thick slice. The diffusion output falls back to it outside
 * the model's window ({@link WindowPassthrough}).
 *
 * <p>Thin slice z of slab floor(z / sf) sits at thick-index position (z - (sf - 1) / 2) / sf; positions
 * beyond the first and last slab centres take the end slices (edge clamp, as the baseline).
 */
public final class ClassicalThinSlices {

    private ClassicalThinSlices() {}

    /** @param thick thick slices (any scale), ceil(thin / sf) of them; returns {@code thin} slices */
    public static FloatVolume estimate(FloatVolume thick, int thin, int sf) {
        int dt = thick.depth();
        int plane = thick.height() * thick.width();
        float[] src = thick.data();
        float[] out = new float[thin * plane];
        int last = dt - 1;
        for (int z = 0; z < thin; z++) {
            double u = Math.min(Math.max((z - (sf - 1) / 2.0) / sf, 0.0), last);
            int i = (int) Math.floor(u);
            double t = u - i;
            int o = z * plane;
            if (t == 0.0) {
                System.arraycopy(src, i * plane, out, o, plane);
                continue;
            }
            double[] w = CubicSliceInterpolator.weights(t);
            int o0 = Math.max(i - 1, 0) * plane;
            int o1 = i * plane;
            int o2 = Math.min(i + 1, last) * plane;
            int o3 = Math.min(i + 2, last) * plane;
            for (int p = 0; p < plane; p++) {
                out[o + p] =
                        (float) (w[0] * src[o0 + p] + w[1] * src[o1 + p] + w[2] * src[o2 + p] + w[3] * src[o3 + p]);
            }
        }
        return SlabProjection.project(new FloatVolume(thin, thick.height(), thick.width(), out), thick, sf);
    }
}
