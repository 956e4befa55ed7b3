package org.meddiff.gateway.infer.tasks;

import java.util.Optional;

import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.Pattern;

import io.smallrye.config.ConfigMapping;
import org.meddiff.gateway.infer.pipeline.DiffusionPipeline;

/**
 * Sampler settings of the diffusion tasks ({@code gateway.diffusion.*}). Step counts default low for
 * CPU workers; a GPU worker raises them (the paper uses 100 network evaluations for super-resolution).
 */
@ConfigMapping(prefix = "gateway.diffusion")
public interface DiffusionConfig {

    /** Sliding-window patch edge (multiple of 8), 0 = the model card's recommendation. */
    @Min(0)
    @Max(256)
    int patch();

    /** Sliding-window stride, 0 = the card's recommendation. */
    @Min(0)
    @Max(256)
    int stride();

    /** Force the region (HaN, chest, abdomen) instead of BodyPartExamined / the automatic guess. */
    Optional<@Pattern(regexp = "(?i)han|chest|abdomen", message = "must be HaN, chest or abdomen") String> region();

    @Valid
    Denoise denoise();

    @Valid
    SuperResolution superres();

    @Valid
    Anomaly anomaly();

    interface Denoise {
        /** Noise level of the input in the normalized scale; absent = automatic estimate (logged). */
        Optional<@DecimalMin("0.001") @DecimalMax("2.0") Double> sigmaN();

        /**
         * Factor on the automatic sigma_n estimate (not on a configured sigma-n): the z-difference estimator
         * under-reads correlated CT noise. Chosen on the training block for the shipped model.
         */
        @DecimalMin("0.1")
        @DecimalMax("10.0")
        double sigmaNScale();

        @DecimalMin("0.0")
        double lambda();

        /** DiffPIR noise share per step; 0 (deterministic) scored +0.9 dB over 0.3 on the training block. */
        @DecimalMin("0.0")
        @DecimalMax("1.0")
        double zeta();

        @Min(1)
        @Max(1000)
        int steps();

        /**
         * Sigma (mm) of an in-plane Gaussian on the sampler's 1 mm output: the small demo model leaves voxel-scale
         * texture that costs SSIM; 0.5 mm raised PSNR and SSIM on the training volume (docs/EVALUATION.md). 0 = off.
         */
        @DecimalMin("0.0")
        @DecimalMax("3.0")
        double outputSmoothingMm();

        /**
         * Share of a classical estimate (the input under a 3-D Gaussian of {@link #classicalBlendSigmaMm()}) in the HU
         * output: output = (1 - w) * DiffPIR + w * Gaussian. The two err differently, so the mix beat both on the
         * training volume (docs/EVALUATION.md); 0 = the diffusion estimate alone.
         */
        @DecimalMin("0.0")
        @DecimalMax("0.9")
        double classicalBlend();

        /**
         * Sigma (mm, per axis of the source grid) of that Gaussian; the Gaussian baseline's sigma on the training volume.
         * The bounds here and of the two keys above are DiffusionPipeline.DenoisePostProcessing's.
         */
        @DecimalMin("0.05")
        @DecimalMax("10.0")
        double classicalBlendSigmaMm();

        /** As the pipeline takes them. */
        default DiffusionPipeline.DenoiseSettings settings() {
            return new DiffusionPipeline.DenoiseSettings(
                    sigmaN().orElse(null),
                    sigmaNScale(),
                    lambda(),
                    zeta(),
                    steps(),
                    new DiffusionPipeline.DenoisePostProcessing(
                            outputSmoothingMm(), classicalBlend(), classicalBlendSigmaMm()));
        }
    }

    interface SuperResolution {
        @DecimalMin("0.001")
        double sigmaN();

        @DecimalMin("0.0")
        double lambda();

        @DecimalMin("0.0")
        @DecimalMax("1.0")
        double zeta();

        @Min(1)
        @Max(1000)
        int steps();

        /**
         * Project the final sample onto the thick slices (every slab then averages exactly to its measured
         * thick slice). Off reproduces the paper's plain DiffPIR output.
         */
        boolean finalProjection();

        /** As the pipeline takes them, for thin slices {@code thinSpacingMm} apart. */
        default DiffusionPipeline.SuperResolutionSettings settings(double thinSpacingMm) {
            return new DiffusionPipeline.SuperResolutionSettings(
                    thinSpacingMm, sigmaN(), lambda(), zeta(), steps(), finalProjection());
        }
    }

    interface Anomaly {
        /**
         * Diffusion step the series is noised to before the one-shot reconstruction (the paper: 950, large
         * enough to erase lesions with a well-trained model).
         */
        @Min(1)
        @Max(999)
        int t();

        /**
         * Gaussian sigma (mm) applied to the signed difference x0 - x0' before its magnitude is taken, masked and
         * scored; 0 = the paper's raw map |x0 - x0'|.
         */
        @DecimalMin("0.0")
        @DecimalMax("20.0")
        double smoothingSigmaMm();

        /** One-step reconstructions (independent noise, one network pass each) averaged into x0'; 1 = the paper. */
        @Min(1)
        @Max(16)
        int draws();

        /** Series score at or above which a finding is URGENT (calibrate on your evaluation set). */
        double urgentScore();

        /** Series score at or above which a finding is STAT. */
        double statScore();

        @Valid
        Fusion fusion();

        /** As the pipeline takes them. */
        default DiffusionPipeline.AnomalySettings settings() {
            return new DiffusionPipeline.AnomalySettings(t(), smoothingSigmaMm(), draws());
        }
    }

    /**
     * The colour-fused series written beside the monochrome map: the CT in grey under a window, the map in colour
     * from red at {@code lower} to yellow at {@code upper} (map levels in window units, as the series score; by
     * default the URGENT and STAT thresholds), blended with {@code opacity} at lower rising to opaque at upper.
     */
    interface Fusion {
        boolean enabled();

        double windowCenter();

        @DecimalMin("1.0")
        double windowWidth();

        double lower();

        double upper();

        @DecimalMin("0.05")
        @DecimalMax("1.0")
        double opacity();
    }
}
