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
 */
public final class AnomalyMap {

    public static final int T_DEFAULT = 950;
    public static final double QUANTILE_DEFAULT = 0.99;

    /** The map (normalized-scale differences), the reconstruction x0' and the series score. */
    public record Result(FloatVolume map, FloatVolume x0Pred, double score, int t, double quantile) {
    }

    private final CosineSchedule schedule;
    private final SlidingWindowEstimator estimator;
    private final int t;
    private final double quantile;

    public AnomalyMap(CosineSchedule schedule, SlidingWindowEstimator estimator) {
        this(schedule, estimator, T_DEFAULT, QUANTILE_DEFAULT);
    }

    public AnomalyMap(CosineSchedule schedule, SlidingWindowEstimator estimator, int t, double quantile) {
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
        float[] map = new float[x0p.length];
        float[] in = x0.data();
        float[] m = mask.data();
        for (int i = 0; i < map.length; i++) {
            map[i] = m[i] > 0 ? Math.abs(in[i] - x0p[i]) : 0f;
        }
        FloatVolume mv = new FloatVolume(x0.depth(), x0.height(), x0.width(), map);
        return new Result(mv, new FloatVolume(x0.depth(), x0.height(), x0.width(), x0p), score(mv, mask, quantile), t, quantile);
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
