package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.dicom.net.DicomStatus;
import org.meddiff.gateway.dicom.net.Part10;
import org.meddiff.gateway.dicom.net.StoreScu;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.it.support.Dcmtk;
import org.meddiff.gateway.it.support.EventLog;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;
import org.meddiff.gateway.it.support.Processes;

/**
 * Hostile and broken input: each gets the right DICOM refusal and leaves no file and no event.
 * Raw bytes that DCMTK would refuse to send go through the gateway's own SCU, which sends files as they are.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputIT {
    KafkaBrokerProcess kafka;
    GatewayProcess gateway;

    @BeforeAll
    void start() {
        kafka = KafkaBrokerProcess.start("bad-input");
        gateway = new GatewayProcess(
                "bad-input",
                Map.of(
                        "kafka.bootstrap.servers", kafka.bootstrapServers(),
                        "gateway.dicom.allowed-calling-aes", "SCANNER",
                        "gateway.assemble.series-quiet-period", "1s"));
        gateway.start().awaitReady();
    }

    @AfterAll
    void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void unknownCallingAeIsRejectedAtAssociation(@TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params p = SyntheticCtSeries.Params.thick(32, 2).withSeed(31);
        List<Path> files = SyntheticCtSeries.write(tmp, p);
        Processes.Result r = Dcmtk.store("INTRUDER", gateway.aeTitle(), "localhost", gateway.dicomPort(), files);
        assertFalse(r.ok());
        assertTrue(r.output().contains("Association Rejected"), r.output());
        assertTrue(r.output().contains("Calling AE Title Not Recognized"), r.output());
        assertLeftNothing(p.resolvedStudyUid());
        assertTrue(gateway.logContains("calling AE title 'INTRUDER' is not on the allow-list"));
    }

    @Test
    void unknownCalledAeIsRejectedAtAssociation(@TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params p = SyntheticCtSeries.Params.thick(32, 2).withSeed(32);
        Processes.Result r = Dcmtk.store(
                "SCANNER", "SOMEONE_ELSE", "localhost", gateway.dicomPort(), SyntheticCtSeries.write(tmp, p));
        assertFalse(r.ok());
        assertTrue(r.output().contains("Called AE Title Not Recognized"), r.output());
        assertLeftNothing(p.resolvedStudyUid());
    }

    @Test
    void unsupportedSopClassIsRefusedAtNegotiation(@TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params p = SyntheticCtSeries.Params.thick(32, 1).withSeed(33);
        Path mr = SyntheticCtSeries.write(tmp, p).get(0);
        modify(mr, "(0008,0016)=1.2.840.10008.5.1.4.1.1.4"); // MR Image Storage
        Processes.Result r = Dcmtk.store("SCANNER", gateway.aeTitle(), "localhost", gateway.dicomPort(), List.of(mr));
        assertEquals(0, Dcmtk.storeSuccesses(r));
        assertTrue(r.output().contains("No presentation context"), r.output());
        assertLeftNothing(p.resolvedStudyUid());
    }

    @Test
    void truncatedDataSetGetsCannotUnderstandAndLeavesNothing(@TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params p = SyntheticCtSeries.Params.thick(64, 1).withSeed(34);
        Path file = SyntheticCtSeries.write(tmp, p).get(0);
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length * 6 / 10)); // cut inside the pixel data
        List<StoreScu.FileResult> results = scu().send(destination(), List.of(file));
        assertEquals(
                DicomStatus.CANNOT_UNDERSTAND,
                results.get(0).status(),
                results.get(0).toString());
        assertLeftNothing(p.resolvedStudyUid());
    }

    @Test
    void garbageAfterTheMetaHeaderGetsCannotUnderstand(@TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params p = SyntheticCtSeries.Params.thick(32, 1).withSeed(35);
        Path file = SyntheticCtSeries.write(tmp, p).get(0);
        byte[] bytes = Files.readAllBytes(file);
        int metaEnd = metaEnd(file);
        byte[] garbage = new byte[4000];
        new Random(7).nextBytes(garbage);
        byte[] broken = Arrays.copyOf(bytes, metaEnd + garbage.length);
        System.arraycopy(garbage, 0, broken, metaEnd, garbage.length);
        Files.write(file, broken);
        List<StoreScu.FileResult> results = scu().send(destination(), List.of(file));
        assertEquals(
                DicomStatus.CANNOT_UNDERSTAND,
                results.get(0).status(),
                results.get(0).toString());
        assertLeftNothing(p.resolvedStudyUid());
    }

    @Test
    void uidsCraftedToEscapeTheSpoolAreRefused(@TempDir Path tmp) throws Exception {
        String escape =
                "../../../../../tmp/meddiff-escape-" + ProcessHandle.current().pid();
        SyntheticCtSeries.Params p = SyntheticCtSeries.Params.thick(32, 2).withSeed(36);
        List<Path> files = SyntheticCtSeries.write(tmp, p);
        modify(files.get(0), "(0008,0018)=" + escape); // SOP Instance UID
        modify(files.get(1), "(0020,000d)=" + escape + "-study"); // Study Instance UID
        List<StoreScu.FileResult> results = scu().send(destination(), files);
        for (StoreScu.FileResult r : results) {
            assertEquals(DicomStatus.CANNOT_UNDERSTAND, r.status(), r.toString());
            assertTrue(r.error().contains("invalid UID"), r.error());
        }
        assertFalse(Files.exists(
                Path.of("/tmp/meddiff-escape-" + ProcessHandle.current().pid())));
        assertFalse(Files.exists(
                Path.of("/tmp/meddiff-escape-" + ProcessHandle.current().pid() + "-study")));
        try (Stream<Path> all = Files.walk(gateway.spoolDir())) {
            assertTrue(all.noneMatch(f -> f.toString().contains("meddiff-escape")));
        }
        assertLeftNothing(p.resolvedStudyUid());
    }

    @Test
    void validInstancesStillGetThroughAfterAllThat(@TempDir Path tmp) throws Exception {
        SyntheticCtSeries.Params p = SyntheticCtSeries.Params.thick(32, 3)
                .withSeed(37)
                .withTransferSyntax(SyntheticCtSeries.TransferSyntax.IMPLICIT_VR_LITTLE_ENDIAN);
        Processes.Result r = Dcmtk.store(
                "SCANNER", gateway.aeTitle(), "localhost", gateway.dicomPort(), SyntheticCtSeries.write(tmp, p));
        assertEquals(3, Dcmtk.storeSuccesses(r), r.output());
        assertEquals(
                3,
                EventLog.await(
                                kafka.bootstrapServers(),
                                "dicom.instance.received",
                                EventLog.field("studyInstanceUid", p.resolvedStudyUid()),
                                3,
                                Duration.ofSeconds(20))
                        .size());
    }

    @Test
    void echoAnswersAllowedCallersOnTheGatewayAeTitleOnly() throws Exception {
        assertTrue(new StoreScu("SCANNER", 5000, 5000).echo(destination()));
        Processes.Result echoscu =
                Dcmtk.echo(gateway.aeTitle(), "localhost", gateway.dicomPort()); // calling AE ECHOSCU
        assertFalse(echoscu.ok());
        assertTrue(echoscu.output().contains("Calling AE Title Not Recognized"), echoscu.output());
        assertThrows(
                IOException.class,
                () -> new StoreScu("SCANNER", 5000, 5000)
                        .echo(new StoreScu.Destination("WRONG_AE", "localhost", gateway.dicomPort())));
    }

    private StoreScu scu() {
        return new StoreScu("SCANNER", 5000, 30000);
    }

    private StoreScu.Destination destination() {
        return new StoreScu.Destination(gateway.aeTitle(), "localhost", gateway.dicomPort());
    }

    /** No instance directory, no half-received file, no event, and the status API does not know the study. */
    private void assertLeftNothing(String studyUid) throws IOException {
        assertFalse(Files.exists(gateway.spoolDir().resolve("instances").resolve(studyUid)), "spool has the study");
        try (Stream<Path> incoming = Files.list(gateway.spoolDir().resolve("incoming"))) {
            assertEquals(0, incoming.count(), "partial files left in incoming/");
        }
        assertEquals(
                List.of(),
                EventLog.await(
                        kafka.bootstrapServers(),
                        "dicom.instance.received",
                        EventLog.field("studyInstanceUid", studyUid),
                        0,
                        Duration.ofSeconds(3)));
        assertEquals(404, gateway.http("/api/studies/" + studyUid).status());
    }

    private static void modify(Path file, String assignment) {
        Processes.Result r =
                Processes.run(Duration.ofSeconds(30), "dcmodify", "-nb", "-m", assignment, file.toString());
        assertTrue(r.ok(), r.output());
    }

    private static int metaEnd(Path file) throws IOException {
        try (var in = Files.newInputStream(file)) {
            return (int) Part10.readMeta(in).dataSetOffset();
        }
    }
}
