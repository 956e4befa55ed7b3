package org.meddiff.gateway.tools;

import java.util.Arrays;

import org.meddiff.gateway.infer.diffusion.FloatVolume;

/** Cutting, padding and linear resampling of evaluation blocks. */
public final class VolumeBlocks {
    private VolumeBlocks() {}

    /** Linear interpolation along z between thick-slice centres (meddiff.evaluate.linear_z), constant outside. */
    public static FloatVolume linearZ(FloatVolume thick, int n, int sf) {
        int dt = thick.depth();
        int plane = thick.height() * thick.width();
        double[] centres = new double[dt];
        for (int i = 0; i < dt; i++) {
            centres[i] = (Math.min(i * sf + sf, n) - 1 + i * sf) / 2.0;
        }
        float[] out = new float[n * plane];
        for (int z = 0; z < n; z++) {
            int idx = 0;
            while (idx + 1 < dt - 1 && centres[idx + 1] < z) {
                idx++;
            }
            int i1 = Math.min(idx + 1, dt - 1);
            double w = i1 == idx ? 0 : Math.max(0, Math.min(1, (z - centres[idx]) / (centres[i1] - centres[idx])));
            for (int p = 0; p < plane; p++) {
                out[z * plane + p] =
                        (float) (thick.data()[idx * plane + p] * (1 - w) + thick.data()[i1 * plane + p] * w);
            }
        }
        return new FloatVolume(n, thick.height(), thick.width(), out);
    }

    /** Slices z0..z0+n-1. */
    public static FloatVolume slices(FloatVolume v, int z0, int n) {
        int plane = v.height() * v.width();
        return new FloatVolume(n, v.height(), v.width(), Arrays.copyOfRange(v.data(), z0 * plane, (z0 + n) * plane));
    }

    /** Zero padding at the high end of each axis. */
    public static FloatVolume padZero(FloatVolume v, int d, int h, int w) {
        FloatVolume out = FloatVolume.zeros(d, h, w);
        for (int z = 0; z < v.depth(); z++) {
            for (int y = 0; y < v.height(); y++) {
                System.arraycopy(v.data(), v.index(z, y, 0), out.data(), out.index(z, y, 0), v.width());
            }
        }
        return out;
    }
}
