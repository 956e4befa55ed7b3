package org.meddiff.gateway.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.dicom.net.DicomStatus;
import org.meddiff.gateway.dicom.net.ReceivedInstance;
import org.meddiff.gateway.dicom.net.StoreOutcome;
import org.meddiff.gateway.dicom.pixelmed.PixelMedDatasets;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.OutboxFiles;
import org.meddiff.gateway.events.Topics;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.spool.Spool;

/**
 * What a C-STORE answer promises, each refusal on its own (the ITs cover them through the listener): Success only with
 * the file in the spool and its event in the outbox; every refusal with the right status, nothing left behind, and the
 * refusal counted by status.
 */
class DurableIngestTest {
    static final String CT = SyntheticCtSeries.CT_IMAGE_STORAGE;

    @TempDir
    Path root;

    Spool spool;
    SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    SyntheticCtSeries.Params params = SyntheticCtSeries.Params.thick(16, 2).withSeed(11);
    List<Path> written;

    @BeforeEach
    void series() throws IOException {
        spool = new Spool(root.resolve("spool"), 0);
        written = SyntheticCtSeries.write(root.resolve("sent"), params);
    }

    DurableIngest ingest(Outbox outbox) {
        return new DurableIngest(spool, outbox, new PixelMedDatasets(), metrics);
    }

    /** Instance {@code i} as the listener hands it over: received into incoming/, with what the request said. */
    ReceivedInstance received(int i, String sopClass, String sopInstance) throws IOException {
        Path incoming = Files.createDirectories(spool.incoming()).resolve("rx-" + i + "-" + System.nanoTime());
        Files.copy(written.get(i - 1), incoming, StandardCopyOption.REPLACE_EXISTING);
        return new ReceivedInstance("SCANNER", "MEDDIFF", sopClass, sopInstance, "1.2.840.10008.1.2.1", incoming);
    }

    ReceivedInstance received(int i) throws IOException {
        return received(i, CT, params.sopInstanceUid(i));
    }

    Path inSpool(int i) {
        return spool.instancePath(params.resolvedStudyUid(), params.resolvedSeriesUid(), params.sopInstanceUid(i));
    }

    double refused(int status) {
        return metrics.counter("gateway_instances_refused_total", "status", DicomStatus.hex(status))
                .count();
    }

    void assertRefusedLeavingNothing(StoreOutcome outcome, int status, ReceivedInstance in) throws IOException {
        assertEquals(status, outcome.status(), outcome.errorComment());
        assertFalse(Files.exists(in.file()), "the received file is removed");
        assertFalse(Files.exists(inSpool(1)), "nothing in the spool");
        assertTrue(OutboxFiles.events(spool.outbox(), Topics.INSTANCE_RECEIVED).isEmpty(), "nothing announced");
        assertEquals(1, refused(status));
    }

    @Test
    void successMeansInTheSpoolAndInTheOutbox() throws IOException {
        StoreOutcome outcome = ingest(new Outbox(spool.outbox())).store(received(1));
        assertEquals(DicomStatus.SUCCESS, outcome.status());
        assertEquals(Files.size(written.get(0)), Files.size(inSpool(1)));
        assertEquals(
                1, OutboxFiles.events(spool.outbox(), Topics.INSTANCE_RECEIVED).size());
        assertEquals(1, metrics.counter("gateway_instances_stored_total").count());
    }

    @Test
    void aSpoolBelowItsFreeSpaceFloorRefusesWithA700() throws IOException {
        spool = new Spool(root.resolve("spool"), Long.MAX_VALUE);
        ReceivedInstance in = received(1);
        assertRefusedLeavingNothing(ingest(new Outbox(spool.outbox())).store(in), DicomStatus.OUT_OF_RESOURCES, in);
    }

    @Test
    void aDataSetThatCannotBeParsedIsC000() throws IOException {
        ReceivedInstance in = received(1);
        Files.write(in.file(), new byte[] {1, 2, 3});
        StoreOutcome outcome = ingest(new Outbox(spool.outbox())).store(in);
        assertRefusedLeavingNothing(outcome, DicomStatus.CANNOT_UNDERSTAND, in);
        assertTrue(outcome.errorComment().startsWith("cannot parse data set"), outcome.errorComment());
    }

    @Test
    void aSopInstanceOtherThanTheRequestsIsC000() throws IOException {
        ReceivedInstance in = received(1, CT, "1.2.3.4");
        StoreOutcome outcome = ingest(new Outbox(spool.outbox())).store(in);
        assertRefusedLeavingNothing(outcome, DicomStatus.CANNOT_UNDERSTAND, in);
        assertTrue(outcome.errorComment().contains("differs from the C-STORE request"), outcome.errorComment());
    }

    @Test
    void aSopClassOtherThanTheRequestsIsA900() throws IOException {
        ReceivedInstance in = received(1, "1.2.840.10008.5.1.4.1.1.7", params.sopInstanceUid(1));
        assertRefusedLeavingNothing(
                ingest(new Outbox(spool.outbox())).store(in), DicomStatus.DATA_SET_DOES_NOT_MATCH_SOP_CLASS, in);
    }

    @Test
    void anInvalidUidIsRefusedBeforeItNamesAPath() throws IOException {
        params = params.withUids("1.2.3/../../etc", params.seriesInstanceUid());
        written = SyntheticCtSeries.write(root.resolve("hostile"), params);
        ReceivedInstance in = received(1, CT, params.sopInstanceUid(1));
        StoreOutcome outcome = ingest(new Outbox(spool.outbox())).store(in);
        assertEquals(DicomStatus.CANNOT_UNDERSTAND, outcome.status());
        assertTrue(outcome.errorComment().startsWith("invalid UID"), outcome.errorComment());
        try (var files = Files.walk(spool.root())) {
            assertTrue(files.noneMatch(p -> p.toString().contains("etc")), "no path named after it");
        }
    }

    @Test
    void anOutboxThatCannotTakeTheEventIsA700_andTheNewFileGoesAgain() throws IOException {
        OutboxFiles.Failing outbox = new OutboxFiles.Failing(spool.outbox(), 1, Topics.INSTANCE_RECEIVED::equals);
        ReceivedInstance in = received(1);
        assertRefusedLeavingNothing(ingest(outbox).store(in), DicomStatus.OUT_OF_RESOURCES, in);
        assertEquals(
                DicomStatus.SUCCESS,
                ingest(outbox).store(received(1)).status(),
                "the sender's retry stores and announces it");
        assertEquals(
                1, OutboxFiles.events(spool.outbox(), Topics.INSTANCE_RECEIVED).size());
    }

    @Test
    void aRefusedResendKeepsTheCopyAcknowledgedBefore() throws IOException {
        assertEquals(
                DicomStatus.SUCCESS,
                ingest(new Outbox(spool.outbox())).store(received(1)).status());
        OutboxFiles.Failing outbox = new OutboxFiles.Failing(spool.outbox(), 1, Topics.INSTANCE_RECEIVED::equals);
        assertEquals(
                DicomStatus.OUT_OF_RESOURCES, ingest(outbox).store(received(1)).status());
        assertTrue(Files.exists(inSpool(1)), "the acknowledged copy stays (it was announced when it was stored)");
    }

    @Test
    void aSpoolThatCannotTakeTheFileIsA700_andNothingIsAnnounced() throws IOException {
        // a file where the study's directory must go: the rename into the spool fails, as on a broken or full disk
        Path study = spool.instancePath(params.resolvedStudyUid(), params.resolvedSeriesUid(), params.sopInstanceUid(1))
                .getParent()
                .getParent();
        Files.createDirectories(study.getParent());
        Files.writeString(study, "not a directory");
        ReceivedInstance in = received(1);
        StoreOutcome outcome = ingest(new Outbox(spool.outbox())).store(in);
        assertEquals(DicomStatus.OUT_OF_RESOURCES, outcome.status());
        assertEquals("spool write failed", outcome.errorComment());
        assertFalse(Files.exists(in.file()), "the received file is removed");
        assertTrue(OutboxFiles.events(spool.outbox(), Topics.INSTANCE_RECEIVED).isEmpty());
        assertEquals(1, refused(DicomStatus.OUT_OF_RESOURCES));
    }
}
