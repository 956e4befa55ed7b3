package org.meddiff.gateway.infer.diffusion;

import java.util.Arrays;

/**
 * One-shot anomaly map (spec 10; MedDiff-FM task 3, no fine-tuning): diffuse x0 to a fixed t = 950
 * (small t fails to erase lesions), predict x0' in ONE smoothed network evaluation,
 * {@code map = |x0 - x0'|} inside the region-of-interest mask (0 outside).
 *
 * <p>Series score: the {@code quantile} (default 0.99) of the map inside the mask: values sorted
 * ascending, element {@code floor(q * (n - 1))}; 0 for an empty mask. A high quantile rather than the
 * maximum, so that a handful of noisy voxels does not decide; a lesion of at least ~1 % of the ROI
 * volume lifts it. One noise array consumed.
 *
 * <p>Optional smoothing: {@code |x0 - x0'|} is filtered with a 3-D Gaussian of {@code smoothingSigma}
 * voxels over the whole volume before the mask is applied. A lesion is a blob while the residual of a
 * weak reconstruction is voxel-scale texture along every edge; averaging over a few voxels favours the
 * blob (the usual post-processing of reconstruction-based anomaly maps). 0 = the paper's raw map.
 */
public final class AnomalyMap {

    public static final int T_DEFAULT = 950;
    public static final double QUANTILE_DEFAULT = 0.99;

    /** The map (normalized-scale differences), the reconstruction x0' and the series score. */
    public record Result(FloatVolume map, FloatVolume x0Pred, double score, int t, double quantile, double smoothingSigma) {
    }

    private final CosineSchedule schedule;
    private final SlidingWindowEstimator estimator;
    private final int t;
    private final double quantile;
    private final double smoothingSigma;

    public AnomalyMap(CosineSchedule schedule, SlidingWindowEstimator estimator) {
        this(schedule, estimator, T_DEFAULT, QUANTILE_DEFAULT);
    }

    public AnomalyMap(CosineSchedule schedule, SlidingWindowEstimator estimator, int t, double quantile) {
        this(schedule, estimator, t, quantile, 0);
    }

    /** @param smoothingSigma Gaussian sigma in voxels applied to |x0 - x0'| before masking (0: none) */
    public AnomalyMap(CosineSchedule schedule, SlidingWindowEstimator estimator, int t, double quantile, double smoothingSigma) {
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
    }

    public Result compute(FloatVolume x0, FloatVolume anatomy, int region, FloatVolume mask, NoiseSource noise) {
        x0.requireSameShape(anatomy, "anatomy");
        x0.requireSameShape(mask, "mask");
        double a = schedule.alphaBar(t);
        float[] z = noise.next(x0.size());
        float[] xt = DiffusionMath.diffuse(x0.data(), z, a);
        FloatVolume xtv = new FloatVolume(x0.depth(), x0.height(), x0.width(), xt);
        float[] eps = estimator.estimate(xtv, t, anatomy, region).data();
        float[] x0p = DiffusionMath.x0FromEps(xt, eps, a);
        float[] diff = new float[x0p.length];
        float[] in = x0.data();
        for (int i = 0; i < diff.length; i++) {
            diff[i] = Math.abs(in[i] - x0p[i]);
        }
        if (smoothingSigma > 0) {
            diff = GaussianFilter.apply(new FloatVolume(x0.depth(), x0.height(), x0.width(), diff), smoothingSigma).data();
        }
        float[] m = mask.data();
        for (int i = 0; i < diff.length; i++) {
            if (!(m[i] > 0)) {
                diff[i] = 0f;
            }
        }
        FloatVolume mv = new FloatVolume(x0.depth(), x0.height(), x0.width(), diff);
        return new Result(mv, new FloatVolume(x0.depth(), x0.height(), x0.width(), x0p), score(mv, mask, quantile), t, quantile,
                smoothingSigma);
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
