package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
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
 * The MedDiff-FM tasks on real peers, routed by called AE title: a noisy low-dose series to MEDDIFF_DN
 * comes back denoised, a thick series to MEDDIFF_SR comes back as a 1 mm diffusion series (with the cubic
 * baseline beside it), a series to MEDDIFF_AD yields an anomaly-map series and a triage.finding on Kafka.
 * Small volumes (1 mm pixels, 48 mm field of view) and few steps keep it CI-sized on 2 cores.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DiffusionTasksIT {
    KafkaBrokerProcess kafka;
    OrthancProcess orthanc;
    GatewayProcess gateway;

    @BeforeAll
    void start() {
        Assumptions.assumeTrue(
                Files.exists(Processes.projectRoot().resolve("models/meddiff-fm-base.onnx")),
                "models/meddiff-fm-base.onnx is not there: export it with onnx-export (see onnx-export/README.md)");
        kafka = KafkaBrokerProcess.start("diffusion");
        orthanc = new OrthancProcess("diffusion").start();
        gateway = new GatewayProcess(
                "diffusion",
                Map.of(
                        "kafka.bootstrap.servers", kafka.bootstrapServers(),
                        "gateway.dispatch.destinations", orthanc.destination(),
                        "gateway.assemble.series-quiet-period", "2s",
                        "gateway.diffusion.denoise.steps", "4",
                        "gateway.diffusion.superres.steps", "4",
                        "gateway.diffusion.anomaly.draws", "2"));
        gateway.start().awaitReady();
    }

    JsonNode awaitJob(String study, Predicate<JsonNode> condition) {
        return StatusApiPoller.awaitJob(gateway, study, condition, Duration.ofSeconds(240));
    }

    @AfterAll
    void stop() {
        StatusApiPoller.closeAll(gateway, orthanc, kafka);
    }

    static SyntheticCtSeries.Params small(long seed, int slices, double thickness) {
        return SyntheticCtSeries.Params.thick(48, slices)
                .withSeed(seed)
                .withPixelSpacing(1.0)
                .withThickness(thickness);
    }

    @Test
    void lowDoseSeriesToMeddiffDnComesBackDenoised(@TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params p = small(51, 24, 1.0).withNoise(40).withDescription("Abdomen LOW DOSE 1.0");
        List<Path> files = SyntheticCtSeries.write(tmp, p);
        assertEquals(
                24, Dcmtk.storeSuccesses(Dcmtk.store("PACS", "MEDDIFF_DN", "localhost", gateway.dicomPort(), files)));
        JsonNode job = awaitJob(
                p.resolvedStudyUid(), j -> "denoise".equals(j.path("task").asText()) && delivered(j));
        List<JsonNode> tags = derivedInstances(job, 24);
        assertTrue(tags.get(0).path("SeriesDescription").asText().endsWith("[MedDiff-FM denoised]"));
        assertTrue(tags.get(0).path("DerivationDescription").asText().contains("DiffPIR denoising"));
        assertDciodvfyClean(job, tmp);
    }

    @Test
    void seriesToMeddiffAdYieldsAnAnomalyMapAndATriageFinding(@TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params p = small(52, 24, 1.0);
        List<Path> files = SyntheticCtSeries.write(tmp, p);
        assertEquals(
                24, Dcmtk.storeSuccesses(Dcmtk.store("PACS", "MEDDIFF_AD", "localhost", gateway.dicomPort(), files)));
        JsonNode job = awaitJob(
                p.resolvedStudyUid(), j -> "anomaly".equals(j.path("task").asText()) && delivered(j));
        List<JsonNode> tags = derivedInstances(job, 24);
        assertTrue(tags.get(0).path("SeriesDescription").asText().endsWith("[MedDiff-FM anomaly map]"));
        List<JsonNode> findings = EventLog.await(
                kafka.bootstrapServers(),
                "triage.finding",
                EventLog.field("seriesInstanceUid", p.resolvedSeriesUid()),
                1,
                Duration.ofSeconds(30));
        assertEquals(1, findings.size());
        JsonNode f = findings.get(0);
        assertEquals(
                job.path("derivedSeriesInstanceUid").asText(),
                f.path("derivedSeriesInstanceUid").asText());
        assertTrue(f.path("score").asDouble() >= 0);
        assertTrue(
                List.of("ROUTINE", "URGENT", "STAT").contains(f.path("priority").asText()));
        assertEquals("abdomen", f.path("region").asText());
        JsonNode tracked = awaitJob(p.resolvedStudyUid(), j -> j.hasNonNull("triagePriority"));
        assertEquals(
                f.path("priority").asText(),
                tracked.path("triagePriority").asText(),
                "the status API shows the finding");
        assertDciodvfyClean(job, tmp);

        // Beside the map: the colour-fused series, RGB secondary captures on the same slices, in the same study.
        JsonNode completed = EventLog.await(
                        kafka.bootstrapServers(),
                        "inference.job.completed",
                        EventLog.field("jobId", job.path("jobId").asText()),
                        1,
                        Duration.ofSeconds(20))
                .get(0);
        assertEquals(1, completed.path("companionSeriesInstanceUids").size(), completed.toString());
        assertEquals(48, completed.path("instanceCount").asInt(), "24 map slices + 24 fused slices");
        assertEquals(
                completed.path("companionSeriesInstanceUids"),
                awaitJob(
                                p.resolvedStudyUid(),
                                j -> j.path("companionSeriesInstanceUids").size() == 1)
                        .path("companionSeriesInstanceUids"),
                "the status API names it");
        String fusedId = orthanc.seriesIdOfUid(
                completed.path("companionSeriesInstanceUids").path(0).asText());
        List<JsonNode> fused = orthanc.instancesOfSeries(fusedId);
        assertEquals(24, fused.size());
        for (JsonNode t : fused) {
            assertEquals("1.2.840.10008.5.1.4.1.1.7", t.path("SOPClassUID").asText(), "secondary capture");
            assertEquals("RGB", t.path("PhotometricInterpretation").asText());
            assertEquals(p.resolvedStudyUid(), t.path("StudyInstanceUID").asText());
            assertTrue(t.path("SeriesDescription").asText().endsWith("[MedDiff-FM anomaly fused]"));
            assertTrue(
                    t.path("DerivationDescription").asText().contains("[meddiff-gateway]"), "never routed again: " + t);
        }
        List<Path> fusedFiles = orthanc.filesOfSeries(fusedId, tmp.resolve("fused"));
        assertEquals(List.of(), Dciodvfy.errors(fusedFiles.get(fusedFiles.size() / 2)));
    }

    @Test
    void thickSeriesToMeddiffSrComesBackAsADiffusionThinSeriesBesideTheCubicBaseline(@TempDir Path tmp)
            throws Exception {
        Assumptions.assumeTrue(
                Files.exists(Processes.projectRoot().resolve("models/meddiff-fm-sr-controlnet.onnx")),
                "models/meddiff-fm-sr-controlnet.onnx is not there: export the ControlNet with onnx-export");
        SyntheticCtSeries.Params p = small(53, 8, 5.0);
        List<Path> files = SyntheticCtSeries.write(tmp, p);
        assertEquals(
                8, Dcmtk.storeSuccesses(Dcmtk.store("PACS", "MEDDIFF_SR", "localhost", gateway.dicomPort(), files)));
        JsonNode sr = awaitJob(
                p.resolvedStudyUid(), j -> "superres".equals(j.path("task").asText()) && delivered(j));
        JsonNode cubic = awaitJob(
                p.resolvedStudyUid(),
                j -> "cubic-thick-to-thin".equals(j.path("task").asText()) && delivered(j));
        // Cubic interpolates between slice centres: (8 - 1) x 5 + 1 slices. The diffusion SR inverts the slab
        // average, so each 5 mm slab becomes 5 thin slices: 8 x 5, centred on the thick slabs.
        assertEquals(36, cubic.path("derivedInstances").asInt());
        assertEquals(40, sr.path("derivedInstances").asInt());
        List<JsonNode> tags = derivedInstances(sr, sr.path("derivedInstances").asInt());
        assertEquals(1.0, Double.parseDouble(tags.get(0).path("SliceThickness").asText()), 1e-6);
        assertTrue(tags.get(0).path("SeriesDescription").asText().contains("[MedDiff-FM SR"));
        assertDciodvfyClean(sr, tmp);
    }

    @Test
    void anMrSeriesToATaskAeEndsInAClearFailureNotAHungWorker(@TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params p = small(54, 4, 1.0);
        List<Path> files = SyntheticCtSeries.write(tmp, p);
        for (Path f : files) {
            Processes.Result r =
                    Processes.run(Duration.ofSeconds(30), "dcmodify", "-nb", "-m", "(0008,0060)=MR", f.toString());
            assertTrue(r.ok(), r.output());
        }
        assertEquals(
                4, Dcmtk.storeSuccesses(Dcmtk.store("PACS", "MEDDIFF_DN", "localhost", gateway.dicomPort(), files)));
        JsonNode job = awaitJob(
                p.resolvedStudyUid(), j -> "FAILED".equals(j.path("state").asText()));
        assertTrue(job.path("error").asText().contains("not CT"), job.toString());
        assertFalse(EventLog.await(
                        kafka.bootstrapServers(),
                        "inference.job.failed",
                        EventLog.field("seriesInstanceUid", p.resolvedSeriesUid()),
                        1,
                        Duration.ofSeconds(20))
                .isEmpty());
    }

    static boolean delivered(JsonNode job) {
        return "COMPLETED".equals(job.path("state").asText())
                && job.path("dispatch").size() > 0
                && job.path("dispatch").elements().next().path("state").asText().equals("DELIVERED");
    }

    List<JsonNode> derivedInstances(JsonNode job, int expected) {
        String seriesId =
                orthanc.seriesIdOfUid(job.path("derivedSeriesInstanceUid").asText());
        List<JsonNode> tags = orthanc.instancesOfSeries(seriesId);
        assertEquals(expected, tags.size());
        for (JsonNode t : tags) {
            assertTrue(t.path("ImageType").asText().startsWith("DERIVED\\SECONDARY"));
        }
        return tags;
    }

    void assertDciodvfyClean(JsonNode job, Path tmp) {
        String seriesId =
                orthanc.seriesIdOfUid(job.path("derivedSeriesInstanceUid").asText());
        List<Path> files = orthanc.filesOfSeries(
                seriesId, tmp.resolve("derived-" + job.path("jobId").asText()));
        assertEquals(List.of(), Dciodvfy.errors(files.get(files.size() / 2)));
    }
}
