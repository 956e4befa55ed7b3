package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.it.support.Dciodvfy;
import org.meddiff.gateway.it.support.Dcmtk;
import org.meddiff.gateway.it.support.EventLog;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;
import org.meddiff.gateway.it.support.OrthancProcess;
import org.meddiff.gateway.it.support.Processes;
import org.meddiff.gateway.it.support.StatusApiPoller;

/**
 * The backbone on real peers: DCMTK storescu -> gateway -> real Kafka broker -> cubic thick-to-thin
 * worker -> C-STORE into a real Orthanc, checked through Orthanc's REST API and dciodvfy.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EndToEndIT {
    static final int SLICES = 12;
    static final double THICKNESS = 5.0;

    KafkaBrokerProcess kafka;
    OrthancProcess orthanc;
    GatewayProcess gateway;

    @BeforeAll
    void start() {
        kafka = KafkaBrokerProcess.start("e2e");
        orthanc = new OrthancProcess("e2e").start();
        gateway = new GatewayProcess(
                "e2e",
                Map.of(
                        "kafka.bootstrap.servers", kafka.bootstrapServers(),
                        "gateway.route.rules[1].enabled",
                                "false", // the backbone is tested with the cubic baseline alone
                        "gateway.dispatch.destinations", orthanc.destination(),
                        "gateway.dicom.allowed-calling-aes", "SCANNER,PACS",
                        "gateway.assemble.series-quiet-period", "2s"));
        gateway.start().awaitReady();
    }

    @AfterAll
    void stop() {
        StatusApiPoller.closeAll(gateway, orthanc, kafka);
    }

    @Test
    void thickSeriesComesBackIntoThePacsAsOneMillimetreDerivedSeries(@TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params params =
                SyntheticCtSeries.Params.thick(64, SLICES).withSeed(11);
        List<Path> files = SyntheticCtSeries.write(tmp, params);
        String study = params.resolvedStudyUid();
        String source = params.resolvedSeriesUid();
        Set<String> sourceSops = new HashSet<>();
        for (int i = 1; i <= SLICES; i++) {
            sourceSops.add(params.sopInstanceUid(i));
        }

        Processes.Result sent = Dcmtk.store("SCANNER", gateway.aeTitle(), "localhost", gateway.dicomPort(), files);
        assertEquals(SLICES, Dcmtk.storeSuccesses(sent), sent.output());

        JsonNode job = awaitDelivered(study, orthanc.destination());
        String derived = job.path("derivedSeriesInstanceUid").asText();
        int expectedSlices = (int) Math.floor((SLICES - 1) * THICKNESS / 1.0) + 1;
        assertEquals(expectedSlices, job.path("derivedInstances").asInt());

        // What a PACS user sees: a new series in the same study, 1 mm slices, derived, referencing the source.
        String seriesId = orthanc.seriesIdOfUid(derived);
        List<JsonNode> instances = orthanc.instancesOfSeries(seriesId);
        assertEquals(expectedSlices, instances.size());
        assertNotEquals(source, derived);
        List<Double> z = new ArrayList<>();
        for (JsonNode tags : instances) {
            assertEquals(study, tags.path("StudyInstanceUID").asText());
            assertEquals(derived, tags.path("SeriesInstanceUID").asText());
            assertTrue(
                    tags.path("ImageType").asText().startsWith("DERIVED\\SECONDARY"),
                    tags.path("ImageType").asText());
            assertEquals(1.0, Double.parseDouble(tags.path("SliceThickness").asText()), 1e-6);
            assertEquals(
                    1.0, Double.parseDouble(tags.path("SpacingBetweenSlices").asText()), 1e-6);
            assertTrue(
                    tags.path("SeriesDescription").asText().endsWith("[cubic 1.0mm]"),
                    tags.path("SeriesDescription").asText());
            assertTrue(tags.path("DerivationDescription").asText().contains("[meddiff-gateway]"));
            String referenced = tags.path("SourceImageSequence")
                    .path(0)
                    .path("ReferencedSOPInstanceUID")
                    .asText();
            assertTrue(
                    sourceSops.contains(referenced), "SourceImageSequence must point at a source slice: " + referenced);
            z.add(Double.parseDouble(tags.path("ImagePositionPatient").asText().split("\\\\")[2]));
        }
        z.sort(null);
        double firstZ = Math.min(params.imagePosition(1)[2], params.imagePosition(SLICES)[2]); // lowest source slice
        for (int i = 0; i < z.size(); i++) {
            assertEquals(firstZ + i * 1.0, z.get(i), 1e-3, "slice " + i + " position");
        }

        // dciodvfy on what Orthanc holds: first, middle and last slice.
        List<Path> downloaded = orthanc.filesOfSeries(seriesId, tmp.resolve("from-orthanc"));
        for (Path f : List.of(
                downloaded.get(0), downloaded.get(downloaded.size() / 2), downloaded.get(downloaded.size() - 1))) {
            assertEquals(List.of(), Dciodvfy.errors(f), "dciodvfy errors in " + f);
        }

        // The real broker carried every stage's events.
        Duration t = Duration.ofSeconds(20);
        Set<String> announced = new HashSet<>();
        EventLog.await(
                        kafka.bootstrapServers(),
                        "dicom.instance.received",
                        EventLog.field("seriesInstanceUid", source),
                        SLICES,
                        t)
                .forEach(e -> announced.add(e.path("sopInstanceUid").asText()));
        assertEquals(sourceSops, announced);
        List<JsonNode> ready = EventLog.await(
                kafka.bootstrapServers(), "dicom.series.ready", EventLog.field("seriesInstanceUid", source), 1, t);
        assertEquals(1, ready.size());
        assertEquals(SLICES, ready.get(0).path("instanceCount").asInt());
        assertEquals(study, ready.get(0).path("correlationId").asText());
        assertFalse(EventLog.await(
                        kafka.bootstrapServers(),
                        "inference.job.completed",
                        EventLog.field("derivedSeriesInstanceUid", derived),
                        1,
                        t)
                .isEmpty());
        assertFalse(EventLog.await(
                        kafka.bootstrapServers(),
                        "pacs.store.completed",
                        EventLog.field("derivedSeriesInstanceUid", derived),
                        1,
                        t)
                .isEmpty());

        // The same request record again (at-least-once delivery) does no second piece of work; a retried job whose
        // result is recomputed (its marker gone, the job requested anew) writes the same UIDs: no second series, and
        // dispatch does not send it again.
        String jobId = job.path("jobId").asText();
        JsonNode request = EventLog.await(
                        kafka.bootstrapServers(), "inference.job.requested", EventLog.field("jobId", jobId), 1, t)
                .get(0);
        EventLog.publish(kafka.bootstrapServers(), "inference.job.requested", study, request.toString());
        Files.delete(gateway.spoolDir().resolve("derived").resolve(jobId).resolve(".complete.json"));
        ObjectNode anew = request.deepCopy();
        anew.put("eventId", UUID.randomUUID().toString());
        EventLog.publish(kafka.bootstrapServers(), "inference.job.requested", study, anew.toString());
        List<JsonNode> completions = EventLog.await(
                kafka.bootstrapServers(),
                "inference.job.completed",
                EventLog.field("jobId", jobId),
                2,
                Duration.ofSeconds(60));
        // same partition, in order: the duplicate was handled (skipped) before the new request was recomputed
        assertEquals(2, completions.size(), "the duplicate record recomputed nothing: " + completions);
        assertEquals(
                derived,
                completions.get(1).path("derivedSeriesInstanceUid").asText(),
                "the recomputed job has the same UIDs");
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> gateway.logContains("already has the derived series " + derived));
        JsonNode studyInOrthanc = orthanc.studyOfSeries(seriesId);
        assertEquals(1, studyInOrthanc.path("Series").size(), "the recomputed job must not add a series");
        assertEquals(expectedSlices, orthanc.instanceIdsOfSeries(seriesId).size());

        // The status page a user opens in a browser is served beside the API it reads.
        GatewayProcess.HttpResult page = gateway.http("/");
        assertEquals(200, page.status());
        assertTrue(
                page.body().contains("<title>MedDiff-FM gateway") && page.body().contains("fetch(\"api/studies\")"),
                "the status page reads the status API");
        assertTrue(gateway.http("/api/studies").body().contains(study), "the page's source lists the study");
    }

    /** Waits until the study's job is completed and delivered to {@code destination}; returns its status. */
    JsonNode awaitDelivered(String study, String destination) {
        return StatusApiPoller.awaitJob(
                gateway,
                study,
                j -> "COMPLETED".equals(j.path("state").asText()) && StatusApiPoller.deliveredTo(j, destination),
                Duration.ofSeconds(90));
    }
}
