package org.meddiff.gateway.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

/** What every stage does with a record of its channel that is not its event: skipped and counted, never thrown. */
class EventReaderTest {
    final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    final EventReader reader = new EventReader(metrics);

    double unreadable(String topic) {
        return metrics.counter("gateway_events_unreadable_total", "topic", topic)
                .count();
    }

    @Test
    void anEventIsReadIntoItsRecord() {
        JobRequested job = JobRequested.of(
                "a".repeat(32),
                "denoise",
                "rule",
                SeriesReady.of("1.2", "1.2.3", 1, 4, "instances/1.2/1.2.3", null),
                Map.of());
        String json = Events.toJson(JobProgress.of(job, 1, 2, "step", null));
        JobProgress p =
                reader.read(Topics.JOB_PROGRESS, json, JobProgress.class).orElseThrow();
        assertEquals(2, p.steps());
        assertEquals(0, unreadable(Topics.JOB_PROGRESS));
    }

    @Test
    void garbageJsonNullAndWhatTheStageRefusesAreSkippedAndCounted() {
        assertTrue(reader.read(Topics.JOB_COMPLETED, "not json", JobCompleted.class)
                .isEmpty());
        assertTrue(reader.read(Topics.JOB_COMPLETED, "null", JobCompleted.class).isEmpty());
        assertTrue(reader.read(Topics.JOB_COMPLETED, "{\"jobId\":\"x\"}", JobCompleted.class, e -> "no derived series")
                .isEmpty());
        assertTrue(
                reader.read(Topics.JOB_COMPLETED, "{\"instanceCount\":\"many\"}", JobCompleted.class)
                        .isEmpty(),
                "a field of the wrong type");
        assertEquals(4, unreadable(Topics.JOB_COMPLETED));
    }
}
