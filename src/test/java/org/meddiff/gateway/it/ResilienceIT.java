package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.it.support.Dcmtk;
import org.meddiff.gateway.it.support.EventLog;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;
import org.meddiff.gateway.it.support.OrthancProcess;
import org.meddiff.gateway.it.support.Ports;
import org.meddiff.gateway.it.support.Processes;
import org.meddiff.gateway.it.support.StatusApiPoller;

/**
 * Failures a hospital deployment meets: the gateway killed mid-series, Kafka down at ingest, the PACS
 * down when a job completes, a destination that never comes back (dead letter).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResilienceIT {
    static final int MAX_ATTEMPTS = 6;
    static final int GIVE_UP_AFTER_SECONDS = 10;

    KafkaBrokerProcess kafka;
    OrthancProcess orthanc;
    GatewayProcess gateway;
    String deadDestination;

    @BeforeAll
    void start() {
        kafka = KafkaBrokerProcess.start("resilience");
        orthanc = new OrthancProcess("resilience").start();
        deadDestination = "NOWHERE@127.0.0.1:" + Ports.free();
        gateway = new GatewayProcess(
                "resilience",
                Map.of(
                        "kafka.bootstrap.servers",
                        kafka.bootstrapServers(),
                        "gateway.route.rules[1].enabled",
                        "false", // the backbone is tested with the cubic baseline alone
                        "gateway.dispatch.destinations",
                        orthanc.destination() + "," + deadDestination,
                        "gateway.dispatch.max-attempts",
                        String.valueOf(MAX_ATTEMPTS),
                        "gateway.dispatch.initial-backoff",
                        "500ms",
                        "gateway.dispatch.max-backoff",
                        "2s",
                        // the dead destination refuses connections: it is waited for this long, then dead-lettered
                        "gateway.dispatch.give-up-after",
                        GIVE_UP_AFTER_SECONDS + "s",
                        "gateway.assemble.series-quiet-period",
                        "4s"));
        gateway.start().awaitReady();
    }

    JsonNode awaitJob(String study, Predicate<JsonNode> condition, int seconds) {
        return StatusApiPoller.awaitJob(gateway, study, condition, Duration.ofSeconds(seconds));
    }

    @AfterAll
    void stop() {
        StatusApiPoller.closeAll(gateway, orthanc, kafka);
    }

    @Test
    void killedWhileASeriesArrives_everyAcknowledgedInstanceSurvivesAndTheSeriesCompletes(@TempDir Path tmp)
            throws Exception {
        SyntheticCtSeries.Params params = SyntheticCtSeries.Params.thick(64, 40).withSeed(21);
        List<Path> files = SyntheticCtSeries.write(tmp, params);
        Path seriesDir = gateway.spoolDir()
                .resolve("instances")
                .resolve(params.resolvedStudyUid())
                .resolve(params.resolvedSeriesUid());

        // storescu as shipped (Nagle on, ~45 ms per instance) gives the kill a window mid-series.
        CompletableFuture<Processes.Result> sending = CompletableFuture.supplyAsync(
                () -> Dcmtk.store("SCANNER", gateway.aeTitle(), "localhost", gateway.dicomPort(), files));
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(20))
                .until(() -> countDcm(seriesDir) >= 8);
        gateway.kill();
        Processes.Result result = sending.get();
        Set<String> acknowledged = acknowledgedSops(result, params);
        // At least the first few were answered; the kill can also land between the rename and the response
        // (that instance is durable but unacknowledged, so the sender will resend it: fine either way).
        assertTrue(
                acknowledged.size() >= 4 && acknowledged.size() < 40,
                "the kill must land mid-series; acknowledged " + acknowledged.size() + "\n" + result.output());

        gateway.start().awaitReady();
        for (String sop : acknowledged) {
            assertTrue(
                    Files.exists(seriesDir.resolve(sop + ".dcm")),
                    "acknowledged instance " + sop + " is not in the spool");
        }
        Set<String> announced = new HashSet<>();
        EventLog.await(
                        kafka.bootstrapServers(),
                        "dicom.instance.received",
                        EventLog.field("seriesInstanceUid", params.resolvedSeriesUid()),
                        acknowledged.size(),
                        Duration.ofSeconds(30))
                .forEach(e -> announced.add(e.path("sopInstanceUid").asText()));
        assertTrue(
                announced.containsAll(acknowledged),
                "every acknowledged instance reaches Kafka; missing: "
                        + acknowledged.stream()
                                .filter(s -> !announced.contains(s))
                                .toList());

        // The modality resends the series; it completes.
        Processes.Result resent = Dcmtk.store("SCANNER", gateway.aeTitle(), "localhost", gateway.dicomPort(), files);
        assertEquals(40, Dcmtk.storeSuccesses(resent), resent.output());
        JsonNode job = awaitJob(
                params.resolvedStudyUid(),
                j -> j.path("derivedInstances").asInt() == 39 * 5 + 1
                        && "DELIVERED"
                                .equals(j.path("dispatch")
                                        .path(orthanc.destination())
                                        .path("state")
                                        .asText()),
                120);
        String seriesId =
                orthanc.seriesIdOfUid(job.path("derivedSeriesInstanceUid").asText());
        assertEquals(39 * 5 + 1, orthanc.instanceIdsOfSeries(seriesId).size());
    }

    @Test
    void kafkaDownAtIngest_noAcknowledgedInstanceIsLost(@TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params params = SyntheticCtSeries.Params.thick(64, 12).withSeed(22);
        List<Path> files = SyntheticCtSeries.write(tmp, params);
        kafka.kill();
        try {
            Processes.Result sent = Dcmtk.store("SCANNER", gateway.aeTitle(), "localhost", gateway.dicomPort(), files);
            assertEquals(
                    12,
                    Dcmtk.storeSuccesses(sent),
                    "ingest must keep acknowledging while Kafka is down\n" + sent.output());
            try (Stream<Path> outbox = Files.list(gateway.spoolDir().resolve("outbox"))) {
                assertTrue(outbox.count() >= 12, "the events wait in the durable outbox");
            }
        } finally {
            kafka.restart();
        }
        Set<String> announced = new HashSet<>();
        EventLog.await(
                        kafka.bootstrapServers(),
                        "dicom.instance.received",
                        EventLog.field("seriesInstanceUid", params.resolvedSeriesUid()),
                        12,
                        Duration.ofSeconds(60))
                .forEach(e -> announced.add(e.path("sopInstanceUid").asText()));
        assertEquals(12, announced.size());
        awaitJob(
                params.resolvedStudyUid(),
                j -> "DELIVERED"
                        .equals(j.path("dispatch")
                                .path(orthanc.destination())
                                .path("state")
                                .asText()),
                120);
    }

    @Test
    void pacsDownWhenTheJobCompletes_deliveryIsRetriedUntilItComesBack_andADeadDestinationIsDeadLettered(
            @TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params params = SyntheticCtSeries.Params.thick(64, 12).withSeed(23);
        List<Path> files = SyntheticCtSeries.write(tmp, params);
        orthanc.stop();
        int failuresBefore = countOccurrences(gateway.log(), orthanc.destination() + " is down");
        try {
            Processes.Result sent = Dcmtk.store("SCANNER", gateway.aeTitle(), "localhost", gateway.dicomPort(), files);
            assertEquals(12, Dcmtk.storeSuccesses(sent), sent.output());
            Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> countOccurrences(gateway.log(), orthanc.destination() + " is down") > failuresBefore);
        } finally {
            orthanc.start();
        }
        JsonNode job = awaitJob(
                params.resolvedStudyUid(),
                j -> "DELIVERED"
                        .equals(j.path("dispatch")
                                .path(orthanc.destination())
                                .path("state")
                                .asText()),
                120);
        assertTrue(
                job.path("dispatch")
                                .path(orthanc.destination())
                                .path("attempts")
                                .asInt()
                        >= 2,
                "delivered after a retry: " + job);
        String seriesId =
                orthanc.seriesIdOfUid(job.path("derivedSeriesInstanceUid").asText());
        assertEquals(
                job.path("derivedInstances").asInt(),
                orthanc.instanceIdsOfSeries(seriesId).size());

        // The destination that never answers ends on the dead-letter topic after the last attempt.
        String jobId = job.path("jobId").asText();
        List<JsonNode> dead = EventLog.await(
                kafka.bootstrapServers(), "pacs.store.dlq", EventLog.field("jobId", jobId), 1, Duration.ofSeconds(60));
        assertEquals(1, dead.size());
        assertEquals(deadDestination, dead.get(0).path("destination").asText());
        // nothing listens there: waited for (not counted against max-attempts) until give-up-after, then dead-lettered
        assertTrue(
                dead.get(0).path("attempts").asInt() > MAX_ATTEMPTS, dead.get(0).toString());
        String reason = dead.get(0).path("lastError").asText();
        assertTrue(
                reason.contains(deadDestination + " is down") && reason.contains("gateway.dispatch.give-up-after"),
                reason);
        awaitJob(
                params.resolvedStudyUid(),
                j -> "DEAD_LETTERED"
                        .equals(j.path("dispatch")
                                .path(deadDestination)
                                .path("state")
                                .asText()),
                30);

        // An operator asks for the delivery again (say, once the dead PACS is back): the series is sent anew.
        GatewayProcess.HttpResult again = gateway.http("POST", "/api/jobs/" + jobId + "/redeliver", null);
        assertEquals(202, again.status(), again.body());
        assertEquals(
                job.path("derivedSeriesInstanceUid").asText(),
                again.json().path("derivedSeriesInstanceUid").asText());
        Awaitility.await()
                .atMost(Duration.ofSeconds(60))
                .until(() -> EventLog.await(
                                        kafka.bootstrapServers(),
                                        "pacs.store.completed",
                                        EventLog.field("jobId", jobId),
                                        2,
                                        Duration.ofSeconds(2))
                                .stream()
                                .filter(e -> orthanc.destination()
                                        .equals(e.path("destination").asText()))
                                .count()
                        >= 2);
        assertEquals(
                job.path("derivedInstances").asInt(),
                orthanc.instanceIdsOfSeries(seriesId).size(),
                "the same UIDs: the PACS still holds one copy");
        GatewayProcess.HttpResult unknown =
                gateway.http("POST", "/api/jobs/0123456789abcdef0123456789abcdef/redeliver", null);
        assertEquals(404, unknown.status());
        assertTrue(unknown.body().contains("No completed job"), unknown.body());
        assertEquals(
                400, gateway.http("POST", "/api/jobs/NOT-A-JOB/redeliver", null).status());
    }

    /** SOP instances storescu -v reported as stored: each success line answers the file sent just before. */
    static Set<String> acknowledgedSops(Processes.Result result, SyntheticCtSeries.Params params) {
        Set<String> sops = new HashSet<>();
        String lastFile = null;
        for (String line : result.output().lines().toList()) {
            if (line.contains("Sending file:")) {
                lastFile = line.substring(line.indexOf("Sending file:") + "Sending file:".length())
                        .trim();
            } else if (line.contains("Received Store Response (Success)") && lastFile != null) {
                String name = Path.of(lastFile).getFileName().toString();
                int instance = Integer.parseInt(name.replaceAll("\\D", ""));
                sops.add(params.sopInstanceUid(instance));
            }
        }
        return sops;
    }

    static long countDcm(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".dcm")).count();
        }
    }

    static int countOccurrences(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }
}
