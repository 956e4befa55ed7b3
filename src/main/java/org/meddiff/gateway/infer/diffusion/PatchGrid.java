package org.meddiff.gateway.infer.diffusion;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Overlapping cubic patches covering a volume (spec 5): per axis of length n, patch P, stride S, the
 * positions 0, S, 2S, ... while {@code <= n - P}, then {@code n - P} if it is not already the last
 * (border-flush). Patches are the product of the three lists, z-major, then y, then x.
 * n &lt; P is an error: pad the volume first.
 */
public final class PatchGrid {

    /** Offset of one patch (voxel indices of its first corner). */
    public record Offset(int z, int y, int x) {}

    private final int patch;
    private final int stride;
    private final List<Offset> offsets;

    public PatchGrid(int depth, int height, int width, int patch, int stride) {
        if (patch < 1 || stride < 1) {
            throw new IllegalArgumentException("patch and stride must be >= 1: " + patch + ", " + stride);
        }
        this.patch = patch;
        this.stride = stride;
        int[] zs = positions(depth, patch, stride);
        int[] ys = positions(height, patch, stride);
        int[] xs = positions(width, patch, stride);
        List<Offset> l = new ArrayList<>(zs.length * ys.length * xs.length);
        for (int z : zs) {
            for (int y : ys) {
                for (int x : xs) {
                    l.add(new Offset(z, y, x));
                }
            }
        }
        this.offsets = Collections.unmodifiableList(l);
    }

    /** Border-flush positions along one axis. */
    public static int[] positions(int n, int patch, int stride) {
        if (n < patch) {
            throw new IllegalArgumentException(
                    "volume dimension " + n + " < patch size " + patch + ": pad the volume first");
        }
        int count = (n - patch) / stride + 1;
        boolean flush = (count - 1) * stride != n - patch;
        int[] p = new int[count + (flush ? 1 : 0)];
        for (int i = 0; i < count; i++) {
            p[i] = i * stride;
        }
        if (flush) {
            p[count] = n - patch;
        }
        return p;
    }

    public int patch() {
        return patch;
    }

    public int stride() {
        return stride;
    }

    public List<Offset> offsets() {
        return offsets;
    }

    public int size() {
        return offsets.size();
    }
}
