package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
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
import org.meddiff.gateway.it.support.Processes;
import org.meddiff.gateway.it.support.StatusApiPoller;

/**
 * The cluster split of deploy/, as two processes on one real broker and one shared spool: a gateway node
 * (ingest, assemble, route, dispatch; infer off) and a worker node (infer only, its own outbox). The series must
 * be assembled once, the job must run on the worker and nowhere else, and the derived series must reach Orthanc
 * through the gateway node's dispatch.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterRolesIT {
    static final String WORKER_OUTBOX = "outbox-worker-0";
    /** Long enough for the worker to start while the series is still open. */
    static final String QUIET = "20s";

    KafkaBrokerProcess kafka;
    OrthancProcess orthanc;
    GatewayProcess gatewayNode;
    GatewayProcess workerNode;

    @BeforeAll
    void start() {
        kafka = KafkaBrokerProcess.start("roles");
        orthanc = new OrthancProcess("roles").start();
        Path spool = Processes.workDir("roles").resolve("spool");
        gatewayNode = new GatewayProcess(
                "roles-gateway",
                Map.of(
                        "kafka.bootstrap.servers",
                        kafka.bootstrapServers(),
                        "gateway.spool.dir",
                        spool.toString(),
                        "gateway.stages.infer",
                        "false",
                        "gateway.route.rules[1].enabled",
                        "false", // the cubic baseline: the split is what is tested here
                        "gateway.dispatch.destinations",
                        orthanc.destination(),
                        "gateway.assemble.series-quiet-period",
                        QUIET));
        gatewayNode.start().awaitReady();
        // started in the test, while a series is still open in the shared spool
        Map<String, String> worker = new HashMap<>(inferOnly(spool));
        worker.put(
                "gateway.dispatch.destinations", orthanc.destination()); // set, and still unused: dispatch is off here
        worker.put("gateway.assemble.series-quiet-period", QUIET);
        workerNode = new GatewayProcess("roles-worker", worker);
    }

    /** A worker node's settings: infer only, on the shared spool, with the worker's outbox. */
    Map<String, String> inferOnly(Path spool) {
        return Map.of(
                "kafka.bootstrap.servers", kafka.bootstrapServers(),
                "gateway.spool.dir", spool.toString(),
                "gateway.spool.outbox", WORKER_OUTBOX,
                "gateway.stages.ingest", "false",
                "gateway.stages.assemble", "false",
                "gateway.stages.route", "false",
                "gateway.stages.dispatch", "false");
    }

    @AfterAll
    void stop() {
        StatusApiPoller.closeAll(workerNode, gatewayNode, orthanc, kafka);
    }

    @Test
    void gatewayNodeIngestsAndDispatchesWhileTheWorkerNodeRunsTheJob(@TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params params = SyntheticCtSeries.Params.thick(64, 8).withSeed(23);
        List<Path> files = SyntheticCtSeries.write(tmp, params);
        String study = params.resolvedStudyUid();
        String source = params.resolvedSeriesUid();
        Processes.Result sent =
                Dcmtk.store("SCANNER", gatewayNode.aeTitle(), "127.0.0.1", gatewayNode.dicomPort(), files);
        assertEquals(8, Dcmtk.storeSuccesses(sent), sent.output());

        long started = System.nanoTime();
        workerNode.start().awaitReady();
        assertTrue(
                Duration.ofNanos(System.nanoTime() - started).toSeconds() < 18,
                "the worker must be up while the series is still open (quiet period " + QUIET + ")");
        assertTrue(
                Processes.read(workerNode.logFile()).contains("stages in this process: infer, track"),
                "the worker says which stages it runs");
        assertFalse(
                Dcmtk.echo(workerNode.aeTitle(), "127.0.0.1", workerNode.dicomPort())
                        .ok(),
                "the worker node has no DICOM listener");

        // Both nodes fold every topic: either status API shows the job delivered.
        JsonNode job = StatusApiPoller.awaitJob(
                gatewayNode,
                study,
                j -> "COMPLETED".equals(j.path("state").asText())
                        && StatusApiPoller.deliveredTo(j, orthanc.destination()),
                Duration.ofSeconds(90));
        String jobId = job.path("jobId").asText();
        StatusApiPoller.awaitJob(
                workerNode, study, j -> StatusApiPoller.deliveredTo(j, orthanc.destination()), Duration.ofSeconds(30));
        String derived = job.path("derivedSeriesInstanceUid").asText();
        assertEquals(
                job.path("derivedInstances").asInt(),
                orthanc.instanceIdsOfSeries(orthanc.seriesIdOfUid(derived)).size());

        // The job ran on the worker, not on the gateway node.
        String workerLog = Processes.read(workerNode.logFile());
        String gatewayLog = Processes.read(gatewayNode.logFile());
        assertTrue(workerLog.contains("job " + jobId + " completed"), "the worker ran job " + jobId);
        assertFalse(gatewayLog.contains("job " + jobId + " completed"), "the gateway node must not run jobs");
        assertTrue(
                Pattern.compile("job " + jobId + ": \\d+ instance\\(s\\) of series \\S+ stored at")
                        .matcher(gatewayLog)
                        .find(),
                "the gateway node dispatched job " + jobId);
        assertFalse(workerLog.contains("stored at"), "the worker node must not dispatch");
        assertTrue(
                gatewayLog.contains("spool retention 7d") && !workerLog.contains("spool retention 7d"),
                "only the assembling process sweeps the shared spool");

        // Assembled once: the worker's process never recovered or announced the series from the shared spool.
        Duration settle = Duration.ofSeconds(6);
        assertEquals(
                1,
                EventLog.await(
                                kafka.bootstrapServers(),
                                "dicom.series.ready",
                                EventLog.field("seriesInstanceUid", source),
                                2,
                                settle)
                        .size(),
                "one series.ready for the series");
        assertEquals(
                1,
                EventLog.await(
                                kafka.bootstrapServers(),
                                "inference.job.completed",
                                EventLog.field("jobId", jobId),
                                2,
                                settle)
                        .size(),
                "one job.completed");

        // Each node drained its own outbox in the shared spool.
        Path spool = gatewayNode.spoolDir();
        Awaitility.await()
                .atMost(Duration.ofSeconds(20))
                .until(() -> pendingEntries(spool.resolve("outbox")) == 0
                        && pendingEntries(spool.resolve(WORKER_OUTBOX)) == 0);

        // A third process on the worker's outbox (a copy-paste slip in a deployment) stops at start-up.
        try (GatewayProcess intruder = new GatewayProcess("roles-intruder", inferOnly(spool))) {
            IllegalStateException refused = Assertions.assertThrows(
                    IllegalStateException.class, () -> intruder.start().awaitReady());
            assertTrue(refused.getMessage().contains("is in use by another process"), refused.getMessage());
        }
    }

    static long pendingEntries(Path outbox) throws Exception {
        try (Stream<Path> entries = Files.list(outbox)) {
            return entries.filter(p -> p.getFileName().toString().endsWith(".evt"))
                    .count();
        }
    }
}
