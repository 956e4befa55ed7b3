package org.meddiff.gateway.events;

/**
 * inference.job.failed: the job ended without a derived series; {@code reason} says why (for a job retried after
 * failures of the machine, every attempt's reason). {@code cause}: {@link #INPUT} (the series cannot be processed:
 * sending it again as it is will fail again) or {@link #MACHINE} (the workers failed it {@code attempts} times).
 */
public record JobFailed(
        String eventId,
        String type,
        int schemaVersion,
        String time,
        String correlationId,
        String jobId,
        String task,
        String studyInstanceUid,
        String seriesInstanceUid,
        String reason,
        String cause,
        int attempts)
        implements GatewayEvent {
    public static final String INPUT = "input";
    public static final String MACHINE = "machine";

    public static JobFailed of(JobRequested job, String reason, String cause) {
        return new JobFailed(
                Events.newId(),
                Topics.JOB_FAILED,
                1,
                Events.now(),
                job.studyInstanceUid(),
                job.jobId(),
                job.task(),
                job.studyInstanceUid(),
                job.seriesInstanceUid(),
                reason,
                cause,
                job.attempt());
    }
}
