package org.meddiff.gateway.infer.diffusion;

import java.util.ArrayList;
import java.util.List;

/**
 * The cosine noise schedule of the model card (Nichol &amp; Dhariwal 2021; onnx-export README,
 * "Sampler specification" 1-3).
 *
 * <p>{@code alpha_bar[t] = prod_{i=0..t} (1 - beta_i)}, {@code beta_i = min(1 - f((i+1)/T) / f(i/T), 0.999)},
 * {@code f(u) = cos^2((u + s)/(1 + s) * pi/2)}, t = 0..T-1, float64; {@code alpha_bar[-1] = 1}.
 * Prefer {@link #fromTable(double[])} with the card's table: the card is what the model was trained with.
 */
public final class CosineSchedule {

    public static final int T_DEFAULT = 1000;
    public static final double S_DEFAULT = 0.008;
    public static final double BETA_MAX = 0.999;

    private final double[] alphaBar;

    private CosineSchedule(double[] alphaBar) {
        if (alphaBar.length < 2) {
            throw new IllegalArgumentException("alpha_bar table needs at least 2 entries");
        }
        for (int t = 0; t < alphaBar.length; t++) {
            double a = alphaBar[t];
            if (!(a > 0 && a <= 1) || (t > 0 && a > alphaBar[t - 1])) {
                throw new IllegalArgumentException(
                        "alpha_bar must be in (0, 1] and non-increasing; entry " + t + " = " + a);
            }
        }
        this.alphaBar = alphaBar;
    }

    /** Computes the table for T steps and offset s, exactly as meddiff.schedule.cosine_alpha_bar. */
    public static CosineSchedule cosine(int T, double s) {
        if (T < 2) {
            throw new IllegalArgumentException("T must be >= 2: " + T);
        }
        double[] ab = new double[T];
        double prod = 1.0;
        for (int i = 0; i < T; i++) {
            double beta = Math.min(1 - f((double) (i + 1) / T, s) / f((double) i / T, s), BETA_MAX);
            prod *= 1.0 - beta;
            ab[i] = prod;
        }
        return new CosineSchedule(ab);
    }

    public static CosineSchedule cosine() {
        return cosine(T_DEFAULT, S_DEFAULT);
    }

    /** The table as a model card states it (alpha_bar[0..T-1]). */
    public static CosineSchedule fromTable(double[] alphaBar) {
        return new CosineSchedule(alphaBar.clone());
    }

    private static double f(double u, double s) {
        double c = Math.cos(((u + s) / (1 + s)) * Math.PI / 2);
        return c * c;
    }

    public int steps() {
        return alphaBar.length;
    }

    /** alpha_bar[t], with alpha_bar[-1] = 1. */
    public double alphaBar(int t) {
        if (t < 0) {
            return 1.0;
        }
        return alphaBar[t];
    }

    public double[] table() {
        return alphaBar.clone();
    }

    /** sigma_bar_t = sqrt((1 - alpha_bar[t]) / alpha_bar[t]): the noise std relative to the signal. */
    public double sigmaBar(int t) {
        double a = alphaBar(t);
        return Math.sqrt((1.0 - a) / a);
    }

    /** t whose sigma_bar_t is closest to sigmaN (first minimum: ties go to the smaller t). */
    public int tStartFor(double sigmaN) {
        if (!(sigmaN >= 0) || Double.isInfinite(sigmaN)) {
            throw new IllegalArgumentException("sigma_n must be a finite number >= 0: " + sigmaN);
        }
        int best = 0;
        double bestDiff = Double.POSITIVE_INFINITY;
        for (int t = 0; t < alphaBar.length; t++) {
            double d = Math.abs(Math.sqrt((1.0 - alphaBar[t]) / alphaBar[t]) - sigmaN);
            if (d < bestDiff) {
                bestDiff = d;
                best = t;
            }
        }
        return best;
    }

    /**
     * Uniformly skipped, strictly decreasing steps from tStart (spec 3): K' = min(steps, tStart + 1);
     * all of tStart..0 when K' = tStart + 1, else t_i = floor(tStart * (K' - i) / K'), i = 0..K'-1.
     */
    public static int[] timesteps(int tStart, int steps) {
        if (tStart < 0) {
            throw new IllegalArgumentException("t_start must be >= 0: " + tStart);
        }
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1: " + steps);
        }
        int k = Math.min(steps, tStart + 1);
        int[] ts = new int[k];
        if (k == tStart + 1) {
            for (int i = 0; i < k; i++) {
                ts[i] = tStart - i;
            }
            return ts;
        }
        for (int i = 0; i < k; i++) {
            ts[i] = (int) (((long) tStart * (k - i)) / k);
        }
        return ts;
    }

    /** Checks that t lies in the table. */
    public int checkT(int t) {
        if (t < 0 || t >= alphaBar.length) {
            throw new IllegalArgumentException("t = " + t + " outside 0.." + (alphaBar.length - 1));
        }
        return t;
    }

    /** Largest relative difference to another table (for card vs computed checks). */
    public double maxRelativeDifference(CosineSchedule other) {
        if (other.alphaBar.length != alphaBar.length) {
            return Double.POSITIVE_INFINITY;
        }
        double m = 0;
        for (int i = 0; i < alphaBar.length; i++) {
            m = Math.max(m, Math.abs(alphaBar[i] - other.alphaBar[i]) / alphaBar[i]);
        }
        return m;
    }

    /** As a list, for logging. */
    public static List<Integer> asList(int[] ts) {
        List<Integer> l = new ArrayList<>(ts.length);
        for (int t : ts) {
            l.add(t);
        }
        return l;
    }
}
