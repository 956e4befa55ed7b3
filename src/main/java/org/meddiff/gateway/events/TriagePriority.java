package org.meddiff.gateway.events;

/**
 * The priority a triage finding gives a series: its score against the two configured thresholds
 * ({@code gateway.diffusion.anomaly.urgent-score} and {@code .stat-score}). The one place that rule is written.
 */
public enum TriagePriority {
    ROUTINE,
    URGENT,
    STAT;

    public static TriagePriority of(double score, double urgentScore, double statScore) {
        return score >= statScore ? STAT : score >= urgentScore ? URGENT : ROUTINE;
    }

    /** The threshold that decided: STAT's for a STAT finding, URGENT's otherwise (the one a ROUTINE score stayed under). */
    public double decidingThreshold(double urgentScore, double statScore) {
        return this == STAT ? statScore : urgentScore;
    }
}
