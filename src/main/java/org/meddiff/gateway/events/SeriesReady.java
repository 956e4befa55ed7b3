package org.meddiff.gateway.events;

/**
 * dicom.series.ready: no instance arrived for the quiet period. {@code generation} counts readiness:
 * a late instance reopens the series and the next readiness has generation + 1. {@code recovered}: the series was
 * still receiving when the assembling process stopped, and was re-armed from the spool with a fresh quiet period.
 */
public record SeriesReady(
        String eventId,
        String type,
        int schemaVersion,
        String time,
        String correlationId,
        String studyInstanceUid,
        String seriesInstanceUid,
        int generation,
        int instanceCount,
        String seriesRef,
        SeriesAttributes series,
        boolean recovered)
        implements GatewayEvent {
    public static SeriesReady of(
            String studyUid,
            String seriesUid,
            int generation,
            int instanceCount,
            String seriesRef,
            SeriesAttributes series) {
        return of(studyUid, seriesUid, generation, instanceCount, seriesRef, series, false);
    }

    public static SeriesReady of(
            String studyUid,
            String seriesUid,
            int generation,
            int instanceCount,
            String seriesRef,
            SeriesAttributes series,
            boolean recovered) {
        return new SeriesReady(
                Events.newId(),
                Topics.SERIES_READY,
                1,
                Events.now(),
                studyUid,
                studyUid,
                seriesUid,
                generation,
                instanceCount,
                seriesRef,
                series,
                recovered);
    }
}
