package org.meddiff.gateway.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.spool.Spool;

/**
 * The outbox is what lets ingest say Success while Kafka is down and what survives a SIGKILL. A "restart" is
 * a new Outbox on the same directory.
 */
class OutboxTest {
    static final String STUDY = "1.2.826.0.1.3680043.8.498.10672399428374512785623981237";

    @TempDir
    Path dir;

    static String value(int i) {
        return "{\"n\":" + i + "}";
    }

    /** Appends n raw events, keyed by study, values {"n":i} for i = from..from+n-1. */
    static void appendN(Outbox outbox, int from, int n) throws IOException {
        for (int i = from; i < from + n; i++) {
            outbox.append(Topics.INSTANCE_RECEIVED, STUDY, value(i));
        }
    }

    static List<String> values(List<Outbox.Entry> entries) {
        return entries.stream().map(Outbox.Entry::value).toList();
    }

    static List<String> expected(int from, int toInclusive) {
        List<String> v = new ArrayList<>();
        for (int i = from; i <= toInclusive; i++) {
            v.add(value(i));
        }
        return v;
    }

    /** What is in the outbox besides its lock file (held by the process for its lifetime). */
    static List<Path> filesIn(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> !p.getFileName().toString().equals(".lock"))
                    .sorted()
                    .toList();
        }
    }

    /**
     * Entry names continue from the wall clock in microseconds, so a later process numbers after an earlier one
     * only if its clock reading is later: a real restart takes seconds, here we wait 2 ms.
     */
    static Outbox restart(Path dir) throws InterruptedException {
        Thread.sleep(2);
        return new Outbox(dir);
    }

    @Test
    void appendedEventsSurviveARestartInOrder() throws Exception {
        Outbox before = new Outbox(dir);
        SeriesAttributes attrs = new SeriesAttributes(
                "CT",
                2,
                5.0,
                "Abdomen",
                "ABDOMEN",
                List.of("ORIGINAL"),
                "1.2.840.10008.5.1.4.1.1.2",
                "CT1",
                "MEDDIFF",
                false);
        InstanceReceived event =
                InstanceReceived.of(STUDY, "1.2.3", "1.2.3.4", "1.2.840.10008.1.2.1", 10, "instances/x", attrs);
        before.append(event);
        appendN(before, 1, 20);
        assertEquals(21, before.size());

        Outbox after = restart(dir); // the process died here: nothing was sent
        assertEquals(21, after.size());
        List<Outbox.Entry> entries = after.take(100, 0);
        assertEquals(21, entries.size());
        Outbox.Entry first = entries.get(0);
        assertEquals(Topics.INSTANCE_RECEIVED, first.topic());
        assertEquals(STUDY, first.key(), "the key is the study (GatewayEvent.key)");
        assertEquals(Events.toJson(event), first.value(), "the event is sent exactly as it was appended");
        assertEquals(event, Events.fromJson(first.value(), InstanceReceived.class), "same eventId after the restart");
        assertEquals(expected(1, 20), values(entries.subList(1, 21)), "append order is kept across the restart");
    }

    @Test
    void valuesWithNewlinesAndNullKeysRoundTrip() throws Exception {
        Outbox outbox = new Outbox(dir);
        String pretty = "{\n  \"a\": \"line1\\nline2\",\n  \"b\": \"é ü 中\"\n}\n";
        outbox.append(Topics.JOB_FAILED, null, pretty);
        Outbox.Entry e = restart(dir).take(1, 0).get(0);
        assertEquals(Topics.JOB_FAILED, e.topic());
        assertNull(e.key(), "no key stays no key (not an empty-string key)");
        assertEquals(pretty, e.value());
    }

    @Test
    void acknowledgedEntriesAreGoneForGood() throws Exception {
        Outbox outbox = new Outbox(dir);
        appendN(outbox, 1, 5);
        List<Outbox.Entry> batch = outbox.take(3, 0);
        assertEquals(expected(1, 3), values(batch));
        outbox.acknowledge(batch.get(0));
        outbox.acknowledge(batch.get(1));
        assertFalse(Files.exists(batch.get(0).file()));
        assertFalse(Files.exists(batch.get(1).file()));
        // The process dies with entry 3 taken (in flight) but never acknowledged: it must come back.
        Outbox after = restart(dir);
        assertEquals(expected(3, 5), values(after.take(10, 0)));
        assertEquals(3, filesIn(dir).size());
    }

    @Test
    void acknowledgingTwiceIsHarmless() throws Exception {
        Outbox outbox = new Outbox(dir);
        appendN(outbox, 1, 1);
        Outbox.Entry e = outbox.take(1, 0).get(0);
        outbox.acknowledge(e);
        outbox.acknowledge(e);
        assertEquals(List.of(), filesIn(dir));
    }

    @Test
    void aLeftoverTmpFromACrashMidAppendIsIgnoredAndRemoved() throws Exception {
        Outbox outbox = new Outbox(dir);
        appendN(outbox, 1, 2);
        // A crash mid-append leaves the temporary file it was writing, never renamed: its append never
        // returned, so nobody was told the event was recorded. It sorts after the real entries and is truncated.
        Path tmp = dir.resolve("99999999999999999999.tmp");
        Files.write(tmp, (Topics.INSTANCE_RECEIVED + "\n" + STUDY + "\n{\"n\":").getBytes(StandardCharsets.UTF_8));
        Path tmpFirst = dir.resolve("00000000000000000001.tmp");
        Files.write(tmpFirst, new byte[0]);

        Outbox after = restart(dir);
        assertEquals(2, after.size(), "only the two completed appends are pending");
        assertFalse(Files.exists(tmp), "the partial entry is removed");
        assertFalse(Files.exists(tmpFirst), "the empty partial entry is removed");
        assertEquals(expected(1, 2), values(after.take(10, 0)));
        for (Path p : filesIn(dir)) {
            assertTrue(p.getFileName().toString().endsWith(".evt"), p.toString());
        }
    }

    @Test
    void anUnreadableEntryIsSetAsideForAnOperator_andStartUpGoesOn() throws Exception {
        Outbox outbox = new Outbox(dir);
        appendN(outbox, 1, 2);
        List<Path> entries = filesIn(dir);
        Files.writeString(entries.get(0), "no newline at all: not an entry"); // a damaged disk block
        Outbox after = restart(dir);
        assertEquals(expected(2, 2), values(after.take(10, 0)), "the readable entry is still published");
        Path quarantined = dir.resolve("corrupt").resolve(entries.get(0).getFileName());
        assertTrue(Files.exists(quarantined), "the damaged one is kept, not deleted unseen");
        assertFalse(Files.exists(entries.get(0)));
    }

    @Test
    void requeueAfterAFailedSendKeepsOrder() throws Exception {
        Outbox outbox = new Outbox(dir);
        appendN(outbox, 1, 5);
        List<Outbox.Entry> batch = outbox.take(3, 0);
        assertEquals(expected(1, 3), values(batch));
        appendN(outbox, 6, 1); // a new event arrives while the batch is in flight
        outbox.requeue(batch); // the broker was down: all three failed
        assertEquals(6, outbox.size());
        assertEquals(expected(1, 6), values(outbox.take(100, 0)), "failed entries go back first, in their order");
    }

    @Test
    void partialFailureRequeuesOnlyTheFailedOnesFirst() throws Exception {
        Outbox outbox = new Outbox(dir);
        appendN(outbox, 1, 5);
        List<Outbox.Entry> batch = outbox.take(3, 0);
        outbox.acknowledge(batch.get(0));
        outbox.requeue(batch.subList(1, 3));
        assertEquals(expected(2, 5), values(outbox.take(100, 0)));
        assertEquals(expected(2, 5), values(restart(dir).take(100, 0)), "the files agree with the queue");
    }

    @Test
    void takeRespectsMaxAndWaitsForTheFirstEntry() throws Exception {
        Outbox outbox = new Outbox(dir);
        long t0 = System.nanoTime();
        assertEquals(List.of(), outbox.take(10, 50));
        assertTrue(System.nanoTime() - t0 >= 40_000_000L, "an empty outbox waits for the timeout");
        appendN(outbox, 1, 7);
        assertEquals(expected(1, 3), values(outbox.take(3, 0)));
        assertEquals(expected(4, 6), values(outbox.take(3, 0)));
        assertEquals(expected(7, 7), values(outbox.take(3, 0)));
        assertEquals(0, outbox.size());
    }

    @Test
    void manyAppendsInOneMillisecondStillSortInAppendOrder() throws Exception {
        Outbox outbox = new Outbox(dir);
        appendN(outbox, 1, 100);
        List<String> names =
                filesIn(dir).stream().map(p -> p.getFileName().toString()).toList();
        assertEquals(100, names.size());
        assertEquals(expected(1, 100), values(restart(dir).take(1000, 0)));
    }

    /**
     * Two processes sharing one spool (the cluster split of deploy/) each name their own outbox: neither picks up
     * the other's entries at start, so no relay publishes or deletes what another process owns.
     */
    @Test
    void processesSharingASpoolKeepTheirOutboxesApart() throws Exception {
        Outbox gatewayNode = new Outbox(new Spool(dir, 0));
        Outbox workerNode = new Outbox(new Spool(dir, 0, "outbox-worker-0"));
        appendN(gatewayNode, 1, 3);
        appendN(workerNode, 101, 2);
        assertTrue(Files.isDirectory(dir.resolve("outbox")) && Files.isDirectory(dir.resolve("outbox-worker-0")));
        assertEquals(expected(1, 3), values(new Outbox(new Spool(dir, 0)).take(100, 0)));
        assertEquals(expected(101, 102), values(new Outbox(new Spool(dir, 0, "outbox-worker-0")).take(100, 0)));
    }
}
