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

    private ClassicalBlend() {
    }

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
        if (own.depth() != reference.depth() || own.height() != reference.height() || own.width() != reference.width()) {
            throw new IllegalArgumentException("blend of " + own.shapeString() + " with a reference of " + reference.shapeString());
        }
        if (weight == 0) {
            return own;
        }
        float[] g = GaussianFilter.apply(reference, sigmaZyx).data();
        float[] o = own.data();
        float[] out = new float[o.length];
        for (int i = 0; i < o.length; i++) {
            out[i] = (float) ((1 - weight) * o[i] + weight * g[i]);
        }
        return new FloatVolume(own.depth(), own.height(), own.width(), out);
    }
}
