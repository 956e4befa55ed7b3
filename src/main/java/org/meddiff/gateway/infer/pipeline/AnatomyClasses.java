package org.meddiff.gateway.infer.pipeline;

import java.util.Arrays;

import org.meddiff.gateway.infer.diffusion.FloatVolume;

/**
 * HU-threshold anatomy classes on the 1 mm grid (onnx-export README, "The ONNX contract"; meddiff.data.anatomy_map):
 * body = HU &gt; -500, holes filled slice by slice (axial, 2-D, background 4-connected to the slice border
 * is outside), then the largest 6-connected 3-D component (first in raster order on ties). Inside the
 * body: HU &lt; -400 -&gt; 1 air/lung, &lt; -30 -&gt; 2 fat, &lt; 200 -&gt; 3 soft tissue, else 4 bone; outside -&gt; 0.
 */
public final class AnatomyClasses {

    public static final int OUTSIDE = 0;
    public static final int AIR_LUNG = 1;
    public static final int FAT = 2;
    public static final int SOFT_TISSUE = 3;
    public static final int BONE = 4;
    public static final int COUNT = 5;
    public static final float BODY_HU = -500f;

    private AnatomyClasses() {}

    /** Class index per voxel, as floats (the network input). */
    public static FloatVolume map(FloatVolume hu) {
        boolean[] body = bodyMask(hu);
        float[] h = hu.data();
        float[] out = new float[h.length];
        for (int i = 0; i < h.length; i++) {
            if (!body[i]) {
                out[i] = OUTSIDE;
            } else if (h[i] < -400f) {
                out[i] = AIR_LUNG;
            } else if (h[i] < -30f) {
                out[i] = FAT;
            } else if (h[i] < 200f) {
                out[i] = SOFT_TISSUE;
            } else {
                out[i] = BONE;
            }
        }
        return new FloatVolume(hu.depth(), hu.height(), hu.width(), out);
    }

    /** 1 where the class is one of {@code classes}, else 0. */
    public static FloatVolume mask(FloatVolume anatomy, int... classes) {
        float[] a = anatomy.data();
        float[] m = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            for (int c : classes) {
                if (a[i] == c) {
                    m[i] = 1f;
                    break;
                }
            }
        }
        return new FloatVolume(anatomy.depth(), anatomy.height(), anatomy.width(), m);
    }

    /** The body mask of the rule above. */
    public static boolean[] bodyMask(FloatVolume hu) {
        int d = hu.depth(), h = hu.height(), w = hu.width();
        int plane = h * w;
        float[] v = hu.data();
        boolean[] m = new boolean[v.length];
        for (int i = 0; i < v.length; i++) {
            m[i] = v[i] > BODY_HU;
        }
        // fill holes per axial slice: background not 4-connected to the border becomes body
        boolean[] outside = new boolean[plane];
        int[] queue = new int[plane];
        for (int z = 0; z < d; z++) {
            int o = z * plane;
            Arrays.fill(outside, false);
            int head = 0, tail = 0;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    if ((y == 0 || y == h - 1 || x == 0 || x == w - 1) && !m[o + y * w + x] && !outside[y * w + x]) {
                        outside[y * w + x] = true;
                        queue[tail++] = y * w + x;
                    }
                }
            }
            while (head < tail) {
                int p = queue[head++];
                int y = p / w, x = p % w;
                if (x > 0) tail = visit(m, o, outside, queue, tail, p - 1);
                if (x < w - 1) tail = visit(m, o, outside, queue, tail, p + 1);
                if (y > 0) tail = visit(m, o, outside, queue, tail, p - w);
                if (y < h - 1) tail = visit(m, o, outside, queue, tail, p + w);
            }
            for (int p = 0; p < plane; p++) {
                if (!outside[p]) {
                    m[o + p] = true;
                }
            }
        }
        return largestComponent(m, d, h, w);
    }

    private static int visit(boolean[] m, int o, boolean[] outside, int[] queue, int tail, int p) {
        if (!m[o + p] && !outside[p]) {
            outside[p] = true;
            queue[tail++] = p;
        }
        return tail;
    }

    /** Largest 6-connected component (labels in raster order; the first wins ties). */
    static boolean[] largestComponent(boolean[] m, int d, int h, int w) {
        int n = m.length;
        int[] label = new int[n];
        int plane = h * w;
        int best = 0;
        long bestSize = 0;
        int next = 0;
        int[] queue = new int[Math.max(1, n)];
        for (int s = 0; s < n; s++) {
            if (!m[s] || label[s] != 0) {
                continue;
            }
            int lab = ++next;
            int head = 0, tail = 0;
            queue[tail++] = s;
            label[s] = lab;
            while (head < tail) {
                int p = queue[head++];
                int z = p / plane, r = p % plane, y = r / w, x = r % w;
                if (x > 0 && m[p - 1] && label[p - 1] == 0) {
                    label[p - 1] = lab;
                    queue[tail++] = p - 1;
                }
                if (x < w - 1 && m[p + 1] && label[p + 1] == 0) {
                    label[p + 1] = lab;
                    queue[tail++] = p + 1;
                }
                if (y > 0 && m[p - w] && label[p - w] == 0) {
                    label[p - w] = lab;
                    queue[tail++] = p - w;
                }
                if (y < h - 1 && m[p + w] && label[p + w] == 0) {
                    label[p + w] = lab;
                    queue[tail++] = p + w;
                }
                if (z > 0 && m[p - plane] && label[p - plane] == 0) {
                    label[p - plane] = lab;
                    queue[tail++] = p - plane;
                }
                if (z < d - 1 && m[p + plane] && label[p + plane] == 0) {
                    label[p + plane] = lab;
                    queue[tail++] = p + plane;
                }
            }
            if (tail > bestSize) {
                bestSize = tail;
                best = lab;
            }
        }
        boolean[] out = new boolean[n];
        if (best == 0) {
            return out;
        }
        for (int i = 0; i < n; i++) {
            out[i] = label[i] == best;
        }
        return out;
    }
}
