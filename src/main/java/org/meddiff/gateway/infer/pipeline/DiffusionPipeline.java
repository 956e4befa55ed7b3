package org.meddiff.gateway.infer.pipeline;

import java.util.Locale;
import java.util.function.Supplier;

import org.jboss.logging.Logger;
import org.meddiff.gateway.infer.diffusion.AnomalyMap;
import org.meddiff.gateway.infer.diffusion.ClassicalBlend;
import org.meddiff.gateway.infer.diffusion.CosineSchedule;
import org.meddiff.gateway.infer.diffusion.DiffPirDenoiser;
import org.meddiff.gateway.infer.diffusion.DiffPirSuperResolver;
import org.meddiff.gateway.infer.diffusion.FloatVolume;
import org.meddiff.gateway.infer.diffusion.GaussianFilter;
import org.meddiff.gateway.infer.diffusion.NoiseLevelEstimator;
import org.meddiff.gateway.infer.diffusion.NoiseSource;
import org.meddiff.gateway.infer.diffusion.SamplerProgress;
import org.meddiff.gateway.infer.diffusion.SamplerResult;
import org.meddiff.gateway.infer.diffusion.SlidingWindowEstimator;
import org.meddiff.gateway.infer.model.ModelCard;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.model.OnnxModel;
import org.meddiff.gateway.volume.Volume;

/**
 * Series volume in, series volume out: {@link CtPreprocessing} + the samplers on the registry's models.
 * The building block for the gateway's diffusion tasks (which add DICOM reading/writing and events).
 *
 * <p>Patch and stride default to the card's recommended sliding window; the schedule is the card's table.
 * Sessions come from the {@link ModelRegistry} and are reused across calls.
 */
public final class DiffusionPipeline {

    private static final Logger LOG = Logger.getLogger(DiffusionPipeline.class);

    private final ModelRegistry registry;
    private final int batchSize;
    private final int patchOverride;
    private final int strideOverride;

    /**
     * @param batchSize patches per network call
     * @param patch     sliding-window patch, or 0 for the card's recommendation
     * @param stride    stride, or 0 for the card's recommendation (patch / 2 when the patch is overridden)
     */
    public DiffusionPipeline(ModelRegistry registry, int batchSize, int patch, int stride) {
        this.registry = registry;
        this.batchSize = batchSize;
        this.patchOverride = patch;
        this.strideOverride = stride;
    }

    /**
     * The DiffPIR denoising settings of a job: {@code sigmaN} null means the automatic estimate times
     * {@code estimateScale}; {@code post} is applied to the output.
     */
    public record DenoiseSettings(
            Double sigmaN, double estimateScale, double lambda, double zeta, int steps, DenoisePostProcessing post) {
        public DenoiseSettings withSteps(int n) {
            return new DenoiseSettings(sigmaN, estimateScale, lambda, zeta, n, post);
        }
    }

    /** The ControlNet DiffPIR settings of a super-resolution job ({@code thinSpacingMm}: the target slice spacing). */
    public record SuperResolutionSettings(
            double thinSpacingMm, double sigmaN, double lambda, double zeta, int steps, boolean finalProjection) {
        public SuperResolutionSettings withSteps(int n) {
            return new SuperResolutionSettings(thinSpacingMm, sigmaN, lambda, zeta, n, finalProjection);
        }
    }

    /** The anomaly map's settings: noise to step {@code t}, {@code draws} reconstructions averaged, smoothing in mm. */
    public record AnomalySettings(int t, double smoothingSigmaMm, int draws) {}

    /**
     * What happens to the DiffPIR result after sampling. {@code outputSmoothingMm}: sigma (mm) of an in-plane Gaussian on
     * the sampler's 1 mm output before it goes back to the source grid (the small model's residual voxel-scale texture);
     * {@code classicalBlend}: share w of a classical estimate in the HU output on the source grid, output = (1 - w) *
     * DiffPIR + w * Gaussian(source, {@code classicalBlendSigmaMm}) ({@link ClassicalBlend}). 0 turns either off. Both
     * are chosen on the training volume (onnx-export/meddiff/tune.py, docs/EVALUATION.md).
     */
    public record DenoisePostProcessing(double outputSmoothingMm, double classicalBlend, double classicalBlendSigmaMm) {
        public static final DenoisePostProcessing NONE = new DenoisePostProcessing(0, 0, 0);
        /** Bounds, the same as the configuration's (DiffusionConfig.Denoise). */
        public static final double MAX_SMOOTHING_MM = 3.0;

        public static final double MIN_BLEND_SIGMA_MM = 0.05;
        public static final double MAX_BLEND_SIGMA_MM = 10.0;

        public DenoisePostProcessing {
            if (!(outputSmoothingMm >= 0 && outputSmoothingMm <= MAX_SMOOTHING_MM)) {
                throw new IllegalArgumentException(
                        "output smoothing must be in [0, " + MAX_SMOOTHING_MM + "] mm: " + outputSmoothingMm);
            }
            if (!(classicalBlend >= 0 && classicalBlend <= ClassicalBlend.MAX_WEIGHT)) {
                throw new IllegalArgumentException(
                        "classical blend must be in [0, " + ClassicalBlend.MAX_WEIGHT + "]: " + classicalBlend);
            }
            // the sigma only matters with a blend: NONE and smoothingOnly leave it 0
            if (classicalBlend > 0
                    && !(classicalBlendSigmaMm >= MIN_BLEND_SIGMA_MM && classicalBlendSigmaMm <= MAX_BLEND_SIGMA_MM)) {
                throw new IllegalArgumentException("classical blend sigma must be in [" + MIN_BLEND_SIGMA_MM + ", "
                        + MAX_BLEND_SIGMA_MM + "] mm: " + classicalBlendSigmaMm);
            }
        }

        public static DenoisePostProcessing smoothingOnly(double outputSmoothingMm) {
            return new DenoisePostProcessing(outputSmoothingMm, 0, 0);
        }
    }

    /**
     * Denoising result: HU on the source grid ({@code output}, after the post-processing) plus what was used. The
     * evaluation shows each stage, a job needs one: {@link #unsmoothed()} (the DiffPIR result alone) and
     * {@link #unblended()} (with the output smoothing, without the classical blend) are brought back to the source
     * grid again only when asked, from the sampler's 1 mm result, so that a job does not hold a second source-sized
     * volume; each is {@code output} itself when no later stage is on.
     */
    public record DenoiseResult(
            Volume output,
            double sigmaNUsed,
            double sigmaNEstimate,
            String sigmaNSource,
            SamplerResult sampler,
            Supplier<Volume> withoutSmoothing,
            Supplier<Volume> withoutBlend) {
        public Volume unsmoothed() {
            return withoutSmoothing.get();
        }

        public Volume unblended() {
            return withoutBlend.get();
        }
    }

    /** Super-resolution result: HU on the thin grid. */
    public record SuperResolutionResult(Volume output, int sf, SamplerResult sampler) {}

    /** Anomaly result: the map (normalized-scale |x0 - x0'|) on the source grid and the series score. */
    public record AnomalyResult(FloatVolume mapOnSourceGrid, double score, AnomalyMap.Result onGrid1mm) {}

    private int patch(ModelCard card) {
        return patchOverride > 0 ? patchOverride : card.recommendedPatch();
    }

    private int stride(ModelCard card) {
        if (strideOverride > 0) {
            return strideOverride;
        }
        return patchOverride > 0 ? Math.max(1, patchOverride / 2) : card.recommendedStride();
    }

    private SlidingWindowEstimator estimator(OnnxModel m) {
        ModelCard c = m.card();
        return new SlidingWindowEstimator(m, patch(c), stride(c), c.peL(), batchSize);
    }

    /**
     * DiffPIR denoising. {@code sigmaN} null: the automatic estimate ({@link NoiseLevelEstimator} inside the
     * body) times {@code estimateScale} is used; both values are logged either way. The scale exists because
     * the estimator reads noise from differences between adjacent slices, while reconstructed CT noise is
     * spatially correlated: a white-noise denoiser needs a higher level than the z-difference estimate.
     * {@code post}: the output smoothing and the classical blend ({@link DenoisePostProcessing}).
     */
    public DenoiseResult denoise(
            Volume source, Region region, DenoiseSettings settings, NoiseSource noise, SamplerProgress progress) {
        Double sigmaN = settings.sigmaN();
        double estimateScale = settings.estimateScale();
        double lambda = settings.lambda();
        double zeta = settings.zeta();
        int steps = settings.steps();
        DenoisePostProcessing post = settings.post();
        OnnxModel m = registry.model(ModelRegistry.BASE);
        CosineSchedule sch = m.card().cosineSchedule();
        CtPreprocessing pre = new CtPreprocessing(patch(m.card()), m.card().spatialMultiple());
        CtPreprocessing.Prepared p = pre.prepare(source, region);
        double est = estimateSigmaN(source, region);
        double used;
        String from;
        if (sigmaN != null) {
            used = sigmaN;
            from = "configured";
        } else if (Double.isFinite(est) && est > 0) {
            used = est * estimateScale;
            from = estimateScale == 1.0
                    ? "estimated"
                    : String.format(Locale.ROOT, "estimated %.4f x %.2f", est, estimateScale);
        } else {
            used = 0.15;
            from = "paper default (no estimate possible)";
        }
        int tStart = sch.tStartFor(used);
        LOG.info(String.format(
                Locale.ROOT,
                "denoise: sigma_n %.4f (%s; automatic estimate %.4f), t_start %d, lambda %.3g, zeta %.3g, %d steps, "
                        + "output smoothing %.2g mm, classical blend %.2g (Gaussian %.2g mm), region %s",
                used,
                from,
                est,
                tStart,
                lambda,
                zeta,
                steps,
                post.outputSmoothingMm(),
                post.classicalBlend(),
                post.classicalBlendSigmaMm(),
                region.cardName()));
        SamplerResult r = new DiffPirDenoiser(sch, estimator(m))
                .denoise(
                        p.normalized(),
                        p.anatomy(),
                        region.index(),
                        new DiffPirDenoiser.Params(used, lambda, zeta, steps),
                        noise,
                        progress);
        Supplier<Volume> raw = () -> pre.toSourceGrid(r.output(), p, source);
        Supplier<Volume> smoothed = post.outputSmoothingMm() == 0
                ? raw
                : () -> pre.toSourceGrid(
                        GaussianFilter.applyInPlane(r.output(), post.outputSmoothingMm() / CtPreprocessing.MM),
                        p,
                        source);
        Volume unblended = smoothed.get();
        Volume output = post.classicalBlend() == 0 ? unblended : blend(unblended, source, post);
        Supplier<Volume> withoutBlend = post.classicalBlend() == 0 ? () -> output : smoothed;
        Supplier<Volume> withoutSmoothing = post.outputSmoothingMm() == 0 ? withoutBlend : raw;
        return new DenoiseResult(output, used, est, from, r, withoutSmoothing, withoutBlend);
    }

    /** The classical blend on the source grid, in HU: the Gaussian's sigma in mm becomes voxels per axis of that grid. */
    private static Volume blend(Volume own, Volume source, DenoisePostProcessing post) {
        double[] sp = CtPreprocessing.spacingZyx(source.geometry());
        double[] sigma = new double[3];
        for (int a = 0; a < 3; a++) {
            sigma[a] = post.classicalBlendSigmaMm() / sp[a];
        }
        FloatVolume mixed = ClassicalBlend.apply(
                CtPreprocessing.asFloatVolume(own),
                CtPreprocessing.asFloatVolume(source),
                post.classicalBlend(),
                sigma);
        return new Volume(own.geometry(), mixed.data());
    }

    /**
     * Automatic sigma_n of a series: {@link NoiseLevelEstimator} on the SOURCE grid (window-normalized, inside
     * the body of the HU-threshold rule). The source slices are independent reconstructions; after linear
     * resampling to 1 mm from thicker slices, interpolated slices are averages of their neighbours and the
     * z residual collapses (it reads ~0 from 2 mm slices).
     */
    public static double estimateSigmaN(Volume source, Region region) {
        FloatVolume hu = CtPreprocessing.asFloatVolume(source);
        return NoiseLevelEstimator.estimate(CtPreprocessing.normalize(hu, region), AnatomyClasses.map(hu));
    }

    /**
     * DiffPIR + ControlNet thick-to-thin along z; sf = round(spacingZ / thinSpacingMm). {@code finalProjection}:
     * project the result onto the thick slices (exact slab means, {@link CtPreprocessing#toThinGrid}).
     */
    public SuperResolutionResult superResolve(
            Volume thick,
            Region region,
            SuperResolutionSettings settings,
            NoiseSource noise,
            SamplerProgress progress) {
        double thinSpacingMm = settings.thinSpacingMm();
        double sigmaN = settings.sigmaN();
        double lambda = settings.lambda();
        double zeta = settings.zeta();
        int steps = settings.steps();
        OnnxModel m = registry.model(ModelRegistry.SR_CONTROLNET);
        CosineSchedule sch = m.card().cosineSchedule();
        CtPreprocessing pre = new CtPreprocessing(patch(m.card()), m.card().spatialMultiple());
        ThinCondition condition = ThinCondition.fromCard(m.card().srConditionOrDefault());
        CtPreprocessing.PreparedThick p = pre.prepareThick(thick, region, thinSpacingMm, condition);
        LOG.info(String.format(
                Locale.ROOT,
                "super-resolution: sf %d (%.2f mm -> %.2f mm), condition %s, sigma_n %.3g, t_start %d, lambda %.3g, "
                        + "zeta %.3g, %d steps, region %s",
                p.sf(),
                thick.geometry().spacingZ(),
                p.thinSpacing(),
                condition.name().toLowerCase(Locale.ROOT),
                sigmaN,
                sch.tStartFor(sigmaN),
                lambda,
                zeta,
                steps,
                region.cardName()));
        SamplerResult r = new DiffPirSuperResolver(sch, estimator(m))
                .superResolve(
                        p.thickNormalized(),
                        p.conditionThin(),
                        p.anatomyThin(),
                        region.index(),
                        new DiffPirSuperResolver.Params(p.sf(), sigmaN, lambda, zeta, steps, -1),
                        noise,
                        progress);
        return new SuperResolutionResult(pre.toThinGrid(r.output(), p, settings.finalProjection()), p.sf(), r);
    }

    /**
     * One-shot anomaly map at step t ({@link AnomalyMap}: the paper's 950, {@code draws} reconstructions averaged,
     * the signed difference smoothed by {@code smoothingSigmaMm}). {@code roi1mm}: a region-of-interest mask on the
     * padded 1 mm grid of {@link CtPreprocessing#prepare}, or null for the soft-tissue class of the anatomy map.
     */
    public AnomalyResult anomaly(
            Volume source, Region region, FloatVolume roi1mm, AnomalySettings settings, NoiseSource noise) {
        int t = settings.t();
        double smoothingSigmaMm = settings.smoothingSigmaMm();
        int draws = settings.draws();
        OnnxModel m = registry.model(ModelRegistry.BASE);
        CosineSchedule sch = m.card().cosineSchedule();
        CtPreprocessing pre = new CtPreprocessing(patch(m.card()), m.card().spatialMultiple());
        CtPreprocessing.Prepared p = pre.prepare(source, region);
        FloatVolume roi = roi1mm != null ? roi1mm : AnatomyClasses.mask(p.anatomy(), AnatomyClasses.SOFT_TISSUE);
        // padding voxels never count
        float[] rd = roi.data().clone();
        for (int z = 0; z < roi.depth(); z++)
            for (int y = 0; y < roi.height(); y++)
                for (int x = 0; x < roi.width(); x++) {
                    if (z >= p.sizeZ() || y >= p.sizeY() || x >= p.sizeX()) {
                        rd[roi.index(z, y, x)] = 0;
                    }
                }
        FloatVolume mask = new FloatVolume(roi.depth(), roi.height(), roi.width(), rd);
        // the map is computed on the 1 mm grid: sigma in mm = sigma in voxels
        AnomalyMap.Result r = new AnomalyMap(sch, estimator(m), t, AnomalyMap.QUANTILE_DEFAULT, smoothingSigmaMm, draws)
                .compute(p.normalized(), p.anatomy(), region.index(), mask, noise);
        LOG.info(String.format(
                Locale.ROOT,
                "anomaly: t %d, %d draw(s), map smoothing %.1f mm, series score (q %.2f) %.4f, region %s",
                r.t(),
                r.draws(),
                r.smoothingSigma(),
                r.quantile(),
                r.score(),
                region.cardName()));
        return new AnomalyResult(pre.mapToSourceGrid(r.map(), p), r.score(), r);
    }
}
