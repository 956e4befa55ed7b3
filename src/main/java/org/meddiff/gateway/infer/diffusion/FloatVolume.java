package org.meddiff.gateway.infer.diffusion;

import java.util.Arrays;

/**
 * A float32 scalar field on a regular grid, C order [D, H, W] = [z, y, x]: voxel (z, y, x) lives at
 * {@code data[(z * height + y) * width + x]}. The diffusion code works on these (normalized window
 * scale on the 1 mm grid); no geometry, no I/O.
 */
public record FloatVolume(int depth, int height, int width, float[] data) {
    public FloatVolume {
        if (depth < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("empty volume " + depth + "x" + height + "x" + width);
        }
        if (data.length != (long) depth * height * width) {
            throw new IllegalArgumentException(
                    "data length " + data.length + " does not match " + depth + "x" + height + "x" + width);
        }
    }

    public static FloatVolume zeros(int depth, int height, int width) {
        return new FloatVolume(
                depth, height, width, new float[Math.multiplyExact(Math.multiplyExact(depth, height), width)]);
    }

    public int size() {
        return data.length;
    }

    public int index(int z, int y, int x) {
        return (z * height + y) * width + x;
    }

    public float get(int z, int y, int x) {
        return data[index(z, y, x)];
    }

    public boolean sameShape(FloatVolume o) {
        return o.depth == depth && o.height == height && o.width == width;
    }

    public void requireSameShape(FloatVolume o, String what) {
        if (!sameShape(o)) {
            throw new IllegalArgumentException(what + " is " + o.shapeString() + ", expected " + shapeString());
        }
    }

    public String shapeString() {
        return depth + "x" + height + "x" + width;
    }

    public FloatVolume copy() {
        return new FloatVolume(depth, height, width, data.clone());
    }

    /** Copies the cube of edge {@code p} at offset (oz, oy, ox) into {@code dst} starting at {@code dstOffset}. */
    public void copyPatch(int oz, int oy, int ox, int p, float[] dst, int dstOffset) {
        int k = dstOffset;
        for (int z = 0; z < p; z++) {
            for (int y = 0; y < p; y++) {
                System.arraycopy(data, index(oz + z, oy + y, ox), dst, k, p);
                k += p;
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FloatVolume v && sameShape(v) && Arrays.equals(data, v.data);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * depth + height) + width) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "FloatVolume[" + shapeString() + "]";
    }
}
