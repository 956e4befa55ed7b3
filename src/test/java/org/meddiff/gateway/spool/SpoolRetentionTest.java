package org.meddiff.gateway.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the retention sweep removes from a spool, and what it must leave alone. */
class SpoolRetentionTest {
    static final String STUDY = "1.2.826.0.1.3680043.8.498.1";
    static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");
    static final Duration WEEK = Duration.ofDays(7);

    @TempDir
    Path root;

    Spool spool;
    SpoolRetention retention;

    @BeforeEach
    void spool() {
        spool = new Spool(root, 0);
        retention = new SpoolRetention();
        retention.spool = spool;
    }

    Path file(Path p, Instant modified, int bytes) throws Exception {
        Files.createDirectories(p.getParent());
        Files.write(p, new byte[bytes]);
        Files.setLastModifiedTime(p, FileTime.from(modified));
        return p;
    }

    @Test
    void oldSeriesAndDerivedSeriesGoRecentOnesAndOutboxesStay() throws Exception {
        Instant old = NOW.minus(Duration.ofDays(8));
        Instant recent = NOW.minus(Duration.ofDays(1));
        Path oldSeries = spool.seriesDir(STUDY, "1.2.3.1");
        file(oldSeries.resolve("1.2.3.1.1.dcm"), old, 1000);
        file(oldSeries.resolve("1.2.3.1.2.dcm"), old, 1000);
        Path lateInstance = spool.seriesDir(STUDY, "1.2.3.2"); // old slices, but one arrived yesterday: still in use
        file(lateInstance.resolve("1.2.3.2.1.dcm"), old, 500);
        file(lateInstance.resolve("1.2.3.2.2.dcm"), recent, 500);
        Path oldJob = spool.derivedDir("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        file(oldJob.resolve("0001.dcm"), old, 700);
        file(oldJob.resolve(".complete.json"), old, 100);
        file(oldJob.resolveSibling("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.lock"), old, 0);
        Path recentJob = spool.derivedDir("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
        file(recentJob.resolve("0001.dcm"), recent, 700);
        Path pendingEvent = file(spool.outbox().resolve("00000000000000000001.evt"), old, 50);

        SpoolRetention.Summary s = retention.purge(NOW.minus(WEEK));

        assertEquals(new SpoolRetention.Summary(1, 1, 2800), s);
        assertFalse(Files.exists(oldSeries));
        assertTrue(
                Files.exists(lateInstance.resolve("1.2.3.2.1.dcm")), "a series with a recent instance is kept whole");
        assertFalse(Files.exists(oldJob));
        assertFalse(
                Files.exists(oldJob.resolveSibling("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.lock")), "its lock goes with it");
        assertTrue(Files.exists(recentJob.resolve("0001.dcm")));
        assertTrue(Files.exists(pendingEvent), "the outbox is never swept: its events are not yet published");
        assertTrue(
                Files.isDirectory(spool.seriesDir(STUDY, "1.2.3.2").getParent()),
                "the study stays while a series is left");
    }

    @Test
    void aStudyWhoseLastSeriesWentIsRemovedToo() throws Exception {
        Path only = spool.seriesDir(STUDY, "1.2.3.9");
        file(only.resolve("1.2.3.9.1.dcm"), NOW.minus(Duration.ofDays(30)), 10);
        assertEquals(new SpoolRetention.Summary(1, 0, 10), retention.purge(NOW.minus(WEEK)));
        assertFalse(Files.exists(only.getParent()));
        assertEquals(
                new SpoolRetention.Summary(0, 0, 0), retention.purge(NOW.minus(WEEK)), "a second sweep finds nothing");
    }
}
