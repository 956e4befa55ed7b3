package org.meddiff.gateway.events;

/**
 * dicom.series.ready: no instance arrived for the quiet period. {@code generation} counts readiness:
 * a late instance reopens the series and the next readiness has generation + 1.
 */
public record SeriesReady(String eventId, String type, int schemaVersion, String time, String correlationId,
                          String studyInstanceUid, String seriesInstanceUid, int generation, int instanceCount,
                          String seriesRef, SeriesAttributes series) implements GatewayEvent {
    public static SeriesReady of(String studyUid, String seriesUid, int generation, int instanceCount, String seriesRef,
                                 SeriesAttributes series) {
        return new SeriesReady(Events.newId(), Topics.SERIES_READY, 1, Events.now(), studyUid, studyUid, seriesUid,
                generation, instanceCount, seriesRef, series);
    }
}
