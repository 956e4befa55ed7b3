package org.meddiff.gateway.events;

/** inference.job.failed: the job ended without a derived series; {@code reason} says why. */
public record JobFailed(String eventId, String type, int schemaVersion, String time, String correlationId,
                        String jobId, String task, String studyInstanceUid, String seriesInstanceUid, String reason)
        implements GatewayEvent {
    public static JobFailed of(JobRequested job, String reason) {
        return new JobFailed(Events.newId(), Topics.JOB_FAILED, 1, Events.now(), job.studyInstanceUid(), job.jobId(),
                job.task(), job.studyInstanceUid(), job.seriesInstanceUid(), reason);
    }
}
