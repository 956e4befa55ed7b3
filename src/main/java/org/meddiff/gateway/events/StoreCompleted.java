package org.meddiff.gateway.events;

/** pacs.store.completed: every instance of a derived series was stored at one destination. */
public record StoreCompleted(
        String eventId,
        String type,
        int schemaVersion,
        String time,
        String correlationId,
        String jobId,
        String studyInstanceUid,
        String seriesInstanceUid,
        String derivedSeriesInstanceUid,
        String destination,
        int instancesStored,
        int attempts)
        implements GatewayEvent {
    public static StoreCompleted of(JobCompleted job, String destination, int stored, int attempts) {
        return new StoreCompleted(
                Events.newId(),
                Topics.STORE_COMPLETED,
                1,
                Events.now(),
                job.studyInstanceUid(),
                job.jobId(),
                job.studyInstanceUid(),
                job.seriesInstanceUid(),
                job.derivedSeriesInstanceUid(),
                destination,
                stored,
                attempts);
    }
}
