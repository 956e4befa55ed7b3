package org.meddiff.gateway.tools;

import java.util.Arrays;

/**
 * Triage thresholds from local series scores (the anomaly task's q99 of the map): the score's level moves from
 * patient population to population and from model to model (docs/EVALUATION.md), so a site sets
 * {@code gateway.diffusion.anomaly.urgent-score} / {@code .stat-score} from its own lesion-free series, and checks
 * them on series with findings where it has some. Pure computation.
 *
 * <ul>
 * <li>URGENT: at most {@code falsePositiveRate} of the lesion-free series reach it. With k = floor(rate x n) such
 * series allowed, it sits halfway between the k-th highest lesion-free score and the next one; with k = 0, above
 * the highest: halfway to the lowest finding score above it, or, without one, half the lesion-free spread (highest -
 * lowest) above it.</li>
 * <li>STAT: above every lesion-free series by their upper spread (highest - median), and never below URGENT.</li>
 * </ul>
 */
record TriageThresholds(double urgent, double stat, int lesionFree, int lesionFreeUrgent, int findings, int findingsUrgent,
                        int findingsStat, double seriesAuroc) {

    static TriageThresholds suggest(double[] lesionFree, double[] findings, double falsePositiveRate) {
        if (lesionFree.length == 0) {
            throw new IllegalArgumentException("at least one lesion-free series is needed to place the thresholds");
        }
        if (!(falsePositiveRate >= 0 && falsePositiveRate < 1)) {
            throw new IllegalArgumentException("false-positive rate must be in [0, 1): " + falsePositiveRate);
        }
        for (double[] a : new double[][] {lesionFree, findings}) {
            for (double v : a) {
                if (!Double.isFinite(v)) {
                    throw new IllegalArgumentException("series scores must be finite: " + v);
                }
            }
        }
        double[] desc = Arrays.stream(lesionFree).map(v -> -v).sorted().map(v -> -v).toArray();
        int n = desc.length;
        int k = (int) Math.floor(falsePositiveRate * n);
        double top = desc[0];
        double urgent;
        if (k > 0) { // k < n because the rate is below 1
            urgent = (desc[k - 1] + desc[k]) / 2;
        } else {
            double nextFinding = Arrays.stream(findings).filter(v -> v > top).min().orElse(Double.NaN);
            urgent = Double.isNaN(nextFinding) ? top + (top - desc[n - 1]) / 2 : (top + nextFinding) / 2;
            if (urgent == top) { // identical lesion-free scores and no finding above: the smallest step above
                urgent = Math.nextUp(top);
            }
        }
        double median = n % 2 == 1 ? desc[n / 2] : (desc[n / 2 - 1] + desc[n / 2]) / 2;
        double stat = Math.max(urgent, top + (top - median));
        if (stat == top) {
            stat = Math.nextUp(top);
        }
        double u = urgent;
        double st = stat;
        int fpUrgent = (int) Arrays.stream(lesionFree).filter(v -> v >= u).count();
        int tpUrgent = (int) Arrays.stream(findings).filter(v -> v >= u).count();
        int tpStat = (int) Arrays.stream(findings).filter(v -> v >= st).count();
        double auroc = findings.length == 0 ? Double.NaN : Evaluation.Metrics.auroc(concat(findings, lesionFree), labels(findings.length,
                lesionFree.length));
        return new TriageThresholds(urgent, stat, n, fpUrgent, findings.length, tpUrgent, tpStat, auroc);
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
