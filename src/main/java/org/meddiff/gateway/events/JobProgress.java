package org.meddiff.gateway.events;

/** inference.job.progress: step i of n while a job runs (state RUNNING). */
public record JobProgress(
        String eventId,
        String type,
        int schemaVersion,
        String time,
        String correlationId,
        String jobId,
        String task,
        String seriesInstanceUid,
        String state,
        int step,
        int steps,
        String message,
        Double itemsPerSecond)
        implements GatewayEvent {
    public static JobProgress of(JobRequested job, int step, int steps, String message, Double itemsPerSecond) {
        return new JobProgress(
                Events.newId(),
                Topics.JOB_PROGRESS,
                1,
                Events.now(),
                job.studyInstanceUid(),
                job.jobId(),
                job.task(),
                job.seriesInstanceUid(),
                "RUNNING",
                step,
                steps,
                message,
                itemsPerSecond);
    }
}
