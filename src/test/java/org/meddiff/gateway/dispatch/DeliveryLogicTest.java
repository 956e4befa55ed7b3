package org.meddiff.gateway.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.FakeClock;
import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.config.TestSettings;
import org.meddiff.gateway.dicom.net.AssociationFailure;
import org.meddiff.gateway.dicom.net.StoreScu;
import org.meddiff.gateway.events.JobCompleted;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.OutboxFiles;
import org.meddiff.gateway.events.SeriesReady;
import org.meddiff.gateway.events.Topics;
import org.meddiff.gateway.spool.Spool;
import org.meddiff.gateway.track.StageProgress;

/**
 * The dispatcher's decisions alone, behind its sending port and on a fake clock (DispatcherTest runs them against real
 * SCPs): the backoff it waits, how long it waits for a destination that is down, when it gives up, and that a refused
 * SOP class is not retried.
 */
class DeliveryLogicTest {
    static final String STUDY = "1.2.826.0.1.3680043.8.498.77";
    static final String DESTINATION = "PACS@127.0.0.1:104";

    @TempDir
    Path root;

    Spool spool;
    final FakeClock clock = new FakeClock();
    final Deque<Answer> script = new ArrayDeque<>();
    final List<Integer> offered = new ArrayList<>();

    /** What the destination does on one attempt. */
    interface Answer {
        List<StoreScu.FileResult> on(List<Path> files) throws IOException;
    }

    final DestinationSender sender = (destination, files) -> {
        offered.add(files.size());
        Answer next = script.isEmpty() ? DeliveryLogicTest::storeAll : script.poll();
        return next.on(files);
    };

    static List<StoreScu.FileResult> storeAll(List<Path> files) {
        return files.stream()
                .map(f -> new StoreScu.FileResult(f, "2.25.1", 0, null))
                .toList();
    }

    static Answer down() {
        return files -> {
            throw new AssociationFailure(AssociationFailure.Kind.DOWN, DESTINATION + " is down: Connection refused");
        };
    }

    static Answer refuseStatus(int status) {
        return files -> files.stream()
                .map(f -> new StoreScu.FileResult(f, "2.25.1", status, "status 0x" + Integer.toHexString(status)))
                .toList();
    }

    @BeforeEach
    void setUp() {
        spool = new Spool(root, 0);
    }

    Dispatcher dispatcher(Map<String, String> more) {
        Map<String, String> settings = new HashMap<>(Map.of(
                "gateway.dispatch.destinations",
                DESTINATION,
                "gateway.dispatch.initial-backoff",
                "1s",
                "gateway.dispatch.max-backoff",
                "60s"));
        settings.putAll(more);
        GatewayConfig config = TestSettings.gateway(settings);
        return new Dispatcher(
                config,
                spool,
                new Outbox(spool.outbox()),
                new SimpleMeterRegistry(),
                new DeliveryLog(spool),
                OutboxFiles.quickRetry(new StageProgress()),
                sender,
                clock);
    }

    JobCompleted job(int instances) throws IOException {
        Path dir = Files.createDirectories(spool.derivedDir("d".repeat(32)));
        for (int i = 1; i <= instances; i++) {
            Files.writeString(dir.resolve(String.format("%04d.dcm", i)), "x");
        }
        JobRequested request = JobRequested.of(
                "d".repeat(32),
                "denoise",
                "rule",
                SeriesReady.of(STUDY, STUDY + ".1", 1, instances, "instances/" + STUDY + "/" + STUDY + ".1", null),
                Map.of());
        return JobCompleted.of(request, "m/1", "2.25.99", List.of(), instances, spool.relative(dir), 1);
    }

    List<JsonNode> events(String topic) {
        return OutboxFiles.events(spool.outbox(), topic);
    }

    @Test
    void theBackoffDoublesUpToItsMaximum_whileTheDestinationIsDown() throws IOException {
        for (int i = 0; i < 9; i++) {
            script.add(down());
        }
        dispatcher(Map.of()).onJobCompleted(job(3));
        assertEquals(
                List.of(1L, 2L, 4L, 8L, 16L, 32L, 60L, 60L, 60L),
                clock.sleeps().stream().map(Duration::toSeconds).toList());
        assertEquals(1, events(Topics.STORE_COMPLETED).size(), "stored once it was back");
        assertEquals(10, events(Topics.STORE_COMPLETED).get(0).path("attempts").asInt());
    }

    @Test
    void aDestinationDownLongerThanGiveUpAfterIsDeadLetteredSayingSo_notAfterMaxAttempts() throws IOException {
        for (int i = 0; i < 1000; i++) {
            script.add(down());
        }
        dispatcher(Map.of("gateway.dispatch.give-up-after", "12h", "gateway.dispatch.max-attempts", "3"))
                .onJobCompleted(job(2));
        List<JsonNode> dead = events(Topics.STORE_DLQ);
        assertEquals(1, dead.size());
        String reason = dead.get(0).path("lastError").asText();
        assertTrue(reason.contains("down for PT12H"), reason);
        long waited = clock.sleeps().stream().mapToLong(Duration::toSeconds).sum();
        assertTrue(waited >= 12 * 3600 && waited < 12 * 3600 + 60, "waited " + waited + " s");
        assertTrue(offered.size() > 3, "a destination that is down does not use up max-attempts");
    }

    @Test
    void aDestinationThatAnswersAndDoesNotStoreGetsMaxAttempts_andOnlyTheFailedInstancesAreSentAgain()
            throws IOException {
        script.add(files -> {
            List<StoreScu.FileResult> r = new ArrayList<>(storeAll(files.subList(0, 2)));
            r.add(new StoreScu.FileResult(files.get(2), "2.25.3", 0xA700, "status 0xA700"));
            return r;
        });
        for (int i = 0; i < 10; i++) {
            script.add(refuseStatus(0xA700));
        }
        dispatcher(Map.of("gateway.dispatch.max-attempts", "4")).onJobCompleted(job(3));
        assertEquals(List.of(3, 1, 1, 1), offered, "the stored two are not offered again");
        List<JsonNode> dead = events(Topics.STORE_DLQ);
        assertEquals(1, dead.size());
        assertTrue(
                dead.get(0).path("lastError").asText().contains("1 of 3 instance(s) not stored"),
                dead.get(0).toString());
    }

    @Test
    void aRefusedSopClassIsDeadLetteredAtOnce_namingTheClass() throws IOException {
        script.add(files -> files.stream()
                .map(
                        f -> new StoreScu.FileResult(
                                f,
                                "2.25.4",
                                StoreScu.FileResult.SOP_CLASS_REFUSED,
                                "peer refused SOP class 1.2.840.10008.5.1.4.1.1.7 in 1.2.840.10008.1.2.1 (no accepted context)"))
                .toList());
        dispatcher(Map.of()).onJobCompleted(job(2));
        assertEquals(List.of(2), offered, "not retried");
        assertEquals(List.of(), clock.sleeps());
        String reason = events(Topics.STORE_DLQ).get(0).path("lastError").asText();
        assertTrue(
                reason.contains("refused SOP class 1.2.840.10008.5.1.4.1.1.7") && reason.contains("for 2 instance(s)"),
                reason);
    }

    @Test
    void theBackoffPolicyAsAValue() {
        DeliveryPolicy p = new DeliveryPolicy(8, Duration.ofHours(12), Duration.ofSeconds(1), Duration.ofSeconds(5));
        assertEquals(Duration.ofSeconds(4), p.nextBackoff(Duration.ofSeconds(2)));
        assertEquals(Duration.ofSeconds(5), p.nextBackoff(Duration.ofSeconds(4)));
        assertEquals(Duration.ofSeconds(5), p.nextBackoff(Duration.ofSeconds(5)));
    }
}
