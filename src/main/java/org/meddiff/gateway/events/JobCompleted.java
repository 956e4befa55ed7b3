package org.meddiff.gateway.events;

import java.util.List;

/**
 * inference.job.completed: the derived series is in the spool ({@code derivedRef}), with any companion series written
 * beside it (the anomaly task's colour-fused series); {@code instanceCount} counts every file there. {@code redelivery}:
 * an operator asked for the series to be sent again (POST /api/jobs/{id}/redeliver), so dispatch sends it even to
 * destinations that have it; any other repeat of a completion is not sent twice.
 */
public record JobCompleted(
        String eventId,
        String type,
        int schemaVersion,
        String time,
        String correlationId,
        String jobId,
        String task,
        String method,
        String studyInstanceUid,
        String seriesInstanceUid,
        String derivedSeriesInstanceUid,
        List<String> companionSeriesInstanceUids,
        int instanceCount,
        String derivedRef,
        long durationMillis,
        boolean redelivery)
        implements GatewayEvent {
    public JobCompleted {
        // a completion marker written before companion series existed reads back without the list
        companionSeriesInstanceUids =
                companionSeriesInstanceUids == null ? List.of() : List.copyOf(companionSeriesInstanceUids);
    }

    /** The same completion announced again (new eventId and time) for dispatch to deliver once more, everywhere. */
    public JobCompleted announcedAgain() {
        return new JobCompleted(
                Events.newId(),
                type,
                schemaVersion,
                Events.now(),
                correlationId,
                jobId,
                task,
                method,
                studyInstanceUid,
                seriesInstanceUid,
                derivedSeriesInstanceUid,
                companionSeriesInstanceUids,
                instanceCount,
                derivedRef,
                durationMillis,
                true);
    }

    public static JobCompleted of(
            JobRequested job,
            String method,
            String derivedSeriesUid,
            List<String> companionSeriesUids,
            int instanceCount,
            String derivedRef,
            long durationMillis) {
        return new JobCompleted(
                Events.newId(),
                Topics.JOB_COMPLETED,
                1,
                Events.now(),
                job.studyInstanceUid(),
                job.jobId(),
                job.task(),
                method,
                job.studyInstanceUid(),
                job.seriesInstanceUid(),
                derivedSeriesUid,
                List.copyOf(companionSeriesUids),
                instanceCount,
                derivedRef,
                durationMillis,
                false);
    }
}
