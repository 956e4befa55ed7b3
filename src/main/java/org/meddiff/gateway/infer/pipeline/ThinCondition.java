package org.meddiff.gateway.infer.pipeline;

import java.util.Locale;

import org.meddiff.gateway.infer.diffusion.DiffPirSuperResolver;
import org.meddiff.gateway.infer.diffusion.FloatVolume;

/**
 * How super-resolution brings the thick input to the thin grid before sampling: the ControlNet's condition,
 * the DiffPIR starting point and the volume the anatomy map is computed from. A ControlNet is trained with one
 * of them and its card names it ({@code sr_condition}); the Python side is {@code meddiff.thinslices}.
 */
public enum ThinCondition {
    /** H^T: thin slice z takes thick slice floor(z / sf) (the spec's pseudo-inverse). */
    REPLICATE,
    /**
     * {@link ClassicalThinSlices}: cubic between slab centres plus the exact slab projection. The network then
     * starts from an estimate as good as the cubic baseline and only has to add the within-slab detail.
     */
    CLASSICAL;

    /** @param thick thick slices (HU or normalized), ceil(thin / sf) of them */
    public FloatVolume toThin(FloatVolume thick, int thin, int sf) {
        return switch (this) {
            case REPLICATE -> DiffPirSuperResolver.replicate(thick, thin, sf);
            case CLASSICAL -> ClassicalThinSlices.estimate(thick, thin, sf);
        };
    }

    /** The card's value ("replicate" / "classical"); anything else is a clear error naming it. */
    public static ThinCondition fromCard(String value) {
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "model card sr_condition '" + value + "' is not one of replicate, classical", e);
        }
    }
}
