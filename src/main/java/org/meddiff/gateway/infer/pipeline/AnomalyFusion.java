package org.meddiff.gateway.infer.pipeline;

import org.meddiff.gateway.volume.ColourVolume;
import org.meddiff.gateway.volume.Volume;

/**
 * The colour-fused anomaly series a radiologist reads beside the monochrome map: the CT in grey under a fixed
 * window, and where the map reaches {@code lower} a colour from red (at {@code lower}) to yellow (at
 * {@code upper} and above), blended over the grey with {@code opacity} at {@code lower} rising to full opacity at
 * {@code upper} (lower = upper: opaque yellow from there). With the shipped defaults lower and upper are the URGENT
 * and STAT series thresholds: colour marks the voxels at the levels the series score (a high quantile of the map
 * in the region of interest) is compared with, so a ROUTINE series shows little or none.
 */
public final class AnomalyFusion {

    /** Display settings; map levels in the map's own units (window units, as the series score). */
    public record Settings(double windowCenter, double windowWidth, double lower, double upper, double opacity) {
        public Settings {
            if (!(windowWidth > 0)) {
                throw new IllegalArgumentException("window width must be positive, got " + windowWidth);
            }
            if (!(upper >= lower)) {
                throw new IllegalArgumentException("the colour scale's upper level (" + upper
                        + ") must not lie below its lower " + "level (" + lower + ")");
            }
            if (!(opacity > 0 && opacity <= 1)) {
                throw new IllegalArgumentException("opacity must lie in (0, 1], got " + opacity);
            }
        }

        /** The same display with the map levels in units {@code factor} times larger (the written map's). */
        public Settings scaled(double factor) {
            return new Settings(windowCenter, windowWidth, lower * factor, upper * factor, opacity);
        }
    }

    private AnomalyFusion() {}

    /** {@code ct} in HU and {@code map} on the same grid. */
    public static ColourVolume fuse(Volume ct, Volume map, Settings s) {
        if (ct.voxels().length != map.voxels().length
                || ct.geometry().columns() != map.geometry().columns()
                || ct.geometry().rows() != map.geometry().rows()) {
            throw new IllegalArgumentException("the anomaly map must lie on the CT's grid");
        }
        float[] hu = ct.voxels();
        float[] m = map.voxels();
        if (3L * hu.length > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("the series is too large for one RGB array (" + hu.length + " voxels)");
        }
        byte[] rgb = new byte[3 * hu.length];
        double low = s.windowCenter() - s.windowWidth() / 2;
        double span = s.upper() - s.lower();
        for (int i = 0; i < hu.length; i++) {
            double grey = Float.isNaN(hu[i]) ? 0 : clamp((hu[i] - low) / s.windowWidth()) * 255;
            double r = grey, g = grey, b = grey;
            float level = m[i];
            if (level >= s.lower()) { // NaN compares false: no colour
                double t = span > 0 ? clamp((level - s.lower()) / span) : 1;
                double alpha = s.opacity() + (1 - s.opacity()) * t;
                r = (1 - alpha) * grey + alpha * 255;
                g = (1 - alpha) * grey + alpha * 255 * t;
                b = (1 - alpha) * grey;
            }
            rgb[3 * i] = (byte) Math.round(r);
            rgb[3 * i + 1] = (byte) Math.round(g);
            rgb[3 * i + 2] = (byte) Math.round(b);
        }
        return new ColourVolume(ct.geometry(), rgb);
    }

    private static double clamp(double v) {
        return v < 0 ? 0 : v > 1 ? 1 : v;
    }
}
