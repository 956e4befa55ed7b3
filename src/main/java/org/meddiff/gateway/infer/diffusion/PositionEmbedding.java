package org.meddiff.gateway.infer.diffusion;

import java.util.Arrays;

/**
 * Global-coordinate position embedding of MedDiff-FM (spec 4; meddiff.posembed).
 *
 * <p>For a whole volume of D x H x W voxels: {@code p_z(k) = -1 + 2k/(D-1)}, {@code p_y(j) = -1 + 2j/(H-1)},
 * {@code p_x(i) = -1 + 2i/(W-1)} (0 for a size-1 axis). 6L channels: channel {@code 2L*a + 2l} =
 * {@code sin(2^l * pi * p_a)}, channel {@code 2L*a + 2l + 1} = {@code cos(2^l * pi * p_a)}, axis a = 0 for x (W),
 * 1 for y (H), 2 for z (D), l = 0..L-1. Values are computed in float64 and rounded to float32 (like numpy).
 * A patch at offset (oz, oy, ox) takes its voxels' values in the whole-volume grid.
 *
 * <p>Every channel depends on one axis only, so only the per-axis tables are stored (3 x 2L x n floats);
 * patches are filled from them on demand: a whole-volume embedding of a large CT would not fit in memory.
 */
public final class PositionEmbedding {

    private final int levels;
    private final int depth;
    private final int height;
    private final int width;
    /** [axis][2l or 2l+1][coordinate index] */
    private final float[][][] tables;

    public PositionEmbedding(int levels, int depth, int height, int width) {
        if (levels < 1 || levels > 30) {
            throw new IllegalArgumentException("pe_L must be in 1..30: " + levels);
        }
        this.levels = levels;
        this.depth = depth;
        this.height = height;
        this.width = width;
        int[] n = {width, height, depth};
        tables = new float[3][2 * levels][];
        for (int a = 0; a < 3; a++) {
            double[] p = axisCoords(n[a]);
            for (int l = 0; l < levels; l++) {
                float[] s = new float[n[a]];
                float[] c = new float[n[a]];
                double freq = Math.scalb(1.0, l) * Math.PI;
                for (int i = 0; i < n[a]; i++) {
                    double arg = freq * p[i];
                    s[i] = (float) Math.sin(arg);
                    c[i] = (float) Math.cos(arg);
                }
                tables[a][2 * l] = s;
                tables[a][2 * l + 1] = c;
            }
        }
    }

    /** Coordinates of an axis of n voxels: -1 + 2 i / (n - 1), or {0} for n = 1 (float64, like numpy). */
    public static double[] axisCoords(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("axis length must be >= 1: " + n);
        }
        double[] p = new double[n];
        if (n == 1) {
            return p;
        }
        for (int i = 0; i < n; i++) {
            p[i] = -1.0 + 2.0 * i / (n - 1);
        }
        return p;
    }

    public int levels() {
        return levels;
    }

    public int channels() {
        return 6 * levels;
    }

    /** Value of channel {@code c} at voxel (z, y, x) of the whole volume. */
    public float value(int c, int z, int y, int x) {
        int a = c / (2 * levels);
        int k = c % (2 * levels);
        return tables[a][k][a == 0 ? x : a == 1 ? y : z];
    }

    /**
     * Writes the embedding of the box at (oz, oy, ox) of size pd x ph x pw as [6L, pd, ph, pw] into
     * {@code dst} from {@code dstOffset}.
     */
    public void fillPatch(int oz, int oy, int ox, int pd, int ph, int pw, float[] dst, int dstOffset) {
        if (oz < 0 || oy < 0 || ox < 0 || oz + pd > depth || oy + ph > height || ox + pw > width) {
            throw new IllegalArgumentException("patch (" + oz + "," + oy + "," + ox + ")+(" + pd + "," + ph + "," + pw
                    + ") outside the volume " + depth + "x" + height + "x" + width);
        }
        int plane = ph * pw;
        int vol = pd * plane;
        for (int a = 0; a < 3; a++) {
            for (int k = 0; k < 2 * levels; k++) {
                float[] tab = tables[a][k];
                int base = dstOffset + (2 * levels * a + k) * vol;
                for (int z = 0; z < pd; z++) {
                    for (int y = 0; y < ph; y++) {
                        int row = base + z * plane + y * pw;
                        if (a == 0) {
                            System.arraycopy(tab, ox, dst, row, pw);
                        } else {
                            float v = a == 1 ? tab[oy + y] : tab[oz + z];
                            Arrays.fill(dst, row, row + pw, v);
                        }
                    }
                }
            }
        }
    }

    /** Cubic patch of edge p. */
    public void fillPatch(int oz, int oy, int ox, int p, float[] dst, int dstOffset) {
        fillPatch(oz, oy, ox, p, p, p, dst, dstOffset);
    }

    /** The whole-volume channels [6L, D, H, W] (small volumes and tests only: 6L floats per voxel). */
    public float[] wholeVolume() {
        float[] out =
                new float[Math.multiplyExact(channels(), Math.multiplyExact(depth, Math.multiplyExact(height, width)))];
        fillPatch(0, 0, 0, depth, height, width, out, 0);
        return out;
    }
}
