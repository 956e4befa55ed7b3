package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.it.support.Dcmtk;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;
import org.meddiff.gateway.it.support.OrthancProcess;
import org.meddiff.gateway.it.support.Processes;
import org.meddiff.gateway.it.support.StatusApiPoller;

/**
 * What the README promises an operator, checked on the packaged gateway: the Prometheus values after a stored and
 * processed series, 0xA700 through the real ingest path when the spool is below its free-space floor, and a start-up
 * with an invalid setting that stops with a non-zero exit naming the key.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OperatorClaimsIT {
    KafkaBrokerProcess kafka;
    OrthancProcess orthanc;

    @BeforeAll
    void start() {
        kafka = KafkaBrokerProcess.start("claims");
        orthanc = new OrthancProcess("claims").start();
    }

    @AfterAll
    void stop() {
        StatusApiPoller.closeAll(orthanc, kafka);
    }

    /** The value of one Prometheus sample line (name with its labels, exactly), or NaN when absent. */
    static double sample(String metrics, String nameWithLabels) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(nameWithLabels) + " ([0-9.eE+-]+)$")
                .matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    @Test
    void theMetricsCountWhatWasStoredProcessedAndDelivered(@TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params params = SyntheticCtSeries.Params.thick(32, 6).withSeed(71);
        List<Path> files = SyntheticCtSeries.write(tmp, params);
        try (GatewayProcess gateway = new GatewayProcess(
                        "claims-metrics",
                        Map.of(
                                "kafka.bootstrap.servers",
                                kafka.bootstrapServers(),
                                "gateway.route.rules[1].enabled",
                                "false",
                                "gateway.dispatch.destinations",
                                orthanc.destination(),
                                "gateway.assemble.series-quiet-period",
                                "2s"))
                .start()
                .awaitReady()) {
            assertEquals(
                    6,
                    Dcmtk.storeSuccesses(
                            Dcmtk.storeFast("SCANNER", gateway.aeTitle(), "127.0.0.1", gateway.dicomPort(), files)));
            StatusApiPoller.awaitJob(
                    gateway,
                    params.resolvedStudyUid(),
                    j -> StatusApiPoller.deliveredTo(j, orthanc.destination()),
                    Duration.ofSeconds(90));
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> sample(gateway.http("/q/metrics").body(), "gateway_outbox_pending") == 0.0);
            String m = gateway.http("/q/metrics").body();
            assertEquals(6.0, sample(m, "gateway_instances_stored_total"), m);
            assertEquals(6.0, sample(m, "gateway_ingest_store_seconds_count"), "one store timing per instance");
            assertEquals(1.0, sample(m, "gateway_job_duration_seconds_count{task=\"cubic-thick-to-thin\"}"), m);
            assertEquals(
                    26.0,
                    sample(m, "gateway_dispatch_instances_total{destination=\"" + orthanc.destination() + "\"}"),
                    "5 mm -> 1 mm: 5 x 5 + 1 derived instances delivered");
            assertEquals(0.0, sample(m, "gateway_dispatch_waiting{destination=\"" + orthanc.destination() + "\"}"));
            assertTrue(
                    Double.isNaN(sample(m, "gateway_instances_refused_total{status=\"0xA700\"}")), "nothing refused");
        }
    }

    @Test
    void belowTheFreeSpaceFloor_aCStoreIsRefusedWithA700_andLeavesNothing(@TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params params = SyntheticCtSeries.Params.thick(32, 3).withSeed(72);
        List<Path> files = SyntheticCtSeries.write(tmp, params);
        try (GatewayProcess gateway = new GatewayProcess(
                        "claims-a700",
                        Map.of(
                                "kafka.bootstrap.servers", kafka.bootstrapServers(),
                                "gateway.spool.min-free-megabytes", String.valueOf(1L << 40)))
                .start()
                .awaitReady()) { // no disk has that
            Processes.Result sent = Dcmtk.store(
                    "SCANNER",
                    gateway.aeTitle(),
                    "127.0.0.1",
                    gateway.dicomPort(),
                    files,
                    List.of("--no-halt"),
                    Map.of()); // storescu stops at the first refusal otherwise
            assertEquals(0, Dcmtk.storeSuccesses(sent), sent.output());
            assertEquals(3, sent.linesContaining("Refused: OutOfResources").size(), sent.output());
            try (Stream<Path> stored = Files.walk(gateway.spoolDir().resolve("instances"))) {
                assertEquals(0, stored.filter(Files::isRegularFile).count(), "nothing refused is in the spool");
            }
            assertEquals(
                    3.0,
                    sample(gateway.http("/q/metrics").body(), "gateway_instances_refused_total{status=\"0xA700\"}"));
            assertTrue(gateway.logContains("refused with 0xA700: spool is full"), "the log says why");
        }
    }

    @Test
    void aGatewayStopsPromptlyWhileTheBrokerIsDown() {
        // its consumers wait for the broker without a time limit (default.api.timeout.ms): a stop must still end them
        try (KafkaBrokerProcess broker = KafkaBrokerProcess.start("claims-stop");
                GatewayProcess gateway = new GatewayProcess(
                                "claims-stop", Map.of("kafka.bootstrap.servers", broker.bootstrapServers()))
                        .start()
                        .awaitReady()) {
            broker.kill();
            Processes.sleep(5_000);
            long t0 = System.nanoTime();
            int exit = gateway.stop(Duration.ofSeconds(60));
            long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
            assertTrue(seconds < 45, "stopped after " + seconds + " s:\n" + Processes.tail(gateway.logFile(), 30));
            assertTrue(exit == 0 || exit == 143, "a clean stop (SIGTERM), not a kill after the grace: exit " + exit);
        }
    }

    @Test
    void anInvalidSettingStopsStartUpWithANonZeroExitNamingTheKey() {
        Map<String, String> invalid = Map.of(
                "gateway.dicom.port", "eleven-thousand",
                "gateway.dispatch.destinations", "PACS-without-a-port",
                "gateway.infer.max-attempts", "0");
        for (Map.Entry<String, String> setting : invalid.entrySet()) {
            GatewayProcess gateway = new GatewayProcess(
                    "claims-invalid-" + setting.getKey().replace('.', '-'),
                    Map.of("kafka.bootstrap.servers", kafka.bootstrapServers(), setting.getKey(), setting.getValue()));
            try {
                gateway.start();
                int exit = gateway.awaitExit(Duration.ofSeconds(60));
                assertNotEquals(-1, exit, setting + ": the gateway did not stop");
                assertNotEquals(0, exit, setting + ": exit code");
                String log = gateway.log();
                assertTrue(
                        log.contains(setting.getKey()),
                        setting + ": the log names the key:\n" + Processes.tail(gateway.logFile(), 30));
            } finally {
                gateway.close();
            }
        }
    }
}
