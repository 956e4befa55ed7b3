package org.meddiff.gateway.events;

/**
 * pacs.store.dlq: delivery to a destination gave up after the last retry. Carries everything needed to
 * replay it by hand (the derived series stays in the spool at {@code derivedRef}).
 */
public record StoreDeadLettered(
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
        int attempts,
        String lastError,
        String derivedRef)
        implements GatewayEvent {
    public static StoreDeadLettered of(JobCompleted job, String destination, int attempts, String lastError) {
        return new StoreDeadLettered(
                Events.newId(),
                Topics.STORE_DLQ,
                1,
                Events.now(),
                job.studyInstanceUid(),
                job.jobId(),
                job.studyInstanceUid(),
                job.seriesInstanceUid(),
                job.derivedSeriesInstanceUid(),
                destination,
                attempts,
                lastError,
                job.derivedRef());
    }
}
