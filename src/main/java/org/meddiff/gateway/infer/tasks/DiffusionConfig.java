package org.meddiff.gateway.infer.tasks;

import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.Pattern;

/**
 * Sampler settings of the diffusion tasks ({@code gateway.diffusion.*}). Step counts default low for
 * CPU workers; a GPU worker raises them (the paper uses 100 network evaluations for super-resolution).
 */
@ConfigMapping(prefix = "gateway.diffusion")
public interface DiffusionConfig {

    /** Sliding-window patch edge (multiple of 8), 0 = the model card's recommendation. */
    @WithDefault("0") @Min(0) @Max(256) int patch();

    /** Sliding-window stride, 0 = the card's recommendation. */
    @WithDefault("0") @Min(0) @Max(256) int stride();

    /** Force the region (HaN, chest, abdomen) instead of BodyPartExamined / the automatic guess. */
    Optional<@Pattern(regexp = "(?i)han|chest|abdomen", message = "must be HaN, chest or abdomen") String> region();

    @Valid Denoise denoise();

    @Valid SuperResolution superres();

    @Valid Anomaly anomaly();

    interface Denoise {
        /** Noise level of the input in the normalized scale; absent = automatic estimate (logged). */
        Optional<@DecimalMin("0.001") @DecimalMax("2.0") Double> sigmaN();

        /**
         * Factor on the automatic sigma_n estimate (not on a configured sigma-n): the z-difference estimator
         * under-reads correlated CT noise. Chosen on the training block for the shipped model.
         */
        @WithDefault("1.5") @DecimalMin("0.1") @DecimalMax("10.0") double sigmaNScale();

        @WithDefault("10") @DecimalMin("0.0") double lambda();

        /** DiffPIR noise share per step; 0 (deterministic) scored +0.9 dB over 0.3 on the training block. */
        @WithDefault("0.0") @DecimalMin("0.0") @DecimalMax("1.0") double zeta();

        @WithDefault("10") @Min(1) @Max(1000) int steps();

        /**
         * Sigma (mm) of an in-plane Gaussian on the sampler's 1 mm output: the small demo model leaves voxel-scale
         * texture that costs SSIM; 0.5 mm raised PSNR and SSIM on the training volume (docs/EVALUATION.md). 0 = off.
         */
        @WithDefault("0.0") @DecimalMin("0.0") @DecimalMax("3.0") double outputSmoothingMm();

        /**
         * Share of a classical estimate (the input under a 3-D Gaussian of {@link #classicalBlendSigmaMm()}) in the HU
         * output: output = (1 - w) * DiffPIR + w * Gaussian. The two err differently, so the mix beat both on the
         * training volume (docs/EVALUATION.md); 0 = the diffusion estimate alone.
         */
        @WithDefault("0.0") @DecimalMin("0.0") @DecimalMax("0.9") double classicalBlend();

        /**
         * Sigma (mm, per axis of the source grid) of that Gaussian; the Gaussian baseline's sigma on the training volume.
         * The bounds here and of the two keys above are DiffusionPipeline.DenoisePostProcessing's.
         */
        @WithDefault("0.75") @DecimalMin("0.05") @DecimalMax("10.0") double classicalBlendSigmaMm();
    }

    interface SuperResolution {
        @WithDefault("1.0") @DecimalMin("0.001") double sigmaN();

        @WithDefault("1.0") @DecimalMin("0.0") double lambda();

        @WithDefault("0.3") @DecimalMin("0.0") @DecimalMax("1.0") double zeta();

        @WithDefault("10") @Min(1) @Max(1000) int steps();

        /**
         * Project the final sample onto the thick slices (every slab then averages exactly to its measured
         * thick slice). Off reproduces the paper's plain DiffPIR output.
         */
        @WithDefault("true") boolean finalProjection();
    }

    interface Anomaly {
        /**
         * Diffusion step the series is noised to before the one-shot reconstruction (the paper: 950, large
         * enough to erase lesions with a well-trained model).
         */
        @WithDefault("950") @Min(1) @Max(999) int t();

        /**
         * Gaussian sigma (mm) applied to the signed difference x0 - x0' before its magnitude is taken, masked and
         * scored; 0 = the paper's raw map |x0 - x0'|.
         */
        @WithDefault("0") @DecimalMin("0.0") @DecimalMax("20.0") double smoothingSigmaMm();

        /** One-step reconstructions (independent noise, one network pass each) averaged into x0'; 1 = the paper. */
        @WithDefault("1") @Min(1) @Max(16) int draws();

        /** Series score at or above which a finding is URGENT (calibrate on your evaluation set). */
        @WithDefault("1.25") double urgentScore();

        /** Series score at or above which a finding is STAT. */
        @WithDefault("1.35") double statScore();

        @Valid Fusion fusion();
    }

    /**
     * The colour-fused series written beside the monochrome map: the CT in grey under a window, the map in colour
     * from red at {@code lower} to yellow at {@code upper} (map levels in window units, as the series score; by
     * default the URGENT and STAT thresholds), blended with {@code opacity} at lower rising to opaque at upper.
     */
    interface Fusion {
        @WithDefault("true") boolean enabled();

        @WithDefault("40") double windowCenter();

        @WithDefault("400") @DecimalMin("1.0") double windowWidth();

        @WithDefault("${gateway.diffusion.anomaly.urgent-score}") double lower();

        @WithDefault("${gateway.diffusion.anomaly.stat-score}") double upper();

        @WithDefault("0.5") @DecimalMin("0.05") @DecimalMax("1.0") double opacity();
    }
}
