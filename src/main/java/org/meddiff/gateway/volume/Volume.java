package org.meddiff.gateway.volume;

/**
 * A CT volume in Hounsfield units on a regular grid. Voxel (x, y, z) lives at
 * {@code voxels[(z * rows + y) * columns + x]}; x runs along a row (DICOM column index),
 * y down the rows, z across slices in the order of {@link VolumeGeometry#sliceDirection()}.
 */
public record Volume(VolumeGeometry geometry, float[] voxels) {
    public Volume {
        long expected = (long) geometry.columns() * geometry.rows() * geometry.slices();
        if (voxels.length != expected) {
            throw new IllegalArgumentException("voxel count " + voxels.length + " does not match geometry " + expected);
        }
    }

    public float at(int x, int y, int z) {
        return voxels[(z * geometry.rows() + y) * geometry.columns() + x];
    }
}
