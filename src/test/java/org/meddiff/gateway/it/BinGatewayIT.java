package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.it.support.Dcmtk;
import org.meddiff.gateway.it.support.OrthancProcess;
import org.meddiff.gateway.it.support.Ports;
import org.meddiff.gateway.it.support.Processes;

/**
 * The README's first command as a new user types it: {@code bin/gateway} on the default ports starts
 * its own Kafka broker, answers {@code echoscu -aec MEDDIFF localhost 11112}, takes a series, and the
 * status endpoint follows the job through to dispatch.
 */
class BinGatewayIT {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void binGatewayRunsTheWholeChainOnDefaultPorts(@TempDir Path tmp) throws Exception {
        for (int port : new int[] {11112, 8080, 9092, 9093}) {
            Assumptions.assumeFalse(
                    Ports.accepting(port),
                    "port " + port
                            + " is in use (a gateway or broker already running?): bin/gateway cannot use its defaults");
        }
        try (OrthancProcess orthanc = new OrthancProcess("bin-gateway").start()) {
            Path log = Processes.logDir().resolve("bin-gateway.log");
            Process gateway = new ProcessBuilder(
                            "bin/gateway",
                            "-Dgateway.dispatch.destinations=" + orthanc.destination(),
                            "-Dgateway.assemble.series-quiet-period=2s",
                            // only the cubic baseline here: the diffusion tasks have their own IT
                            "-Dgateway.route.rules[1].enabled=false",
                            "-Dgateway.spool.dir=" + tmp.resolve("spool"))
                    .directory(Processes.projectRoot().toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()))
                    .start();
            try {
                Awaitility.await()
                        .atMost(Duration.ofSeconds(180))
                        .pollInterval(Duration.ofSeconds(1))
                        .until(() -> Processes.read(log).contains("gateway: ready."));
                assertTrue(Dcmtk.echo("MEDDIFF", "localhost", 11112).ok(), "echoscu -aec MEDDIFF localhost 11112");

                SyntheticCtSeries.Params params =
                        SyntheticCtSeries.Params.thick(64, 8).withSeed(41);
                List<Path> files = SyntheticCtSeries.write(tmp.resolve("series"), params);
                assertEquals(8, Dcmtk.storeSuccesses(Dcmtk.store("SCANNER", "MEDDIFF", "localhost", 11112, files)));

                HttpClient http = HttpClient.newHttpClient();
                URI status = URI.create("http://127.0.0.1:8080/api/studies/" + params.resolvedStudyUid());
                String[] last = new String[1];
                Awaitility.await()
                        .atMost(Duration.ofSeconds(90))
                        .pollInterval(Duration.ofSeconds(1))
                        .conditionEvaluationListener(c -> {
                            if (c.getRemainingTimeInMS() < 1500) {
                                System.out.println("last status: " + last[0]);
                            }
                        })
                        .until(() -> {
                            HttpResponse<String> r = http.send(
                                    HttpRequest.newBuilder(status).build(), HttpResponse.BodyHandlers.ofString());
                            last[0] = r.statusCode() + " " + r.body();
                            if (r.statusCode() != 200) {
                                return false;
                            }
                            JsonNode series = JSON.readTree(r.body()).path("series");
                            assertEquals(1, series.size(), "one source series, its jobs under it: " + r.body());
                            JsonNode job = series.path(0).path("jobs").path(0);
                            return "COMPLETED".equals(job.path("state").asText())
                                    && "DELIVERED"
                                            .equals(job.path("dispatch")
                                                    .path(orthanc.destination())
                                                    .path("state")
                                                    .asText());
                        });
                assertEquals(1, orthanc.seriesIds().size(), "the derived series is in the PACS");
            } finally {
                gateway.destroy(); // SIGTERM: the script stops the gateway, then the broker it started
                assertTrue(gateway.waitFor(60, TimeUnit.SECONDS), "bin/gateway did not stop within 60 s");
            }
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> !Ports.accepting(9092) && !Ports.accepting(11112));
        }
    }
}
