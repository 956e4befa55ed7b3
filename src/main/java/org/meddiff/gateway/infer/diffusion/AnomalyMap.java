package org.meddiff.gateway.infer.diffusion;

import java.util.Arrays;

/**
 * One-shot anomaly map (spec 10; MedDiff-FM task 3, no fine-tuning): diffuse x0 to a fixed step t (the paper's 950:
 * a small t fails to erase lesions; the gateway ships 400, gateway.diffusion.anomaly.t, chosen on a training volume for
 * its small demo model), predict x0' in ONE smoothed network evaluation,
 * {@code map = |x0 - x0'|} inside the region-of-interest mask (0 outside).
 *
 * <p>Series score: the {@code quantile} (default 0.99) of the map inside the mask: values sorted
 * ascending, element {@code floor(q * (n - 1))}; 0 for an empty mask. A high quantile rather than the
 * maximum, so that a handful of noisy voxels does not decide; a lesion of at least ~1 % of the ROI
 * volume lifts it. One noise array consumed per draw.
 *
 * <p>Optional smoothing: the SIGNED difference {@code x0 - x0'} is filtered with a 3-D Gaussian of
 * {@code smoothingSigma} voxels over the whole volume, then its magnitude is taken and the mask applied:
 * {@code map = |G * (x0 - x0')|}. A lesion is a blob of one sign while the residual of a reconstruction is
 * voxel-scale texture of both signs; averaging before the magnitude cancels the texture and keeps the blob
 * (a matched filter; smoothing the magnitude instead keeps the texture's mean). Both hypo- and hyperdense
 * lesions count. 0 = the paper's raw map {@code |x0 - x0'|}.
 *
 * <p>Optional draws: {@code x0'} is the mean of {@code draws} one-step reconstructions from independent
 * noise (one network evaluation each), which lowers the reconstruction's noise-driven variance. 1 = the paper.
 */
public final class AnomalyMap {

    /** The paper's step; the gateway's own comes from its configuration. */
    public static final int T_PAPER = 950;

    public static final double QUANTILE_DEFAULT = 0.99;

    /** The map (normalized-scale differences), the reconstruction x0' and the series score. */
    public record Result(
            FloatVolume map,
            FloatVolume x0Pred,
            double score,
            int t,
            double quantile,
            double smoothingSigma,
            int draws) {}

    public static final int MAX_DRAWS = 16;

    private final CosineSchedule schedule;
    private final SlidingWindowEstimator estimator;
    private final int t;
    private final double quantile;
    private final double smoothingSigma;
    private final int draws;

    public AnomalyMap(CosineSchedule schedule, SlidingWindowEstimator estimator) {
        this(schedule, estimator, T_PAPER, QUANTILE_DEFAULT);
    }

    public AnomalyMap(CosineSchedule schedule, SlidingWindowEstimator estimator, int t, double quantile) {
        this(schedule, estimator, t, quantile, 0);
    }

    /** @param smoothingSigma Gaussian sigma in voxels applied to |x0 - x0'| before masking (0: none) */
    public AnomalyMap(
            CosineSchedule schedule, SlidingWindowEstimator estimator, int t, double quantile, double smoothingSigma) {
        this(schedule, estimator, t, quantile, smoothingSigma, 1);
    }

    /**
     * @param smoothingSigma Gaussian sigma in voxels applied to x0 - x0' before the magnitude (0: none)
     * @param draws          one-step reconstructions averaged into x0' (1 to {@link #MAX_DRAWS})
     */
    public AnomalyMap(
            CosineSchedule schedule,
            SlidingWindowEstimator estimator,
            int t,
            double quantile,
            double smoothingSigma,
            int draws) {
        if (estimator.model().conditioned()) {
            throw new IllegalArgumentException("the anomaly map uses the base model (no condition input)");
        }
        if (!(quantile >= 0 && quantile <= 1)) {
            throw new IllegalArgumentException("quantile must be in [0, 1]: " + quantile);
        }
        this.schedule = schedule;
        this.estimator = estimator;
        this.t = schedule.checkT(t);
        this.quantile = quantile;
        if (!(smoothingSigma >= 0) || smoothingSigma > 20) {
            throw new IllegalArgumentException("smoothing sigma must be in [0, 20] voxels: " + smoothingSigma);
        }
        this.smoothingSigma = smoothingSigma;
        if (draws < 1 || draws > MAX_DRAWS) {
            throw new IllegalArgumentException("draws must be in [1, " + MAX_DRAWS + "]: " + draws);
        }
        this.draws = draws;
    }

    public Result compute(FloatVolume x0, FloatVolume anatomy, int region, FloatVolume mask, NoiseSource noise) {
        x0.requireSameShape(anatomy, "anatomy");
        x0.requireSameShape(mask, "mask");
        double a = schedule.alphaBar(t);
        float[] in = x0.data();
        float[] x0p = new float[in.length];
        for (int d = 0; d < draws; d++) {
            float[] z = noise.next(x0.size());
            float[] xt = DiffusionMath.diffuse(in, z, a);
            FloatVolume xtv = new FloatVolume(x0.depth(), x0.height(), x0.width(), xt);
            float[] eps = estimator.estimate(xtv, t, anatomy, region).data();
            float[] one = DiffusionMath.x0FromEps(xt, eps, a);
            for (int i = 0; i < x0p.length; i++) {
                x0p[i] += one[i];
            }
        }
        if (draws > 1) {
            for (int i = 0; i < x0p.length; i++) {
                x0p[i] /= draws;
            }
        }
        FloatVolume pred = new FloatVolume(x0.depth(), x0.height(), x0.width(), x0p);
        FloatVolume mv = map(x0, pred, mask, smoothingSigma);
        return new Result(mv, pred, score(mv, mask, quantile), t, quantile, smoothingSigma, draws);
    }

    /**
     * The map from an input and its reconstruction: {@code |G_sigma * (x0 - x0')|} inside the mask, 0 outside
     * (sigma 0: {@code |x0 - x0'|}). Public so that an evaluation can score several smoothings of one
     * reconstruction.
     */
    public static FloatVolume map(FloatVolume x0, FloatVolume x0Pred, FloatVolume mask, double smoothingSigma) {
        x0.requireSameShape(x0Pred, "reconstruction");
        x0.requireSameShape(mask, "mask");
        float[] in = x0.data();
        float[] p = x0Pred.data();
        float[] diff = new float[in.length];
        for (int i = 0; i < diff.length; i++) {
            diff[i] = in[i] - p[i];
        }
        if (smoothingSigma > 0) {
            diff = GaussianFilter.apply(new FloatVolume(x0.depth(), x0.height(), x0.width(), diff), smoothingSigma)
                    .data();
        }
        float[] m = mask.data();
        for (int i = 0; i < diff.length; i++) {
            diff[i] = m[i] > 0 ? Math.abs(diff[i]) : 0f;
        }
        return new FloatVolume(x0.depth(), x0.height(), x0.width(), diff);
    }

    /** The q-quantile of the map inside the mask (sorted ascending, element floor(q (n - 1))), 0 if empty. */
    public static double score(FloatVolume map, FloatVolume mask, double q) {
        float[] m = mask.data();
        float[] v = map.data();
        int n = 0;
        for (float f : m) {
            if (f > 0) {
                n++;
            }
        }
        if (n == 0) {
            return 0.0;
        }
        float[] in = new float[n];
        int k = 0;
        for (int i = 0; i < m.length; i++) {
            if (m[i] > 0) {
                in[k++] = v[i];
            }
        }
        Arrays.sort(in);
        return in[(int) Math.floor(q * (n - 1))];
    }
}
