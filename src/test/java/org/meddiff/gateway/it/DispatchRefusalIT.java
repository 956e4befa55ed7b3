package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.dicom.DerivedSeriesSpec;
import org.meddiff.gateway.dicom.pixelmed.PixelMedDatasets;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.JobCompleted;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.SeriesReady;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.it.support.EventLog;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;
import org.meddiff.gateway.it.support.Ports;
import org.meddiff.gateway.it.support.Processes;
import org.meddiff.gateway.volume.ColourVolume;
import org.meddiff.gateway.volume.Volume;

/**
 * A PACS that takes CT images but refuses Secondary Capture (DCMTK storescp with a CT-only association profile) and
 * an anomaly job's map + colour-fused series: the CT instances are stored, the refused ones are not retried (they
 * would be refused again), and the delivery dead-letters at once naming the SOP class and what was stored.
 */
class DispatchRefusalIT {
    static final String JOB = "feedfacefeedfacefeedfacefeedface";

    @Test
    void aRefusedSopClassDeadLettersAtOnceAndTheRestIsStored(@TempDir Path tmp) throws Exception {
        Path cfg = tmp.resolve("ct-only.cfg");
        Files.writeString(cfg, """
                [[TransferSyntaxes]]
                [Uncompressed]
                TransferSyntax1 = LocalEndianExplicit
                TransferSyntax2 = LittleEndianImplicit
                [[PresentationContexts]]
                [CTOnly]
                PresentationContext1 = VerificationSOPClass\\Uncompressed
                PresentationContext2 = CTImageStorage\\Uncompressed
                [[Profiles]]
                [CTOnly]
                PresentationContexts = CTOnly
                """);
        Path received = Files.createDirectories(tmp.resolve("received"));
        int port = Ports.free(1)[0];
        Process pacs = new ProcessBuilder(
                        "storescp",
                        "-aet",
                        "CTONLY",
                        "-xf",
                        cfg.toString(),
                        "CTOnly",
                        "-od",
                        received.toString(),
                        String.valueOf(port))
                .redirectErrorStream(true)
                .redirectOutput(
                        Processes.logDir().resolve("storescp-ct-only.log").toFile())
                .start();
        try (KafkaBrokerProcess kafka = KafkaBrokerProcess.start("refusal");
                GatewayProcess gateway = new GatewayProcess(
                        "refusal",
                        Map.of(
                                "kafka.bootstrap.servers",
                                kafka.bootstrapServers(),
                                "gateway.dispatch.destinations",
                                "CTONLY@127.0.0.1:" + port))) {
            gateway.start().awaitReady();
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Ports.accepting(port));

            // what an anomaly job leaves in the spool: a 2-slice CT map and its 2 colour-fused slices in one directory
            SyntheticCtSeries.Params p = SyntheticCtSeries.Params.thick(32, 2).withSeed(81);
            List<Path> source = SyntheticCtSeries.write(tmp.resolve("source"), p);
            PixelMedDatasets dicom = new PixelMedDatasets();
            Volume ct = dicom.readVolume(source);
            Path dir = gateway.spoolDir().resolve("derived").resolve(JOB);
            var map = dicom.writeDerivedSeries(
                    source, ct, new DerivedSeriesSpec(JOB, "[map]", 4000, "[meddiff-gateway] test", 250, 500), dir);
            dicom.writeColourSeries(
                    source,
                    new ColourVolume(ct.geometry(), new byte[3 * ct.voxels().length]),
                    new DerivedSeriesSpec(JOB + "/fused", "[fused]", 4001, "[meddiff-gateway] test", 40, 400),
                    "fused",
                    dir);
            JobRequested job = JobRequested.of(
                    JOB,
                    "anomaly",
                    "test",
                    SeriesReady.of(
                            p.resolvedStudyUid(),
                            p.resolvedSeriesUid(),
                            1,
                            2,
                            "instances/" + p.resolvedStudyUid() + "/" + p.resolvedSeriesUid(),
                            null),
                    Map.of());
            JobCompleted completed =
                    JobCompleted.of(job, "test/1", map.seriesInstanceUid(), List.of(), 4, "derived/" + JOB, 1);
            EventLog.publish(
                    kafka.bootstrapServers(),
                    "inference.job.completed",
                    p.resolvedStudyUid(),
                    Events.toJson(completed));

            List<JsonNode> dead = EventLog.await(
                    kafka.bootstrapServers(),
                    "pacs.store.dlq",
                    EventLog.field("jobId", JOB),
                    1,
                    Duration.ofSeconds(30));
            assertEquals(1, dead.size());
            assertEquals(1, dead.get(0).path("attempts").asInt(), "a refused SOP class is not retried");
            String reason = dead.get(0).path("lastError").asText();
            assertTrue(
                    reason.contains(
                                    "refused SOP class 1.2.840.10008.5.1.4.1.1.7 in 1.2.840.10008.1.2.1 for 2 instance(s)")
                            && reason.contains("the other 2 of 4 were stored"),
                    reason);
            try (Stream<Path> files = Files.list(received)) {
                assertEquals(2, files.count(), "the CT map reached the PACS");
            }
        } finally {
            pacs.destroy();
        }
    }
}
