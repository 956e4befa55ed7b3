package org.meddiff.gateway.assemble;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.FakeClock;
import org.meddiff.gateway.config.TestSettings;
import org.meddiff.gateway.dicom.pixelmed.PixelMedDatasets;
import org.meddiff.gateway.events.EventReader;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.InstanceReceived;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.OutboxFiles;
import org.meddiff.gateway.events.SeriesAttributes;
import org.meddiff.gateway.events.Topics;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.spool.Spool;
import org.meddiff.gateway.track.StageProgress;

/**
 * Assemble on a real spool and outbox (quiet period 0: every check announces what is quiet): an instance whose series
 * state cannot be written is held and retried, not skipped; unreadable state files found at recovery are reported and
 * rebuilt; a series re-armed after a restart says so in its announcement.
 */
class SeriesAssemblerTest {
    @TempDir
    Path root;

    Spool spool;
    SeriesAssembler assembler;
    final StageProgress progress = new StageProgress();
    final FakeClock clock = new FakeClock();
    SyntheticCtSeries.Params params = SyntheticCtSeries.Params.thick(16, 3).withSeed(5);
    List<Path> files;

    @BeforeEach
    void setUp() throws IOException {
        spool = new Spool(root.resolve("spool"), 0);
        assembler = new SeriesAssembler();
        assembler.config = TestSettings.gateway(Map.of("gateway.assemble.series-quiet-period", "0s"));
        assembler.spool = spool;
        assembler.outbox = new Outbox(spool.outbox());
        assembler.retry = OutboxFiles.quickRetry(progress);
        assembler.progress = progress;
        assembler.datasets = new PixelMedDatasets();
        assembler.reader = new EventReader(new SimpleMeterRegistry());
        assembler.clock = clock;
        // in the spool as ingest leaves them: <study>/<series>/<sop>.dcm
        List<Path> written = SyntheticCtSeries.write(root.resolve("sent"), params);
        List<Path> inSpool = new ArrayList<>();
        for (int i = 1; i <= written.size(); i++) {
            Path target =
                    spool.instancePath(params.resolvedStudyUid(), params.resolvedSeriesUid(), params.sopInstanceUid(i));
            Files.createDirectories(target.getParent());
            inSpool.add(Files.copy(written.get(i - 1), target));
        }
        files = inSpool;
    }

    String received(int instance) {
        SeriesAttributes series = new SeriesAttributes(
                "CT",
                1,
                5.0,
                "thick",
                "ABDOMEN",
                List.of("ORIGINAL", "PRIMARY", "AXIAL"),
                SyntheticCtSeries.CT_IMAGE_STORAGE,
                "SCANNER",
                "MEDDIFF",
                false);
        Path file = files.get(instance - 1);
        return Events.toJson(InstanceReceived.of(
                params.resolvedStudyUid(),
                params.resolvedSeriesUid(),
                params.sopInstanceUid(instance),
                "1.2.840.10008.1.2.1",
                1,
                spool.relative(file),
                series));
    }

    List<JsonNode> ready() {
        return OutboxFiles.events(spool.outbox(), Topics.SERIES_READY);
    }

    @Test
    void anInstanceWhoseSeriesStateCannotBeWritten_isHeldAndRetried_notSkipped() throws Exception {
        Path seriesDir = spool.seriesDir(params.resolvedStudyUid(), params.resolvedSeriesUid());
        // a directory where the series' attributes file goes: reading and replacing it fail, as on a broken disk
        Path blocker = Files.createDirectories(seriesDir.resolve(SeriesAssembler.ATTRIBUTES_FILE));
        Files.writeString(blocker.resolve("x"), "x");
        Thread consumer = Thread.ofPlatform().start(() -> assembler.onInstance(received(1)));
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (progress.stalls().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(consumer.isAlive(), "the record is held while the state cannot be written");
        assertEquals("assemble", progress.stalls().get(0).stage());
        Files.delete(blocker.resolve("x"));
        Files.delete(blocker); // the disk is fine again
        consumer.join(Duration.ofSeconds(10));
        assertFalse(consumer.isAlive());
        assembler.onInstance(received(2));
        assembler.onInstance(received(3));
        assembler.announceQuietSeries();
        assertEquals(1, ready().size());
        assertEquals(3, ready().get(0).path("instanceCount").asInt(), "the held instance counts");
        assertTrue(progress.stalls().isEmpty());
    }

    /**
     * The series' readiness state cannot be read (an I/O error: a directory in its place): the first instance's
     * record is held and retried, not logged and dropped (the code before the fix caught the exception in
     * onInstance and let the record commit, so the series was announced one instance short).
     */
    @Test
    void anInstanceWhoseSeriesStateCannotBeRead_isHeldAndRetried_notDropped() throws Exception {
        Path seriesDir = spool.seriesDir(params.resolvedStudyUid(), params.resolvedSeriesUid());
        Path blocker = Files.createDirectories(seriesDir.resolve(SeriesAssembler.READY_FILE));
        Thread consumer = Thread.ofPlatform().start(() -> assembler.onInstance(received(1)));
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (progress.stalls().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(consumer.isAlive(), "the record is held while the state cannot be read");
        assertEquals("assemble", progress.stalls().get(0).stage());
        Files.delete(blocker);
        consumer.join(Duration.ofSeconds(10));
        assertFalse(consumer.isAlive());
        assembler.onInstance(received(2));
        assembler.onInstance(received(3));
        assembler.announceQuietSeries();
        assertEquals(1, ready().size());
        assertEquals(3, ready().get(0).path("instanceCount").asInt(), "the held instance counts");
    }

    /**
     * A torn readiness file (a crash while it was written non-atomically, or a damaged disk) is reported and taken as
     * never announced; the instance counts (before the fix: a NumberFormatException, swallowed, the instance dropped).
     */
    @Test
    void aTornReadinessFile_doesNotDropTheInstancesThatArrive() throws Exception {
        Path seriesDir = spool.seriesDir(params.resolvedStudyUid(), params.resolvedSeriesUid());
        Files.writeString(seriesDir.resolve(SeriesAssembler.READY_FILE), "1 ");
        for (int i = 1; i <= 3; i++) {
            assembler.onInstance(received(i));
        }
        assembler.announceQuietSeries();
        assertEquals(1, ready().size(), "the series is announced");
        assertEquals(3, ready().get(0).path("instanceCount").asInt());
        assertEquals(
                "1 3", Files.readString(seriesDir.resolve(SeriesAssembler.READY_FILE)), "and its state written anew");
    }

    @Test
    void unreadableStateFilesAtRecovery_areRebuilt_andTheSeriesIsAnnouncedAsRecovered() throws Exception {
        Path seriesDir = spool.seriesDir(params.resolvedStudyUid(), params.resolvedSeriesUid());
        Files.writeString(seriesDir.resolve(SeriesAssembler.ATTRIBUTES_FILE), "{\"modality\":\"C"); // torn
        Files.writeString(seriesDir.resolve(SeriesAssembler.READY_FILE), "\u0000\u0000"); // garbage
        assembler.recoverFromSpool();
        assembler.announceQuietSeries();
        List<JsonNode> ready = ready();
        assertEquals(1, ready.size());
        assertTrue(ready.get(0).path("recovered").asBoolean(), ready.get(0).toString());
        assertEquals(3, ready.get(0).path("instanceCount").asInt());
        assertEquals(
                "CT", ready.get(0).path("series").path("modality").asText(), "attributes rebuilt from an instance");
        assertEquals(
                "1 3", Files.readString(seriesDir.resolve(SeriesAssembler.READY_FILE)), "and the state written anew");
    }

    SeriesAssembler restartedWith(String quietPeriod) {
        SeriesAssembler next = new SeriesAssembler();
        next.config = TestSettings.gateway(Map.of("gateway.assemble.series-quiet-period", quietPeriod));
        next.spool = spool;
        next.outbox = assembler.outbox;
        next.retry = assembler.retry;
        next.progress = progress;
        next.datasets = assembler.datasets;
        next.reader = assembler.reader;
        next.clock = clock;
        return next;
    }

    @Test
    void aSeriesOpenAtACrashGetsOneFreshQuietPeriod_notOneAtEveryRestart() throws Exception {
        for (int i = 1; i <= 3; i++) {
            assembler.onInstance(received(i)); // seen by assemble (its attributes written), not yet announced
        }
        Path seriesDir = spool.seriesDir(params.resolvedStudyUid(), params.resolvedSeriesUid());
        for (Path f : files) {
            Files.setLastModifiedTime(f, FileTime.fromMillis(clock.currentTimeMillis() - 60_000));
        }
        SeriesAssembler first = restartedWith("30s"); // the process died; a new one starts
        first.recoverFromSpool();
        first.announceQuietSeries();
        assertTrue(ready().isEmpty(), "a fresh quiet period: the sender may still be retrying");
        SeriesAssembler second = restartedWith("30s"); // it died again before the period ended, nothing new arrived
        second.recoverFromSpool();
        second.announceQuietSeries();
        assertEquals(1, ready().size(), "quiet since its newest instance a minute ago: ready at once");
        assertTrue(ready().get(0).path("recovered").asBoolean());
        assertFalse(
                Files.exists(seriesDir.resolve(SeriesAssembler.RECOVERED_FILE)),
                "the recovery mark goes with the announcement");
    }

    @Test
    void aReplayedDuplicateDoesNotRestartTheQuietPeriod() throws Exception {
        SeriesAssembler quiet = restartedWith("10s");
        for (int i = 1; i <= 3; i++) {
            quiet.onInstance(received(i));
        }
        clock.advance(Duration.ofSeconds(10));
        quiet.onInstance(received(2)); // the same event again, e.g. replayed after a restart
        quiet.announceQuietSeries();
        assertEquals(1, ready().size(), "announced on time: " + ready());
        assertEquals(3, ready().get(0).path("instanceCount").asInt());
    }

    @Test
    void aLateInstanceReopensTheSeries_andItWaitsAFullQuietPeriodBeforeTheNextGeneration() throws Exception {
        SeriesAssembler quiet = restartedWith("10s");
        quiet.onInstance(received(1));
        quiet.onInstance(received(2));
        clock.advance(Duration.ofSeconds(10));
        quiet.announceQuietSeries();
        assertEquals(1, ready().size());
        // instance 3 arrives late: ingest put its file in the spool before its event came
        quiet.onInstance(received(3));
        quiet.announceQuietSeries();
        assertEquals(1, ready().size(), "not announced at once: the scanner may still be sending the rest");
        clock.advance(Duration.ofSeconds(9));
        quiet.announceQuietSeries();
        assertEquals(1, ready().size(), "nor a second before its quiet period ends");
        clock.advance(Duration.ofSeconds(1));
        quiet.announceQuietSeries();
        assertEquals(2, ready().size());
        assertEquals(2, ready().get(1).path("generation").asInt());
        assertEquals(3, ready().get(1).path("instanceCount").asInt());
    }

    @Test
    void theQuietPeriodRunsFromTheLastNewInstance() {
        SeriesAssembler quiet = restartedWith("10s");
        quiet.onInstance(received(1));
        clock.advance(Duration.ofSeconds(9));
        quiet.onInstance(received(2)); // still arriving: the period starts again
        clock.advance(Duration.ofSeconds(9));
        quiet.announceQuietSeries();
        assertTrue(ready().isEmpty(), "9 s after the last instance: not yet");
        clock.advance(Duration.ofSeconds(1));
        quiet.announceQuietSeries();
        assertEquals(1, ready().size());
        assertEquals(1, ready().get(0).path("generation").asInt());
        assertEquals(2, ready().get(0).path("instanceCount").asInt());
        quiet.announceQuietSeries();
        assertEquals(1, ready().size(), "announced once");
    }

    @Test
    void aSeriesAssembledWithoutARestart_isNotMarkedRecovered() {
        for (int i = 1; i <= 3; i++) {
            assembler.onInstance(received(i));
        }
        assembler.announceQuietSeries();
        assertFalse(ready().get(0).path("recovered").asBoolean());
    }
}
