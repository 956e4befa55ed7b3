package org.meddiff.gateway.events;

import java.util.Map;

/** inference.job.requested: one task for one readiness of one series; jobId is deterministic. */
public record JobRequested(String eventId, String type, int schemaVersion, String time, String correlationId,
                           String jobId, String task, String rule, String studyInstanceUid, String seriesInstanceUid,
                           int generation, int instanceCount, String seriesRef, SeriesAttributes series,
                           Map<String, String> params) implements GatewayEvent {
    public static JobRequested of(String jobId, String task, String rule, SeriesReady ready, Map<String, String> params) {
        return new JobRequested(Events.newId(), Topics.JOB_REQUESTED, 1, Events.now(), ready.studyInstanceUid(), jobId, task,
                rule, ready.studyInstanceUid(), ready.seriesInstanceUid(), ready.generation(), ready.instanceCount(),
                ready.seriesRef(), ready.series(), params);
    }
}
