package org.meddiff.gateway.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.GatewayClock;
import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.config.TestSettings;
import org.meddiff.gateway.dicom.net.StoreOutcome;
import org.meddiff.gateway.dicom.net.StoreScpServer;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.JobCompleted;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.OutboxFiles;
import org.meddiff.gateway.events.SeriesReady;
import org.meddiff.gateway.events.Topics;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.ingest.IngestPolicy;
import org.meddiff.gateway.spool.Spool;
import org.meddiff.gateway.track.StageProgress;

/**
 * Dispatch against real C-STORE SCPs on loopback: the product's own SCP with a handler that counts what arrives and how
 * many associations store at once, DCMTK's storescp (one association at a time), a port nobody listens on and one that
 * accepts and never answers. Spool, outbox and dispatch state are real files.
 */
class DispatcherTest {
    static final String STUDY = "1.2.826.0.1.3680043.8.498.11";

    @TempDir
    Path root;

    Spool spool;
    StoreScpServer pacs;
    /** Stores per SOP instance UID at the destination. */
    final Map<String, AtomicInteger> stored = new ConcurrentHashMap<>();

    final AtomicInteger storingNow = new AtomicInteger();
    final AtomicInteger mostAtOnce = new AtomicInteger();
    volatile long storeMillis = 0;

    @BeforeEach
    void start() throws IOException {
        spool = new Spool(root.resolve("spool"), 0);
        pacs = new StoreScpServer(
                new StoreScpServer.Settings("127.0.0.1", 0, 64 * 1024, 16, 10_000, root.resolve("pacs-in")),
                new IngestPolicy(Set.of("PACS"), Optional.empty()),
                instance -> {
                    int now = storingNow.incrementAndGet();
                    mostAtOnce.accumulateAndGet(now, Math::max);
                    try {
                        Thread.sleep(storeMillis);
                        stored.computeIfAbsent(instance.sopInstanceUid(), k -> new AtomicInteger())
                                .incrementAndGet();
                        Files.deleteIfExists(instance.file());
                        return StoreOutcome.success();
                    } catch (IOException | InterruptedException e) {
                        throw new IllegalStateException(e);
                    } finally {
                        storingNow.decrementAndGet();
                    }
                });
        pacs.start();
    }

    @AfterEach
    void stop() {
        pacs.close();
    }

    String pacsDestination() {
        return "PACS@127.0.0.1:" + pacs.localPort();
    }

    Dispatcher dispatcher(Outbox outbox, String destinations, Map<String, String> more) {
        Map<String, String> settings = new HashMap<>(Map.of(
                "gateway.dispatch.destinations",
                destinations,
                "gateway.dispatch.initial-backoff",
                "20ms",
                "gateway.dispatch.max-backoff",
                "100ms"));
        settings.putAll(more);
        GatewayConfig config = TestSettings.gateway(settings);
        return new Dispatcher(
                config,
                spool,
                outbox,
                new SimpleMeterRegistry(),
                new DeliveryLog(spool),
                OutboxFiles.quickRetry(new StageProgress()),
                new StoreScuSender(config),
                GatewayClock.SYSTEM);
    }

    /** A job's derived series in the spool (synthetic CT files), and its completion event. */
    JobCompleted completedJob(String jobId, int instances, long seed) throws IOException {
        Path dir = spool.derivedDir(jobId);
        SyntheticCtSeries.Params p =
                SyntheticCtSeries.Params.thick(32, instances).withSeed(seed);
        SyntheticCtSeries.write(dir, p);
        JobRequested job = JobRequested.of(
                jobId,
                "cubic-thick-to-thin",
                "test",
                SeriesReady.of(
                        STUDY, STUDY + "." + seed, 1, instances, "instances/" + STUDY + "/" + STUDY + "." + seed, null),
                Map.of());
        return JobCompleted.of(job, "test/1", p.resolvedSeriesUid(), List.of(), instances, spool.relative(dir), 1);
    }

    List<JsonNode> events(String topic) {
        return OutboxFiles.events(spool.outbox(), topic);
    }

    int totalStores() {
        return stored.values().stream().mapToInt(AtomicInteger::get).sum();
    }

    @Test
    void theSameCompletionTwice_isSentOnce_andItsOutcomeAnnouncedAgain() throws Exception {
        Dispatcher d = dispatcher(new Outbox(spool.outbox()), pacsDestination(), Map.of());
        JobCompleted job = completedJob("a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", 6, 1);
        d.onJobCompleted(Events.toJson(job));
        d.onJobCompleted(Events.toJson(job)); // Kafka redelivers the record
        assertEquals(6, stored.size());
        assertEquals(6, totalStores(), "every instance stored once: " + stored);
        List<JsonNode> outcomes = events(Topics.STORE_COMPLETED);
        assertEquals(2, outcomes.size());
        assertEquals(
                outcomes.get(0).path("eventId").asText(),
                outcomes.get(1).path("eventId").asText(),
                "the repeat announces the recorded outcome, not a new delivery");
    }

    @Test
    void aNewCompletionOfADeliveredSeriesIsNotSentAgain_butAnOperatorsRedeliveryIs() throws Exception {
        Dispatcher d = dispatcher(new Outbox(spool.outbox()), pacsDestination(), Map.of());
        JobCompleted job = completedJob("b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", 5, 2);
        d.onJobCompleted(Events.toJson(job));
        JobCompleted reannounced = new JobCompleted(
                Events.newId(),
                job.type(),
                1,
                Events.now(),
                job.correlationId(),
                job.jobId(),
                job.task(),
                job.method(),
                job.studyInstanceUid(),
                job.seriesInstanceUid(),
                job.derivedSeriesInstanceUid(),
                job.companionSeriesInstanceUids(),
                job.instanceCount(),
                job.derivedRef(),
                2,
                false);
        d.onJobCompleted(Events.toJson(reannounced)); // e.g. a worker announcing the job again from a recomputed marker
        assertEquals(5, totalStores(), "not sent twice");
        d.onJobCompleted(Events.toJson(job.announcedAgain())); // POST /api/jobs/{id}/redeliver
        assertEquals(10, totalStores(), "a redelivery sends it again");
        assertTrue(stored.values().stream().allMatch(n -> n.get() == 2));
    }

    @Test
    void twoJobsThatWroteTheSameDerivedSeries_sendItOnce_andBothAreDelivered() throws Exception {
        Dispatcher d = dispatcher(new Outbox(spool.outbox()), pacsDestination(), Map.of());
        // e.g. the jobs of two readinesses of one series that both read the whole series: the same UIDs
        JobCompleted first = completedJob("3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d", 4, 43);
        JobCompleted second = completedJob("4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e", 4, 43);
        assertEquals(first.derivedSeriesInstanceUid(), second.derivedSeriesInstanceUid());
        d.onJobCompleted(Events.toJson(first));
        d.onJobCompleted(Events.toJson(second));
        assertEquals(4, totalStores(), "sent once: " + stored);
        List<String> deliveredJobs = events(Topics.STORE_COMPLETED).stream()
                .map(e -> e.path("jobId").asText())
                .toList();
        assertEquals(List.of(first.jobId(), second.jobId()), deliveredJobs, "each job shows its series delivered");
    }

    @Test
    void anOutboxFailureAfterASuccessfulStore_doesNotSendTheSeriesAgain() throws Exception {
        OutboxFiles.Failing outbox = new OutboxFiles.Failing(spool.outbox(), 3, Topics.STORE_COMPLETED::equals);
        Dispatcher d = dispatcher(outbox, pacsDestination(), Map.of());
        JobCompleted job = completedJob("c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3", 6, 3);
        d.onJobCompleted(Events.toJson(job));
        assertEquals(3, outbox.refused());
        assertEquals(6, totalStores(), "stored once although announcing it failed three times: " + stored);
        List<JsonNode> outcomes = events(Topics.STORE_COMPLETED);
        assertEquals(1, outcomes.size());
        assertEquals(1, outcomes.get(0).path("attempts").asInt());
    }

    @Test
    void deliveriesToOneDestinationQueue_oneAssociationAtATimeByDefault_NWithStarN() throws Exception {
        storeMillis = 15;
        for (int round = 0; round < 2; round++) {
            String suffix = round == 0 ? "" : "*2";
            mostAtOnce.set(0);
            Dispatcher d = dispatcher(new Outbox(spool.outbox()), pacsDestination() + suffix, Map.of());
            List<Thread> jobs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                JobCompleted job =
                        completedJob(String.format("e%d%d%s", round, i, "4".repeat(29)), 4, 10 * (round + 1) + i);
                jobs.add(Thread.ofPlatform().start(() -> d.onJobCompleted(Events.toJson(job))));
            }
            for (Thread t : jobs) {
                t.join(60_000);
            }
            assertEquals(
                    suffix.isEmpty() ? 1 : 2, mostAtOnce.get(), "associations storing at once with '" + suffix + "'");
        }
        assertEquals(32, totalStores());
        assertTrue(
                events(Topics.STORE_COMPLETED).stream()
                        .allMatch(e -> e.path("attempts").asInt() == 1),
                "no delivery needed a second attempt");
    }

    @Test
    void aSingleAssociationPacs_isNotTimedOutByParallelDeliveries(@TempDir Path received) throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        // DCMTK's storescp as many small PACS are: one association at a time, the next caller waits unanswered
        Process storescp = new ProcessBuilder(
                        "storescp", "-aet", "ONEATATIME", "-od", received.toString(), String.valueOf(port))
                .redirectErrorStream(true)
                .redirectOutput(root.resolve("storescp.log").toFile())
                .start();
        try {
            awaitListening(port);
            Dispatcher d = dispatcher(
                    new Outbox(spool.outbox()),
                    "ONEATATIME@127.0.0.1:" + port,
                    Map.of("gateway.dispatch.association-timeout", "300ms", "gateway.dispatch.response-timeout", "2s"));
            List<Thread> jobs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                JobCompleted job = completedJob(("f" + i).repeat(16), 40, 30 + i);
                jobs.add(Thread.ofPlatform().start(() -> d.onJobCompleted(Events.toJson(job))));
            }
            for (Thread t : jobs) {
                t.join(120_000);
                assertFalse(t.isAlive());
            }
            List<JsonNode> outcomes = events(Topics.STORE_COMPLETED);
            assertEquals(4, outcomes.size(), "every series delivered: " + OutboxFiles.events(spool.outbox()));
            assertTrue(
                    outcomes.stream().allMatch(e -> e.path("attempts").asInt() == 1),
                    "none waited past the association timeout behind another of ours: " + outcomes);
            try (Stream<Path> files = Files.list(received)) {
                assertEquals(160, files.count());
            }
        } finally {
            storescp.destroy();
            storescp.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aDestinationThatIsDown_isWaitedForUpToGiveUpAfter_andTheDeadLetterSaysSo() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort(); // closed again: nothing listens there
        }
        Dispatcher d = dispatcher(
                new Outbox(spool.outbox()),
                "NOWHERE@127.0.0.1:" + port,
                Map.of("gateway.dispatch.max-attempts", "2", "gateway.dispatch.give-up-after", "800ms"));
        long t0 = System.nanoTime();
        d.onJobCompleted(Events.toJson(completedJob("0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", 2, 40)));
        assertTrue(System.nanoTime() - t0 >= Duration.ofMillis(800).toNanos(), "waited for it, not 2 attempts and out");
        List<JsonNode> dead = events(Topics.STORE_DLQ);
        assertEquals(1, dead.size());
        String reason = dead.get(0).path("lastError").asText();
        assertTrue(
                dead.get(0).path("attempts").asInt() > 2, "down is not counted against max-attempts: " + dead.get(0));
        assertTrue(
                reason.contains("NOWHERE@127.0.0.1:" + port + " is down") && reason.contains("give-up-after"), reason);
        assertFalse(reason.contains("null"), reason);
    }

    @Test
    void aDestinationThatAcceptsAndNeverAnswers_isBusy_notDown() throws Exception {
        try (ServerSocket silent = new ServerSocket(0)) { // the kernel completes the TCP handshake; nobody reads
            Dispatcher d = dispatcher(
                    new Outbox(spool.outbox()),
                    "SILENT@127.0.0.1:" + silent.getLocalPort(),
                    Map.of("gateway.dispatch.association-timeout", "200ms", "gateway.dispatch.give-up-after", "600ms"));
            d.onJobCompleted(Events.toJson(completedJob("1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b", 2, 41)));
            String reason = events(Topics.STORE_DLQ).get(0).path("lastError").asText();
            assertTrue(reason.contains("is busy: no answer to the association request within 0.2 s"), reason);
            assertTrue(reason.contains("busy for"), reason);
        }
    }

    @Test
    void aMalformedAnswerFromThePacs_isARefusedAttempt_notACrashOfTheStage() throws Exception {
        try (ServerSocket liar = new ServerSocket(0)) {
            Thread.ofVirtual().start(() -> {
                while (!liar.isClosed()) {
                    try (Socket s = liar.accept()) {
                        s.getInputStream().read(new byte[4096]);
                        // an A-ASSOCIATE-AC whose body is four bytes: every length in it lies
                        s.getOutputStream().write(new byte[] {0x02, 0, 0, 0, 0, 4, 0, 1, 0, 0});
                        s.getOutputStream().flush();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            Dispatcher d = dispatcher(
                    new Outbox(spool.outbox()),
                    "LIAR@127.0.0.1:" + liar.getLocalPort(),
                    Map.of("gateway.dispatch.max-attempts", "2"));
            d.onJobCompleted(Events.toJson(completedJob("5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f", 2, 44)));
            List<JsonNode> dead = events(Topics.STORE_DLQ);
            assertEquals(1, dead.size());
            String reason = dead.get(0).path("lastError").asText();
            assertTrue(reason.contains("malformed answer to the association request"), reason);
            assertEquals(2, dead.get(0).path("attempts").asInt());
        }
    }

    @Test
    void aDerivedSeriesMissingFromTheSpool_isDeadLetteredWithTheReason_notDroppedSilently() throws Exception {
        Dispatcher d = dispatcher(new Outbox(spool.outbox()), pacsDestination(), Map.of());
        JobCompleted job = completedJob("2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c", 2, 42);
        try (Stream<Path> files = Files.walk(spool.derivedDir(job.jobId()))) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p); // the retention removed it before the completion was dispatched
            }
        }
        d.onJobCompleted(Events.toJson(job));
        List<JsonNode> dead = events(Topics.STORE_DLQ);
        assertEquals(1, dead.size());
        assertTrue(
                dead.get(0).path("lastError").asText().contains("is not in the spool"),
                dead.get(0).toString());
        assertEquals(0, totalStores());
    }

    /** A dead letter is the failure a user sees: a full disk must delay it, not lose it (before the fix: logged, dropped). */
    @Test
    void aDeadLetterTheOutboxCannotTakeIsRetriedUntilItCan_notLoggedAndDropped() throws Exception {
        OutboxFiles.Failing outbox = new OutboxFiles.Failing(spool.outbox(), 3, Topics.STORE_DLQ::equals);
        Dispatcher d = dispatcher(outbox, pacsDestination(), Map.of());
        JobCompleted job = completedJob("2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d", 2, 43);
        try (Stream<Path> files = Files.walk(spool.derivedDir(job.jobId()))) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        d.onJobCompleted(Events.toJson(job));
        assertEquals(3, outbox.refused());
        List<JsonNode> dead = events(Topics.STORE_DLQ);
        assertEquals(1, dead.size(), "the dead letter reached the outbox once the disk took it");
        assertEquals(job.jobId(), dead.get(0).path("jobId").asText());
    }

    /** By C-ECHO: a bare TCP probe would hold storescp's only association until its timeout. */
    static void awaitListening(int port) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            Process echo = new ProcessBuilder("echoscu", "-aec", "ONEATATIME", "127.0.0.1", String.valueOf(port))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (echo.waitFor(10, TimeUnit.SECONDS) && echo.exitValue() == 0) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("storescp does not answer C-ECHO on " + port);
    }
}
