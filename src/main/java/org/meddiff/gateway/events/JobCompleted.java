package org.meddiff.gateway.events;

/** inference.job.completed: the derived series is in the spool ({@code derivedRef}). */
public record JobCompleted(String eventId, String type, int schemaVersion, String time, String correlationId,
                           String jobId, String task, String method, String studyInstanceUid, String seriesInstanceUid,
                           String derivedSeriesInstanceUid, int instanceCount, String derivedRef, long durationMillis)
        implements GatewayEvent {
    public static JobCompleted of(JobRequested job, String method, String derivedSeriesUid, int instanceCount,
                                  String derivedRef, long durationMillis) {
        return new JobCompleted(Events.newId(), Topics.JOB_COMPLETED, 1, Events.now(), job.studyInstanceUid(), job.jobId(),
                job.task(), method, job.studyInstanceUid(), job.seriesInstanceUid(), derivedSeriesUid, instanceCount,
                derivedRef, durationMillis);
    }
}
