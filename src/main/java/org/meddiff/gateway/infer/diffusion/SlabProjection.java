package org.meddiff.gateway.infer.diffusion;

/**
 * Exact data consistency for the slab-average degradation of super-resolution: {@code x + H^T(y - H x)}.
 *
 * <p>H averages each slab of sf thin slices (the last slab may be partial) and H^T replicates a thick value
 * over its slab, so H H^T is the identity on thick slices and the projection leaves every slab mean equal to
 * the measured thick slice while changing nothing that H cannot see (the within-slab detail). DiffPIR's own
 * data step is weighted by 1 / (1 + rho_t) and fades out as t -&gt; 0 (rho grows like 1 / sigma_bar_t^2), so
 * its last steps are free to drift from the thick input; this projection, applied once to the final
 * sample, removes that drift. Pure computation on any scale (normalized or HU).
 */
public final class SlabProjection {

    private SlabProjection() {}

    /**
     * @param thin  thin-slice estimate, ceil(thin / sf) slabs
     * @param thick measured thick slices on the same in-plane grid and scale
     */
    public static FloatVolume project(FloatVolume thin, FloatVolume thick, int sf) {
        FloatVolume hx = DiffPirSuperResolver.slabAverage(thin, sf);
        hx.requireSameShape(thick, "thick input");
        float[] r = hx.data();
        float[] y = thick.data();
        for (int k = 0; k < r.length; k++) {
            r[k] = y[k] - r[k];
        }
        float[] back = DiffPirSuperResolver.replicate(hx, thin.depth(), sf).data();
        float[] x = thin.data();
        float[] out = new float[x.length];
        for (int k = 0; k < x.length; k++) {
            out[k] = x[k] + back[k];
        }
        return new FloatVolume(thin.depth(), thin.height(), thin.width(), out);
    }
}
