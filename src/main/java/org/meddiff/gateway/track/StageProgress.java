package org.meddiff.gateway.track;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;

/**
 * Which stages of this process cannot make progress right now, and why: a stage that cannot write its state or
 * publish its result keeps its Kafka record uncommitted and retries (see events.DurableRetry); while it does, it is
 * stalled here, and the health check {@code stages} ({@link StagesHealthCheck}, {@code /q/health/group/stages}) is DOWN,
 * naming the stage, what it waits for and since when. Work this process could not stop (a job's thread still running
 * past its time limit) is recorded apart: only a restart frees it, so it turns liveness DOWN ({@link AbandonedWorkCheck}).
 */
@ApplicationScoped
public class StageProgress {
    /** Why a stage is stalled. */
    public record Stall(String stage, String what, String reason, Instant since) {}

    /** Keyed by stage and what it waits for: concurrent records of one stage stall and recover on their own. */
    private final Map<String, Stall> stalled = new ConcurrentHashMap<>();

    private final Map<String, Stall> abandoned = new ConcurrentHashMap<>();
    private final Clock clock;

    @Inject
    public StageProgress() {
        this(Clock.systemUTC());
    }

    public StageProgress(Clock clock) {
        this.clock = clock;
    }

    /** The stage cannot do {@code what} ({@code reason}); keeps the first time it was reported. */
    public void stalled(String stage, String what, String reason) {
        stalled.compute(
                stage + "\n" + what,
                (k, old) -> new Stall(stage, what, reason, old == null ? clock.instant() : old.since()));
    }

    /** What the stage waited for went through. */
    public void progressing(String stage, String what) {
        stalled.remove(stage + "\n" + what);
    }

    public List<Stall> stalls() {
        return List.copyOf(stalled.values());
    }

    /** Work of the stage that could not be stopped ({@code what}) and still holds resources: only a restart frees it. */
    public void abandoned(String stage, String what, String reason) {
        abandoned.putIfAbsent(stage + "\n" + what, new Stall(stage, what, reason, clock.instant()));
    }

    public List<Stall> abandonedWork() {
        return List.copyOf(abandoned.values());
    }

    /** The liveness answer: DOWN while abandoned work holds this process. */
    public HealthCheckResponse liveness() {
        HealthCheckResponseBuilder b =
                HealthCheckResponse.named("abandoned-work").status(abandoned.isEmpty());
        for (Stall s : abandoned.values()) {
            b.withData(s.stage() + ": " + s.what(), s.reason() + " since " + s.since());
        }
        return b.build();
    }

    /** UP when no stage is stalled, else DOWN with each stalled stage and why. */
    public HealthCheckResponse health() {
        HealthCheckResponseBuilder b = HealthCheckResponse.named("stages").status(stalled.isEmpty());
        Map<String, String> byStage = new TreeMap<>();
        for (Stall s : stalled.values()) {
            byStage.merge(
                    s.stage(),
                    "cannot " + s.what() + " since " + s.since() + " (" + s.reason() + ")",
                    (a, c) -> a + "; " + c);
        }
        byStage.forEach(b::withData);
        return b.build();
    }
}
