package org.meddiff.gateway.infer.diffusion;

/**
 * Mixes a diffusion estimate with a classical one: {@code (1 - w) * own + w * Gaussian(reference)}, voxel by voxel
 * on one grid. The two err differently (the small diffusion model keeps part of the correlated low-dose texture;
 * the filter blurs edges), so on the training volume the mix beat each of them in PSNR and SSIM. Vendors ship the
 * same idea as a blending percentage of iterative reconstruction with FBP. Pure computation.
 */
public final class ClassicalBlend {

    /** The largest weight accepted: at 1 the output would be the classical filter alone. */
    public static final double MAX_WEIGHT = 0.9;

    private ClassicalBlend() {}

    /**
     * @param own        the diffusion estimate
     * @param reference  the input the classical estimate is made from (same grid as {@code own})
     * @param weight     share of the classical estimate, 0 (off: {@code own} is returned) .. {@link #MAX_WEIGHT}
     * @param sigmaZyx   the Gaussian's sigma per axis in voxels (z, y, x)
     */
    public static FloatVolume apply(FloatVolume own, FloatVolume reference, double weight, double[] sigmaZyx) {
        if (!(weight >= 0 && weight <= MAX_WEIGHT)) {
            throw new IllegalArgumentException("classical blend weight must be in [0, " + MAX_WEIGHT + "]: " + weight);
        }
        own.requireSameShape(reference, "classical blend reference");
        if (sigmaZyx.length != 3) {
            throw new IllegalArgumentException("classical blend sigma needs z, y, x: " + sigmaZyx.length + " values");
        }
        if (weight == 0) {
            return own;
        }
        return mix(own, GaussianFilter.apply(reference, sigmaZyx), weight);
    }

    /** (1 - w) * a + w * b, voxel by voxel (same shapes). */
    public static FloatVolume mix(FloatVolume a, FloatVolume b, double w) {
        a.requireSameShape(b, "mixed volume");
        float[] x = a.data();
        float[] y = b.data();
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) ((1 - w) * x[i] + w * y[i]);
        }
        return new FloatVolume(a.depth(), a.height(), a.width(), out);
    }
}
