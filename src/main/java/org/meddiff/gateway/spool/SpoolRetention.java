package org.meddiff.gateway.spool;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import org.jboss.logging.Logger;
import org.meddiff.gateway.config.GatewayConfig;

/**
 * Keeps the spool from filling up: received series and derived series whose newest file is older than
 * {@code gateway.spool.retention} are removed (by default 7 days, the retention of the Kafka topics whose claim
 * checks point at them; a dead-lettered delivery can be replayed for that long). Without it a gateway refuses every
 * C-STORE (0xA700) once the disk reaches min-free. Runs in the one process that assembles, so two processes sharing
 * a spool never sweep it at once; outboxes and files being received are never touched.
 */
@ApplicationScoped
public class SpoolRetention {
    private static final Logger LOG = Logger.getLogger(SpoolRetention.class);
    /** Shorter retention could remove a series while it is still being received, assembled or processed. */
    public static final Duration MINIMUM = Duration.ofHours(1);

    /** What one sweep removed; {@code records}: dispatch state and handled-event markers. */
    public record Summary(int series, int derivedSeries, int records, long bytes) {
        public Summary(int series, int derivedSeries, long bytes) {
            this(series, derivedSeries, 0, bytes);
        }
    }

    @Inject
    GatewayConfig config;

    @Inject
    Spool spool;

    private ScheduledExecutorService timer;

    void start(@Observes StartupEvent event) {
        Duration retention = config.spool().retention();
        if (retention.isZero()) {
            LOG.info("spool retention off (gateway.spool.retention=0): nothing is removed from the spool");
            return;
        }
        if (retention.compareTo(MINIMUM) < 0) {
            throw new IllegalArgumentException("gateway.spool.retention must be 0 (off) or at least " + human(MINIMUM)
                    + ", got " + human(retention));
        }
        if (!config.stages().assemble()) {
            return; // the assembling process sweeps the shared spool
        }
        long every = config.spool().retentionCheckInterval().toMillis();
        timer = Executors.newSingleThreadScheduledExecutor(
                r -> Thread.ofPlatform().name("spool-retention").daemon(true).unstarted(r));
        timer.scheduleWithFixedDelay(
                () -> {
                    try {
                        Summary s = purge(Instant.now().minus(retention));
                        if (s.series() + s.derivedSeries() > 0) {
                            LOG.infof(
                                    "spool retention: removed %d received and %d derived series older than %s (%.1f MB)",
                                    s.series(), s.derivedSeries(), human(retention), s.bytes() / 1e6);
                        }
                    } catch (RuntimeException e) {
                        LOG.errorf("spool retention sweep failed: %s", e.toString());
                    }
                },
                Math.min(every, 60_000),
                every,
                TimeUnit.MILLISECONDS);
        LOG.infof(
                "spool retention %s, checked every %s",
                human(retention), human(config.spool().retentionCheckInterval()));
    }

    /** 7d, 36h, 90m, 45s: as an operator writes it. */
    static String human(Duration d) {
        if (d.toSeconds() % 86400 == 0) return d.toDays() + "d";
        if (d.toSeconds() % 3600 == 0) return d.toHours() + "h";
        if (d.toSeconds() % 60 == 0) return d.toMinutes() + "m";
        return d.toSeconds() + "s";
    }

    void stop(@Observes ShutdownEvent event) {
        if (timer != null) {
            timer.shutdownNow();
        }
    }

    /** Removes every received series and derived series whose newest file was modified before {@code cutoff}. */
    public Summary purge(Instant cutoff) {
        int series = 0, derived = 0, removedRecords = 0;
        long bytes = 0;
        try {
            for (Path dir : spool.allSeriesDirs()) {
                long size = removeIfOlder(dir, cutoff);
                if (size >= 0) {
                    series++;
                    bytes += size;
                    removeIfEmpty(dir.getParent());
                }
            }
            Path derivedRoot = spool.root().resolve("derived");
            for (Path dir : list(derivedRoot)) {
                if (Files.isDirectory(dir)) {
                    long size = removeIfOlder(dir, cutoff);
                    if (size >= 0) {
                        derived++;
                        bytes += size;
                        Files.deleteIfExists(spool.jobLockFile(dir.getFileName().toString()));
                    }
                }
            }
            // what dispatch and the consumers remember about those jobs and events goes with them
            List<Path> records = new ArrayList<>(list(spool.dispatchStates()));
            for (Path consumer : list(spool.processed())) {
                records.addAll(list(consumer));
            }
            for (Path record : records) {
                if (Files.isRegularFile(record)
                        && Files.getLastModifiedTime(record).toMillis() < cutoff.toEpochMilli()) {
                    Files.deleteIfExists(record);
                    removedRecords++;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot sweep the spool " + spool.root() + ": " + e.getMessage(), e);
        }
        return new Summary(series, derived, removedRecords, bytes);
    }

    /** Deletes {@code dir} when its newest file is older than the cutoff; returns the bytes freed, or -1 if kept. */
    private static long removeIfOlder(Path dir, Instant cutoff) throws IOException {
        long newest = Long.MIN_VALUE, size = 0;
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(dir)) {
            paths = walk.toList();
        } catch (NoSuchFileException | UncheckedIOException e) {
            return -1; // removed meanwhile
        }
        for (Path p : paths) {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            if (a.isRegularFile()) {
                newest = Math.max(newest, a.lastModifiedTime().toMillis());
                size += a.size();
            }
        }
        if (newest == Long.MIN_VALUE) {
            newest = Files.getLastModifiedTime(dir).toMillis(); // an empty directory: its own age
        }
        if (newest >= cutoff.toEpochMilli()) {
            return -1;
        }
        for (Path p : paths.stream().sorted(Comparator.reverseOrder()).toList()) {
            Files.deleteIfExists(p);
        }
        return size;
    }

    private static void removeIfEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            if (s.findAny().isEmpty()) {
                Files.deleteIfExists(dir);
            }
        } catch (NoSuchFileException | DirectoryNotEmptyException e) {
            // gone or refilled meanwhile
        }
    }

    private static List<Path> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }
}
