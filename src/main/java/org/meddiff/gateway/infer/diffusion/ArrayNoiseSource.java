package org.meddiff.gateway.infer.diffusion;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/** Pre-made noise arrays handed out in order (golden parity). Running out or a size mismatch is an error. */
public final class ArrayNoiseSource implements NoiseSource {

    private final Deque<float[]> arrays;
    private int used;

    public ArrayNoiseSource(List<float[]> arrays) {
        this.arrays = new ArrayDeque<>(arrays);
    }

    /** Splits a stacked [n, count] array into n arrays of {@code count}. */
    public static ArrayNoiseSource ofStacked(float[] stacked, int count) {
        if (count < 1 || stacked.length % count != 0) {
            throw new IllegalArgumentException(
                    "stacked noise of " + stacked.length + " values is not a multiple of " + count);
        }
        List<float[]> l = new ArrayList<>();
        for (int o = 0; o < stacked.length; o += count) {
            l.add(Arrays.copyOfRange(stacked, o, o + count));
        }
        return new ArrayNoiseSource(l);
    }

    @Override
    public float[] next(int count) {
        float[] a = arrays.pollFirst();
        if (a == null) {
            throw new IllegalStateException("noise source exhausted after " + used + " arrays");
        }
        if (a.length != count) {
            throw new IllegalStateException(
                    "noise array " + used + " has " + a.length + " values, " + count + " requested");
        }
        used++;
        return a;
    }

    public int used() {
        return used;
    }

    public int remaining() {
        return arrays.size();
    }
}
