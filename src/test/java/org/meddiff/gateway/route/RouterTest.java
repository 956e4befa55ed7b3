package org.meddiff.gateway.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.config.TestSettings;
import org.meddiff.gateway.events.EventReader;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.OutboxFiles;
import org.meddiff.gateway.events.ProcessedEvents;
import org.meddiff.gateway.events.SeriesReady;
import org.meddiff.gateway.events.Topics;
import org.meddiff.gateway.spool.Spool;
import org.meddiff.gateway.track.StageProgress;

/** Route with the shipped rules and a real outbox: a request the outbox refuses is not dropped, a repeat is not routed twice. */
class RouterTest {
    static final String STUDY = "1.2.826.0.1.3680043.8.498.21";

    @TempDir
    Path root;

    /** A thick CT series sent to MEDDIFF: the shipped rules request cubic-thick-to-thin and superres. */
    static SeriesReady thickCt() {
        return SeriesReady.of(
                STUDY,
                STUDY + ".1",
                1,
                40,
                "instances/" + STUDY + "/" + STUDY + ".1",
                RoutingRulesTest.series("CT", 5.0));
    }

    Router router(Spool spool, Outbox outbox, StageProgress progress) {
        return new Router(
                Router.fromConfig(TestSettings.gateway(Map.of()).route().rules()),
                outbox,
                OutboxFiles.quickRetry(progress),
                new ProcessedEvents(spool.processed()),
                new EventReader(new SimpleMeterRegistry()));
    }

    @Test
    void jobRequestsTheOutboxRefuses_areRetriedWithTheRecordHeld_notDropped() throws Exception {
        Spool spool = new Spool(root, 0);
        OutboxFiles.Failing outbox = new OutboxFiles.Failing(spool.outbox(), 4, Topics.JOB_REQUESTED::equals);
        StageProgress progress = new StageProgress();
        Router router = router(spool, outbox, progress);
        Thread consumer = Thread.ofPlatform().start(() -> router.onSeriesReady(Events.toJson(thickCt())));
        consumer.join(Duration.ofSeconds(30));
        assertFalse(consumer.isAlive());
        assertEquals(4, outbox.refused());
        List<String> tasks = OutboxFiles.events(spool.outbox(), Topics.JOB_REQUESTED).stream()
                .map(e -> e.path("task").asText())
                .toList();
        assertEquals(List.of("cubic-thick-to-thin", "superres"), tasks, "every matching rule's job was requested");
        assertTrue(progress.stalls().isEmpty());
    }

    @Test
    void aRecordThatIsNotAReadiness_isSkippedWithoutStoppingTheStage() {
        Spool spool = new Spool(root, 0);
        Router router = router(spool, new Outbox(spool.outbox()), new StageProgress());
        router.onSeriesReady("null");
        router.onSeriesReady("{\"eventId\":\"0d8c2a7e-1f0b-4c39-9a51-3b4e5f6a7b8c\"}");
        router.onSeriesReady(Events.toJson(thickCt())); // and the next real one is routed
        assertEquals(2, OutboxFiles.events(spool.outbox(), Topics.JOB_REQUESTED).size());
    }

    @Test
    void theSameReadinessTwice_isRoutedOnce() {
        Spool spool = new Spool(root, 0);
        Router router = router(spool, new Outbox(spool.outbox()), new StageProgress());
        String json = Events.toJson(thickCt());
        router.onSeriesReady(json);
        router.onSeriesReady(json);
        List<JsonNode> requested = OutboxFiles.events(spool.outbox(), Topics.JOB_REQUESTED);
        assertEquals(2, requested.size(), "two rules, each once: " + requested);
    }

    @Test
    void fromConfig_skipsADisabledRule_andAnUnknownTaskStopsStartUpNamingTheRule() {
        List<String> shipped = Router.fromConfig(
                        TestSettings.gateway(Map.of()).route().rules())
                .rules()
                .stream()
                .map(RoutingRules.Rule::name)
                .toList();
        List<String> withoutOne = Router.fromConfig(
                        TestSettings.gateway(Map.of("gateway.route.rules[1].enabled", "false"))
                                .route()
                                .rules())
                .rules()
                .stream()
                .map(RoutingRules.Rule::name)
                .toList();
        assertEquals(shipped.size() - 1, withoutOne.size());
        assertFalse(withoutOne.contains(shipped.get(1)), withoutOne.toString());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Router.fromConfig(TestSettings.gateway(
                                Map.of("gateway.route.rules[9].name", "typo", "gateway.route.rules[9].task", "denoize"))
                        .route()
                        .rules()));
        assertTrue(
                e.getMessage().contains("'typo'") && e.getMessage().contains("unknown task 'denoize'"), e.getMessage());
    }
}
