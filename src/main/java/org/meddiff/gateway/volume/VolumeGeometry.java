package org.meddiff.gateway.volume;

/**
 * Patient-space geometry of a regular volume, in DICOM terms (LPS, millimetres).
 *
 * @param origin          ImagePositionPatient of the first voxel of the first slice
 * @param rowDirection    unit vector along a row (first triplet of ImageOrientationPatient)
 * @param columnDirection unit vector down a column (second triplet)
 * @param sliceDirection  unit vector from one slice to the next (row x column, sign from the positions)
 * @param spacingX        distance between columns (PixelSpacing[1])
 * @param spacingY        distance between rows (PixelSpacing[0])
 * @param spacingZ        distance between slice centres along sliceDirection
 * @param sliceThickness  nominal reconstructed slice thickness (may differ from spacingZ)
 */
public record VolumeGeometry(
        int columns,
        int rows,
        int slices,
        double[] origin,
        double[] rowDirection,
        double[] columnDirection,
        double[] sliceDirection,
        double spacingX,
        double spacingY,
        double spacingZ,
        double sliceThickness) {

    /** Patient position of slice {@code z} (its ImagePositionPatient). */
    public double[] slicePosition(int z) {
        return new double[] {
            origin[0] + sliceDirection[0] * spacingZ * z,
            origin[1] + sliceDirection[1] * spacingZ * z,
            origin[2] + sliceDirection[2] * spacingZ * z
        };
    }

    /** The same in-plane grid with a different slice count, spacing and thickness. */
    public VolumeGeometry withSlices(int newSlices, double newSpacingZ, double newThickness) {
        return new VolumeGeometry(
                columns,
                rows,
                newSlices,
                origin,
                rowDirection,
                columnDirection,
                sliceDirection,
                spacingX,
                spacingY,
                newSpacingZ,
                newThickness);
    }
}
