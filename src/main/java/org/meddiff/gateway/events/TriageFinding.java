package org.meddiff.gateway.events;

/**
 * triage.finding: the anomaly task's verdict on a series. {@code score} is a high quantile of the
 * anomaly map inside the region of interest; {@code priority} compares it with the configured
 * thresholds ({@code threshold} is the one that decided).
 */
public record TriageFinding(
        String eventId,
        String type,
        int schemaVersion,
        String time,
        String correlationId,
        String jobId,
        String studyInstanceUid,
        String seriesInstanceUid,
        String derivedSeriesInstanceUid,
        double score,
        String region,
        TriagePriority priority,
        double threshold,
        String modelVersion)
        implements GatewayEvent {
    public static TriageFinding of(
            JobRequested job,
            String derivedSeriesUid,
            double score,
            String region,
            TriagePriority priority,
            double threshold,
            String modelVersion) {
        return new TriageFinding(
                Events.newId(),
                Topics.TRIAGE_FINDING,
                1,
                Events.now(),
                job.studyInstanceUid(),
                job.jobId(),
                job.studyInstanceUid(),
                job.seriesInstanceUid(),
                derivedSeriesUid,
                score,
                region,
                priority,
                threshold,
                modelVersion);
    }
}
