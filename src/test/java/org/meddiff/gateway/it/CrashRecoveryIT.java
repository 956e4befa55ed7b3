package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import com.fasterxml.jackson.databind.JsonNode;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.it.support.Dcmtk;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;
import org.meddiff.gateway.it.support.OrthancProcess;
import org.meddiff.gateway.it.support.Processes;
import org.meddiff.gateway.it.support.StatusApiPoller;

/**
 * Completeness across a crash: the gateway is killed while a series arrives; after the restart the sender retries what
 * was not acknowledged, within the quiet period. The series open at the crash gets a fresh quiet period at recovery,
 * so it is announced once, whole: no partial derived series reaches the PACS, and the status API says the series was
 * recovered.
 */
class CrashRecoveryIT {
    static final int SLICES = 40;

    @Test
    void killedMidSeries_aRetryWithinTheQuietPeriod_completesItBeforeItIsAnnounced(@TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params params =
                SyntheticCtSeries.Params.thick(64, SLICES).withSeed(91);
        List<Path> files = SyntheticCtSeries.write(tmp.resolve("series"), params);
        try (KafkaBrokerProcess kafka = KafkaBrokerProcess.start("crash-recovery");
                OrthancProcess orthanc = new OrthancProcess("crash-recovery").start();
                GatewayProcess gateway = new GatewayProcess(
                        "crash-recovery",
                        Map.of(
                                "kafka.bootstrap.servers",
                                kafka.bootstrapServers(),
                                "gateway.route.rules[1].enabled",
                                "false",
                                "gateway.dispatch.destinations",
                                orthanc.destination(),
                                // long enough for the restart and the retry, as a site would set it for its senders
                                "gateway.assemble.series-quiet-period",
                                "25s"))) {
            gateway.start().awaitReady();
            // a first series makes sure assemble consumes before the crash (its consumer joins its group at start-up):
            // the series under test must be open in assemble, not only in Kafka, when the gateway dies
            SyntheticCtSeries.Params warmUp =
                    SyntheticCtSeries.Params.thick(32, 2).withSeed(90);
            Dcmtk.storeFast(
                    "SCANNER",
                    gateway.aeTitle(),
                    "127.0.0.1",
                    gateway.dicomPort(),
                    SyntheticCtSeries.write(tmp.resolve("warm-up"), warmUp));
            Path warmUpDir = gateway.spoolDir()
                    .resolve("instances")
                    .resolve(warmUp.resolvedStudyUid())
                    .resolve(warmUp.resolvedSeriesUid());
            Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> Files.exists(warmUpDir.resolve(".series.json")));
            Path seriesDir = gateway.spoolDir()
                    .resolve("instances")
                    .resolve(params.resolvedStudyUid())
                    .resolve(params.resolvedSeriesUid());
            // storescu as shipped (Nagle on, ~45 ms per instance) gives the kill a window mid-series
            CompletableFuture<Processes.Result> sending = CompletableFuture.supplyAsync(
                    () -> Dcmtk.store("SCANNER", gateway.aeTitle(), "127.0.0.1", gateway.dicomPort(), files));
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(20))
                    .until(() ->
                            ResilienceIT.countDcm(seriesDir) >= 8 && Files.exists(seriesDir.resolve(".series.json")));
            gateway.kill();
            Set<String> acknowledged = ResilienceIT.acknowledgedSops(sending.get(), params);
            assertTrue(
                    acknowledged.size() >= 4 && acknowledged.size() < SLICES,
                    "the kill lands mid-series: " + acknowledged.size());

            gateway.start().awaitReady();
            List<Path> unacknowledged = files.stream()
                    .filter(f -> !acknowledged.contains(DiskFullIT.sopOf(f)))
                    .toList();
            Processes.Result retried =
                    Dcmtk.storeFast("SCANNER", gateway.aeTitle(), "127.0.0.1", gateway.dicomPort(), unacknowledged);
            assertEquals(unacknowledged.size(), Dcmtk.storeSuccesses(retried), retried.output());

            JsonNode job = StatusApiPoller.awaitJob(
                    gateway,
                    params.resolvedStudyUid(),
                    j -> StatusApiPoller.deliveredTo(j, orthanc.destination()),
                    Duration.ofSeconds(150));
            int expected = (SLICES - 1) * 5 + 1;
            assertEquals(
                    expected, job.path("derivedInstances").asInt(), "the derived series is made from the whole series");

            JsonNode series = gateway.http("/api/studies/" + params.resolvedStudyUid())
                    .json()
                    .path("series")
                    .get(0);
            assertTrue(
                    gateway.logContains("recovered series " + params.resolvedSeriesUid()),
                    "recovered from the spool at start-up");
            assertEquals(
                    params.resolvedSeriesUid(), series.path("seriesInstanceUid").asText());
            assertTrue(series.path("recovered").asBoolean(), "the status API says the series was recovered: " + series);
            assertEquals(1, series.path("readyGeneration").asInt(), "announced once: " + series);
            assertEquals(SLICES, series.path("readyInstanceCount").asInt());
            assertEquals(1, series.path("jobs").size(), "one job: " + series.path("jobs"));

            // the PACS holds one derived series of this study, whole: nothing partial was ever sent
            String studyId = orthanc.studyOfSeries(orthanc.seriesIdOfUid(
                            job.path("derivedSeriesInstanceUid").asText()))
                    .path("ID")
                    .asText();
            JsonNode study = orthanc.get("/studies/" + studyId);
            assertEquals(1, study.path("Series").size(), "derived series in the PACS: " + study.path("Series"));
            assertEquals(
                    expected,
                    orthanc.instanceIdsOfSeries(study.path("Series").get(0).asText())
                            .size());
        }
    }
}
