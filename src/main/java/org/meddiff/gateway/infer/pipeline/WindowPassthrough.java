package org.meddiff.gateway.infer.pipeline;

import org.meddiff.gateway.infer.diffusion.FloatVolume;

/**
 * The network sees and produces only its region's window ([-1, 1] after normalization: abdomen -120..240 HU);
 * everything outside it (bone, air, lung, most fat in the abdomen window) reaches the model clipped. Writing
 * the model output straight back would flatten bone to the upper window edge and air to the lower one: a
 * derived series a radiologist could not use outside soft tissue. Where the model output sits on a window
 * edge, or where the reference itself lies outside the window (the model saw that voxel clipped, so it had no
 * information there), the derived series carries the reference value instead (the source HU for denoising, the
 * classical estimate for super-resolution): the model changes what it can represent and nothing else.
 *
 * <p>A noisy reference (the low-dose source of denoising) crosses a window edge at random wherever the anatomy
 * lies near it (fat at -110 HU in the abdomen window reads -130 HU in one voxel and -95 HU in the next); taking
 * the noisy value in every such voxel puts the noise back. {@link #merge(FloatVolume, Region, FloatVolume, double)}
 * therefore takes a margin: the reference counts as outside only when it lies that far beyond the edge
 * (normalized units; 0.5 = 90 HU for the abdomen window), while a model output on the edge always passes the
 * reference through.
 */
public final class WindowPassthrough {

    /** Normalized values within this distance of -1 or 1 count as clipped by the window. */
    static final float EDGE = 1e-3f;

    private WindowPassthrough() {}

    /**
     * @param modelNormalized model output in the window scale
     * @param region          window for the normalized -&gt; HU conversion
     * @param referenceHu     HU values used where the model output is on a window edge or the reference is outside
     *                        the window (same shape)
     * @return HU: the model output inside the window, the reference elsewhere
     */
    public static FloatVolume merge(FloatVolume modelNormalized, Region region, FloatVolume referenceHu) {
        return merge(modelNormalized, region, referenceHu, 0);
    }

    /** @param referenceMargin how far beyond a window edge (normalized units, &gt;= 0) the reference must lie to count */
    public static FloatVolume merge(
            FloatVolume modelNormalized, Region region, FloatVolume referenceHu, double referenceMargin) {
        modelNormalized.requireSameShape(referenceHu, "reference");
        float[] x = modelNormalized.data();
        float[] ref = referenceHu.data();
        float[] out = new float[x.length];
        float m = margin(referenceMargin);
        for (int i = 0; i < x.length; i++) {
            out[i] = takesReference(x[i], region.normalizeUnclipped(ref[i]), m) ? ref[i] : region.denormalize(x[i]);
        }
        return new FloatVolume(modelNormalized.depth(), modelNormalized.height(), modelNormalized.width(), out);
    }

    static boolean onEdge(float x) {
        return x <= -1f + EDGE || x >= 1f - EDGE;
    }

    private static boolean takesReference(float model, float referenceNormalizedUnclipped, float margin) {
        return onEdge(model)
                || referenceNormalizedUnclipped <= -1f + EDGE - margin
                || referenceNormalizedUnclipped >= 1f - EDGE + margin;
    }

    private static float margin(double m) {
        if (!(m >= 0) || Double.isInfinite(m)) {
            throw new IllegalArgumentException("reference margin must be >= 0: " + m);
        }
        return (float) m;
    }

    /** Share of voxels {@link #merge} takes from the reference (logged, so that a wrong region shows). */
    public static double passthroughFraction(FloatVolume modelNormalized, Region region, FloatVolume referenceHu) {
        return passthroughFraction(modelNormalized, region, referenceHu, 0);
    }

    public static double passthroughFraction(
            FloatVolume modelNormalized, Region region, FloatVolume referenceHu, double referenceMargin) {
        modelNormalized.requireSameShape(referenceHu, "reference");
        float[] x = modelNormalized.data();
        float[] ref = referenceHu.data();
        float m = margin(referenceMargin);
        long n = 0;
        for (int i = 0; i < x.length; i++) {
            if (takesReference(x[i], region.normalizeUnclipped(ref[i]), m)) {
                n++;
            }
        }
        return x.length == 0 ? 0 : (double) n / x.length;
    }
}
