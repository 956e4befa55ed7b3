package org.meddiff.gateway.volume;

/**
 * An 8-bit RGB image stack on a regular grid, for reading only (not HU): pixel (x, y, z) is
 * {@code rgb[3 * ((z * rows + y) * columns + x) + c]} with c = 0, 1, 2 for red, green, blue.
 */
public record ColourVolume(VolumeGeometry geometry, byte[] rgb) {
    public ColourVolume {
        long expected = 3L * geometry.columns() * geometry.rows() * geometry.slices();
        if (rgb.length != expected) {
            throw new IllegalArgumentException("RGB byte count " + rgb.length + " does not match geometry " + expected);
        }
    }
}
