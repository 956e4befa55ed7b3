package org.meddiff.gateway.events;

/**
 * Fields every event carries: a unique id, its type (= topic), the schema version of its payload,
 * the time it was created (ISO-8601) and a correlation id (the StudyInstanceUID, which is also the key).
 */
public interface GatewayEvent {
    String eventId();

    String type();

    int schemaVersion();

    String time();

    String correlationId();

    /** The study the event is about: the record's own field where it has one, else the correlation id (the same). */
    default String studyInstanceUid() {
        return correlationId();
    }

    /** Kafka record key: the study, so one study stays ordered on one partition. */
    default String key() {
        return correlationId();
    }
}
