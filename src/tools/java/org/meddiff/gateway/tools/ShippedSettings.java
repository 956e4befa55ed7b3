package org.meddiff.gateway.tools;

import java.util.Locale;
import java.util.Map;

import org.meddiff.gateway.config.ShippedConfig;
import org.meddiff.gateway.events.TriagePriority;
import org.meddiff.gateway.infer.tasks.DiffusionConfig;

/**
 * The sampler settings the gateway ships with ({@code gateway.diffusion.*} read through SmallRye Config like the
 * service reads them), so that {@link Evaluation} and the calibration score exactly what a deployment runs.
 */
final class ShippedSettings {
    private final DiffusionConfig config;

    private ShippedSettings(DiffusionConfig config) {
        this.config = config;
    }

    static ShippedSettings load() {
        return new ShippedSettings(ShippedConfig.load(DiffusionConfig.class, Map.of()));
    }

    DiffusionConfig.Denoise denoise() {
        return config.denoise();
    }

    DiffusionConfig.SuperResolution superres() {
        return config.superres();
    }

    DiffusionConfig.Anomaly anomaly() {
        return config.anomaly();
    }

    /** The triage priority the anomaly task gives a series score. */
    TriagePriority priority(double score) {
        return TriagePriority.of(score, anomaly().urgentScore(), anomaly().statScore());
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "denoise: steps %d, sigma_n scale %s, lambda %s, zeta %s, output smoothing %s mm, "
                        + "classical blend %s (sigma %s mm); superres: steps %d, sigma_n %s, lambda %s, zeta %s; "
                        + "anomaly: t %d, smoothing %s mm, draws %d, URGENT >= %s, STAT >= %s",
                denoise().steps(),
                denoise().sigmaNScale(),
                denoise().lambda(),
                denoise().zeta(),
                denoise().outputSmoothingMm(),
                denoise().classicalBlend(),
                denoise().classicalBlendSigmaMm(),
                superres().steps(),
                superres().sigmaN(),
                superres().lambda(),
                superres().zeta(),
                anomaly().t(),
                anomaly().smoothingSigmaMm(),
                anomaly().draws(),
                anomaly().urgentScore(),
                anomaly().statScore());
    }
}
