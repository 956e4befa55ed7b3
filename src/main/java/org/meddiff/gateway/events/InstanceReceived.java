package org.meddiff.gateway.events;

/** dicom.instance.received: an instance is durable in the spool ({@code blobRef}). */
public record InstanceReceived(
        String eventId,
        String type,
        int schemaVersion,
        String time,
        String correlationId,
        String studyInstanceUid,
        String seriesInstanceUid,
        String sopInstanceUid,
        String transferSyntaxUid,
        long sizeBytes,
        String blobRef,
        SeriesAttributes series)
        implements GatewayEvent {
    public static InstanceReceived of(
            String studyUid,
            String seriesUid,
            String sopUid,
            String transferSyntax,
            long size,
            String blobRef,
            SeriesAttributes series) {
        return new InstanceReceived(
                Events.newId(),
                Topics.INSTANCE_RECEIVED,
                1,
                Events.now(),
                studyUid,
                studyUid,
                seriesUid,
                sopUid,
                transferSyntax,
                size,
                blobRef,
                series);
    }
}
