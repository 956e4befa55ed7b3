package org.meddiff.gateway.spool;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;
import org.meddiff.gateway.config.GatewayConfig;

/**
 * The blob store (local file system today): received instances, derived series, the event outbox.
 * Layout: {@code incoming/} (files being received), {@code instances/<study>/<series>/<sop>.dcm},
 * {@code derived/<job>/}, {@code dispatch/<derived series>.json} (what was delivered where), {@code processed/<consumer>/<eventId>}
 * (events a consumer has handled), {@code outbox/} (or the name gateway.spool.outbox gives this process). Events carry
 * paths relative to the root (claim checks).
 */
@ApplicationScoped
public class Spool {
    private static final Logger LOG = Logger.getLogger(Spool.class);

    /** The outbox directory of the all-in-one default. */
    public static final String DEFAULT_OUTBOX = "outbox";

    private final Path root;
    private final long minFreeBytes;
    private final String outbox;

    private volatile FileStore cachedStore;

    /** The file in a job's directory that says it completed: its inference.job.completed event. */
    public static final String COMPLETE_MARKER = ".complete.json";

    @Inject
    public Spool(GatewayConfig config) {
        this(
                config.spool().dir(),
                config.spool().minFreeMegabytes() * 1024 * 1024,
                config.spool().outbox());
    }

    public Spool(Path root, long minFreeBytes) {
        this(root, minFreeBytes, DEFAULT_OUTBOX);
    }

    /** {@code outbox}: this process's outbox directory under the root (one per process sharing the spool). */
    public Spool(Path root, long minFreeBytes, String outbox) {
        this.root = root.toAbsolutePath().normalize();
        this.minFreeBytes = minFreeBytes;
        this.outbox = outbox;
        try {
            for (String dir : List.of("incoming", "instances", "derived", "dispatch", "processed", outbox)) {
                Files.createDirectories(this.root.resolve(dir));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the spool under " + this.root + ": " + e.getMessage(), e);
        }
    }

    public Path root() {
        return root;
    }

    public Path incoming() {
        return root.resolve("incoming");
    }

    public Path outbox() {
        return root.resolve(outbox);
    }

    /** Markers of the events each consumer has handled (events.ProcessedEvents). */
    public Path processed() {
        return root.resolve("processed");
    }

    /** Dispatch state, one file per derived series: which destinations have it (dispatch.DeliveryLog). */
    public Path dispatchStates() {
        return root.resolve("dispatch");
    }

    public Path dispatchStateFile(String derivedSeriesUid) {
        requireUid(derivedSeriesUid);
        return dispatchStates().resolve(derivedSeriesUid + ".json");
    }

    public Path seriesDir(String studyUid, String seriesUid) {
        requireUid(studyUid);
        requireUid(seriesUid);
        return root.resolve("instances").resolve(studyUid).resolve(seriesUid);
    }

    public Path instancePath(String studyUid, String seriesUid, String sopInstanceUid) {
        requireUid(sopInstanceUid);
        return seriesDir(studyUid, seriesUid).resolve(sopInstanceUid + ".dcm");
    }

    /** Directory of a job's derived series; job ids are hex digests. */
    public Path derivedDir(String jobId) {
        if (jobId == null || !jobId.matches("[0-9a-f]{8,64}")) {
            throw new IllegalArgumentException("invalid job id " + jobId);
        }
        return root.resolve("derived").resolve(jobId);
    }

    /** The file a worker locks while it runs a job (beside the job's directory, which a run clears). */
    public Path jobLockFile(String jobId) {
        return derivedDir(jobId).resolveSibling(jobId + ".lock");
    }

    public String relative(Path path) {
        return root.relativize(path.toAbsolutePath().normalize()).toString();
    }

    /** Resolves a claim-check reference from an event, refusing anything outside the spool. */
    public Path resolve(String reference) {
        if (reference == null || reference.isEmpty()) {
            throw new IllegalArgumentException("the event has no spool reference");
        }
        Path p = root.resolve(reference).normalize();
        if (!p.startsWith(root)) {
            throw new IllegalArgumentException("reference " + reference + " points outside the spool");
        }
        return p;
    }

    public boolean hasRoomForMore() {
        try {
            return fileStore().getUsableSpace() >= minFreeBytes;
        } catch (IOException e) {
            return false;
        }
    }

    /** Looked up once: finding a path's file store parses the mount table, on every C-STORE otherwise. */
    private FileStore fileStore() throws IOException {
        FileStore store = cachedStore;
        if (store == null) {
            store = Files.getFileStore(root);
            cachedStore = store;
        }
        return store;
    }

    /** Atomic rename into place, then fsync of the directory so the rename itself survives a crash. */
    public void moveDurably(Path from, Path to) throws IOException {
        Path dir = to.getParent();
        Files.createDirectories(dir);
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("spool " + root + " must be on one file system supporting atomic rename", e);
        }
        fsyncDirectory(dir);
    }

    public static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /** Files of one series, sorted by name. */
    public List<Path> seriesFiles(Path seriesDir) throws IOException {
        List<Path> files = new ArrayList<>();
        if (!Files.isDirectory(seriesDir)) {
            return files;
        }
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(seriesDir, "*.dcm")) {
            stream.forEach(files::add);
        }
        files.sort(null);
        return files;
    }

    /** Series directories present in the spool (study, series pairs), for start-up recovery. */
    public List<Path> allSeriesDirs() throws IOException {
        List<Path> dirs = new ArrayList<>();
        try (Stream<Path> studies = Files.list(root.resolve("instances"))) {
            for (Path study : studies.filter(Files::isDirectory).toList()) {
                try (Stream<Path> series = Files.list(study)) {
                    series.filter(Files::isDirectory).forEach(dirs::add);
                }
            }
        }
        return dirs;
    }

    /** Removes half-received files left by a crash: they were never acknowledged. */
    public int sweepIncoming() throws IOException {
        int removed = 0;
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(incoming())) {
            for (Path p : stream) {
                Files.deleteIfExists(p);
                removed++;
            }
        }
        if (removed > 0) {
            LOG.infof("removed %d unacknowledged partial file(s) from %s", removed, incoming());
        }
        return removed;
    }

    private static void requireUid(String uid) {
        if (!Uids.isValid(uid)) {
            throw new IllegalArgumentException("invalid UID '" + uid + "'");
        }
    }
}
