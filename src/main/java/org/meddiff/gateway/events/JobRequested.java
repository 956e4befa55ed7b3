package org.meddiff.gateway.events;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * inference.job.requested: one task for one readiness of one series; jobId is deterministic. {@code attempt} counts
 * the tries of a job that failed for a reason of the machine (1 for the first request); {@code previousFailures} holds
 * the reason of each earlier attempt, in order.
 */
public record JobRequested(
        String eventId,
        String type,
        int schemaVersion,
        String time,
        String correlationId,
        String jobId,
        String task,
        String rule,
        String studyInstanceUid,
        String seriesInstanceUid,
        int generation,
        int instanceCount,
        String seriesRef,
        SeriesAttributes series,
        Map<String, String> params,
        int attempt,
        List<String> previousFailures)
        implements GatewayEvent {
    public JobRequested {
        attempt = Math.max(1, attempt); // a request written before attempts were counted is the first
        previousFailures = previousFailures == null ? List.of() : List.copyOf(previousFailures);
    }

    public static JobRequested of(
            String jobId, String task, String rule, SeriesReady ready, Map<String, String> params) {
        return new JobRequested(
                Events.newId(),
                Topics.JOB_REQUESTED,
                1,
                Events.now(),
                ready.studyInstanceUid(),
                jobId,
                task,
                rule,
                ready.studyInstanceUid(),
                ready.seriesInstanceUid(),
                ready.generation(),
                ready.instanceCount(),
                ready.seriesRef(),
                ready.series(),
                params,
                1,
                List.of());
    }

    /**
     * The same job requested again after this attempt failed for {@code reason}. Its event id follows from the job and
     * the attempt, so two copies of a failed attempt (a redelivery after a crash) request the next one only once.
     */
    public JobRequested retry(String reason) {
        List<String> failures = new ArrayList<>(previousFailures);
        failures.add(reason);
        String eventId = UUID.nameUUIDFromBytes((jobId + "/attempt " + (attempt + 1)).getBytes(StandardCharsets.UTF_8))
                .toString();
        return new JobRequested(
                eventId,
                type,
                schemaVersion,
                Events.now(),
                correlationId,
                jobId,
                task,
                rule,
                studyInstanceUid,
                seriesInstanceUid,
                generation,
                instanceCount,
                seriesRef,
                series,
                params,
                attempt + 1,
                failures);
    }

    /**
     * The study, like every event; a retried attempt is keyed by job and attempt instead, so it lands on any partition
     * and may be run by another worker than the one that failed it.
     */
    @Override
    public String key() {
        return attempt > 1 ? jobId + "/" + attempt : correlationId;
    }
}
