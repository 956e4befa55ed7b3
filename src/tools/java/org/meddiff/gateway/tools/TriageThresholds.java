package org.meddiff.gateway.tools;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Arrays;

/**
 * Triage thresholds from local series scores (the anomaly task's q99 of the map): the score's level moves from
 * patient population to population and from model to model (docs/EVALUATION.md), so a site sets
 * {@code gateway.diffusion.anomaly.urgent-score} / {@code .stat-score} from its own lesion-free series, and checks
 * them on series with findings where it has some. A series reaches a threshold when its score is {@code >=} it, as
 * in the anomaly task. Pure computation.
 *
 * <ul>
 * <li>URGENT: at most {@code falsePositiveRate} of the lesion-free series reach it. With k = floor(rate x n) of them
 * allowed, v = the (k+1)-th highest lesion-free score must stay below: URGENT sits halfway between v and the next
 * higher lesion-free score; where none is higher (k = 0, or ties at the top), above v: halfway to the lowest
 * finding score above it, or, without one, half the lesion-free spread (highest - lowest) above it.</li>
 * <li>STAT: one upper spread (highest - median of the lesion-free scores) above the highest, never below URGENT.</li>
 * </ul>
 * Both are rounded UP to {@value #DECIMALS} decimals (what the printed property says is what is counted).
 */
record TriageThresholds(
        double urgent,
        double stat,
        int lesionFree,
        int lesionFreeUrgent,
        int findings,
        int findingsUrgent,
        int findingsStat,
        double seriesAuroc) {

    static final int DECIMALS = 6;

    static TriageThresholds suggest(double[] lesionFree, double[] findings, double falsePositiveRate) {
        if (lesionFree.length == 0) {
            throw new IllegalArgumentException("at least one lesion-free series is needed to place the thresholds");
        }
        checkRate(falsePositiveRate);
        for (double[] a : new double[][] {lesionFree, findings}) {
            for (double v : a) {
                if (!Double.isFinite(v)) {
                    throw new IllegalArgumentException("series scores must be finite: " + v);
                }
            }
        }
        double[] desc =
                Arrays.stream(lesionFree).map(v -> -v).sorted().map(v -> -v).toArray();
        int n = desc.length;
        int k = (int) Math.floor(falsePositiveRate * n + 1e-9); // < n because the rate is below 1
        double v = desc[k];
        double top = desc[0];
        double nextHigher = Arrays.stream(desc).filter(x -> x > v).min().orElse(Double.NaN);
        double urgent;
        if (!Double.isNaN(nextHigher)) {
            urgent = (v + nextHigher) / 2;
        } else {
            double nextFinding =
                    Arrays.stream(findings).filter(x -> x > top).min().orElse(Double.NaN);
            urgent = Double.isNaN(nextFinding) ? top + (top - desc[n - 1]) / 2 : (top + nextFinding) / 2;
        }
        urgent = roundUpAbove(urgent, v);
        double median = n % 2 == 1 ? desc[n / 2] : (desc[n / 2 - 1] + desc[n / 2]) / 2;
        double stat = roundUpAbove(Math.max(urgent, top + (top - median)), top);
        double u = urgent;
        double st = stat;
        int fpUrgent = (int) Arrays.stream(lesionFree).filter(x -> x >= u).count();
        int tpUrgent = (int) Arrays.stream(findings).filter(x -> x >= u).count();
        int tpStat = (int) Arrays.stream(findings).filter(x -> x >= st).count();
        double auroc = findings.length == 0
                ? Double.NaN
                : ImageMetrics.auroc(concat(findings, lesionFree), labels(findings.length, lesionFree.length));
        return new TriageThresholds(urgent, stat, n, fpUrgent, findings.length, tpUrgent, tpStat, auroc);
    }

    static void checkRate(double falsePositiveRate) {
        if (!(falsePositiveRate >= 0 && falsePositiveRate < 1)) {
            throw new IllegalArgumentException("false-positive rate must be in [0, 1): " + falsePositiveRate);
        }
    }

    /** x rounded up to DECIMALS decimals, and strictly above {@code floor} (a score that must not reach it). */
    private static double roundUpAbove(double x, double floor) {
        BigDecimal step = BigDecimal.ONE.movePointLeft(DECIMALS);
        // 12 decimals first: 0.0735 computed as 0.07350000000000001 must print as 0.073500, not 0.073501
        BigDecimal r =
                BigDecimal.valueOf(x).setScale(12, RoundingMode.HALF_UP).setScale(DECIMALS, RoundingMode.CEILING);
        while (r.doubleValue() <= floor) {
            r = r.add(step);
        }
        return r.doubleValue();
    }

    private static double[] concat(double[] a, double[] b) {
        double[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static boolean[] labels(int positives, int negatives) {
        boolean[] l = new boolean[positives + negatives];
        Arrays.fill(l, 0, positives, true);
        return l;
    }
}
