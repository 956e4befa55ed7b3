package org.meddiff.gateway.assemble;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Blocking;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;
import org.meddiff.gateway.Failures;
import org.meddiff.gateway.GatewayClock;
import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.dicom.DerivedMarker;
import org.meddiff.gateway.dicom.DicomDataException;
import org.meddiff.gateway.dicom.DicomDatasets;
import org.meddiff.gateway.dicom.InstanceHeader;
import org.meddiff.gateway.events.DurableRetry;
import org.meddiff.gateway.events.EventReader;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.InstanceReceived;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.SeriesAttributes;
import org.meddiff.gateway.events.SeriesReady;
import org.meddiff.gateway.events.Topics;
import org.meddiff.gateway.spool.AtomicFiles;
import org.meddiff.gateway.spool.Spool;
import org.meddiff.gateway.track.StageProgress;

/**
 * Decides when a series is complete: no new instance for the quiet period (wall clock, checked by a
 * timer, not by event time). Duplicate deliveries of an instance count once. A late instance reopens
 * the series, and its next readiness is announced with the next generation.
 *
 * <p>State is in memory, with two small files per series in the spool so a restart loses nothing:
 * {@code .series.json} (the attributes, written when the series is first seen) and {@code .ready}
 * (generation and instance count of the last announcement), both written atomically. At start-up, every series whose
 * instance count differs from its {@code .ready} is re-armed with a fresh quiet period, so a sender that retries after
 * the restart completes it before it is announced; its announcement says it was recovered. One fresh period per
 * arrival ({@code .recovered} holds the count it was granted for): re-armed again with nothing new, its quiet period
 * runs from its newest instance, so repeated restarts cannot hold a series back. An unreadable state file is
 * reported and rebuilt. A record whose state cannot be written is retried, uncommitted, until it can.
 */
@ApplicationScoped
public class SeriesAssembler {
    private static final Logger LOG = Logger.getLogger(SeriesAssembler.class);
    private static final String STAGE = "assemble";
    static final String ATTRIBUTES_FILE = ".series.json";
    static final String READY_FILE = ".ready";
    /** The instance count a series had when it was last re-armed at start-up (one fresh quiet period per arrival). */
    static final String RECOVERED_FILE = ".recovered";

    @Inject
    GatewayConfig config;

    @Inject
    Spool spool;

    @Inject
    Outbox outbox;

    @Inject
    DurableRetry retry;

    @Inject
    StageProgress progress;

    @Inject
    DicomDatasets datasets;

    @Inject
    EventReader reader;

    @Inject
    GatewayClock clock;

    private final Map<String, SeriesState> open = new ConcurrentHashMap<>();
    private ScheduledExecutorService timer;

    /** A series that has instances not yet announced. */
    static final class SeriesState {
        final String studyUid;
        final String seriesUid;
        final Path dir;
        final SeriesAttributes attributes;
        final Set<String> instances = new HashSet<>();
        long lastArrivalNanos;
        int generation;
        int announcedCount;
        boolean closed;
        /** Re-armed from the spool at start-up: it was receiving when the process stopped. */
        boolean recovered;
        /** The last announcement failed (logged once, until one succeeds). */
        boolean announceFailing;

        SeriesState(
                String studyUid,
                String seriesUid,
                Path dir,
                SeriesAttributes attributes,
                int generation,
                int announcedCount) {
            this.studyUid = studyUid;
            this.seriesUid = seriesUid;
            this.dir = dir;
            this.attributes = attributes;
            this.generation = generation;
            this.announcedCount = announcedCount;
        }
    }

    void start(@Observes StartupEvent event) {
        if (!config.stages().assemble()) {
            // the series state in the spool belongs to the one process that assembles: never recover or announce it
            // here
            // (the channel assemble-instances follows the same key: mp.messaging.incoming.assemble-instances.enabled)
            LOG.info("assemble stage off in this process (gateway.stages.assemble=false)");
            return;
        }
        recoverFromSpool();
        long interval = config.assemble().checkInterval().toMillis();
        timer = Executors.newSingleThreadScheduledExecutor(
                r -> Thread.ofPlatform().name("assemble-timer").daemon(true).unstarted(r));
        timer.scheduleWithFixedDelay(this::checkQuietSeries, interval, interval, TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent event) {
        if (timer != null) {
            timer.shutdownNow();
        }
    }

    @Incoming("assemble-instances")
    @Blocking
    public void onInstance(String json) {
        reader.read(Topics.INSTANCE_RECEIVED, json, InstanceReceived.class, this::problem)
                .ifPresent(this::track);
    }

    /** Ingest refuses invalid UIDs, so only a foreign producer writes such an event: it can never be assembled. */
    private String problem(InstanceReceived event) {
        if (event.sopInstanceUid() == null || event.series() == null) {
            return "event " + event.eventId() + " has no SOP instance UID or series attributes";
        }
        try {
            spool.seriesDir(event.studyInstanceUid(), event.seriesInstanceUid());
            return null;
        } catch (IllegalArgumentException e) {
            return "event " + event.eventId() + " has an invalid UID: " + e.getMessage();
        }
    }

    private void track(InstanceReceived event) {
        Path dir = spool.seriesDir(event.studyInstanceUid(), event.seriesInstanceUid());
        while (true) {
            SeriesState state = open.get(event.seriesInstanceUid());
            boolean opened = false;
            if (state == null) {
                // the series' files are written outside the map's lock, retried until they are: the record stays
                // uncommitted
                SeriesState created = retry.call(
                        STAGE, "open series " + event.seriesInstanceUid() + " in " + dir, () -> reopen(event, dir));
                state = open.putIfAbsent(event.seriesInstanceUid(), created);
                if (state == null) {
                    state = created;
                    opened = true;
                }
            }
            synchronized (state) {
                if (state.closed) {
                    open.remove(event.seriesInstanceUid(), state);
                    continue; // announced and removed meanwhile: this instance reopens the series
                }
                if (state.instances.add(event.sopInstanceUid()) || opened) {
                    // a new instance restarts the quiet period, and so does the instance that reopened an announced
                    // series (the spool listing already holds it); a replayed duplicate must not hold a series back
                    state.lastArrivalNanos = clock.nanoTime();
                }
                return;
            }
        }
    }

    private SeriesState reopen(InstanceReceived event, Path dir) throws IOException {
        Path attributes = dir.resolve(ATTRIBUTES_FILE);
        if (readAttributes(attributes) == null) {
            AtomicFiles.writeString(attributes, Events.toJson(event.series()));
        }
        int[] ready = readReady(dir);
        SeriesState state = new SeriesState(
                event.studyInstanceUid(), event.seriesInstanceUid(), dir, event.series(), ready[0], ready[1]);
        if (ready[0] > 0) {
            // Reopened after an announcement: the instances already announced count towards the total.
            for (Path f : spool.seriesFiles(dir)) {
                state.instances.add(stripExtension(f));
            }
            LOG.infof("series %s reopened by a late instance (was ready with %d instances)", state.seriesUid, ready[1]);
        }
        return state;
    }

    /** The timer's task: any failure is logged and the next check runs (an exception would cancel the timer for good). */
    private void checkQuietSeries() {
        try {
            announceQuietSeries();
        } catch (DurableRetry.Interrupted e) {
            // shutting down
        } catch (RuntimeException e) {
            LOG.errorf(
                    e,
                    "checking for quiet series failed; checking again in %s",
                    config.assemble().checkInterval());
        }
    }

    void announceQuietSeries() {
        long quietNanos = config.assemble().seriesQuietPeriod().toNanos();
        long now = clock.nanoTime();
        for (SeriesState state : open.values()) {
            synchronized (state) {
                if (now - state.lastArrivalNanos < quietNanos) {
                    continue;
                }
                if (state.instances.size() == state.announcedCount) {
                    // reopened by a duplicate of what was announced: nothing new to announce, no state to keep
                    state.closed = true;
                    open.remove(state.seriesUid, state);
                    continue;
                }
                int generation = state.generation + 1;
                int count = state.instances.size();
                String what = "announce series " + state.seriesUid;
                try {
                    outbox.append(SeriesReady.of(
                            state.studyUid,
                            state.seriesUid,
                            generation,
                            count,
                            spool.relative(state.dir),
                            state.attributes,
                            state.recovered));
                } catch (IOException e) {
                    // the timer tries again on its next tick; logged once, not on every tick
                    if (!state.announceFailing) {
                        LOG.errorf("cannot %s (%s); retrying on every check", what, Failures.reason(e));
                        state.announceFailing = true;
                    }
                    progress.stalled(STAGE, what, Failures.reason(e));
                    continue;
                }
                if (state.announceFailing) {
                    LOG.infof("series %s announced after the outbox recovered", state.seriesUid);
                    state.announceFailing = false;
                    progress.progressing(STAGE, what);
                }
                // the event is out: record it, or a restart would announce the same readiness again (deduplicated
                // downstream)
                retry.run(STAGE, "record the readiness of series " + state.seriesUid, () -> {
                    AtomicFiles.writeString(state.dir.resolve(READY_FILE), generation + " " + count);
                    Files.deleteIfExists(state.dir.resolve(RECOVERED_FILE));
                });
                state.generation = generation;
                state.announcedCount = count;
                LOG.infof(
                        "series %s ready: %d instance(s), generation %d%s",
                        state.seriesUid, count, generation, state.recovered ? " (recovered after a restart)" : "");
                state.closed = true;
                open.remove(state.seriesUid, state);
            }
        }
    }

    /** Re-arms series that were receiving or reopened when the process stopped, each with a fresh quiet period. */
    void recoverFromSpool() {
        List<Path> dirs;
        try {
            dirs = spool.allSeriesDirs();
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot scan the spool " + spool.root() + " for open series: " + e.getMessage(), e);
        }
        for (Path dir : dirs) {
            try {
                recover(dir);
            } catch (IOException | RuntimeException e) {
                LOG.errorf(e, "cannot recover series %s from the spool", dir);
            }
        }
    }

    private void recover(Path dir) throws IOException {
        Path attributesFile = dir.resolve(ATTRIBUTES_FILE);
        if (!Files.exists(attributesFile)) {
            return; // never seen by assemble: its events are still in Kafka and will come
        }
        List<Path> files = spool.seriesFiles(dir);
        int[] ready = readReady(dir);
        if (files.size() == ready[1] || files.isEmpty()) {
            return;
        }
        SeriesAttributes attributes = readAttributes(attributesFile);
        if (attributes == null) {
            attributes = rebuildAttributes(attributesFile, files.get(0));
        }
        String seriesUid = dir.getFileName().toString();
        SeriesState state = new SeriesState(
                dir.getParent().getFileName().toString(), seriesUid, dir, attributes, ready[0], ready[1]);
        files.forEach(f -> state.instances.add(stripExtension(f)));
        state.recovered = true;
        Path marker = dir.resolve(RECOVERED_FILE);
        if (readCount(marker) == files.size()) {
            // re-armed at an earlier start and nothing arrived since: a crash loop must not hold the series back for
            // ever, so its quiet period runs from its newest instance this time
            long newest = 0;
            for (Path f : files) {
                newest = Math.max(newest, Files.getLastModifiedTime(f).toMillis());
            }
            long quietFor = Math.max(0, clock.currentTimeMillis() - newest);
            state.lastArrivalNanos = clock.nanoTime() - quietFor * 1_000_000;
            LOG.infof(
                    "recovered series %s with %d instance(s) from the spool again, nothing new since: ready once quiet "
                            + "since its newest instance (%d s ago)",
                    seriesUid, files.size(), quietFor / 1000);
        } else {
            state.lastArrivalNanos = clock.nanoTime();
            AtomicFiles.writeString(marker, String.valueOf(files.size()));
            LOG.infof(
                    "recovered series %s with %d instance(s) from the spool: ready after a fresh quiet period",
                    seriesUid, files.size());
        }
        open.put(seriesUid, state);
    }

    /** The instance count a {@link #RECOVERED_FILE} holds, or -1. */
    private static int readCount(Path file) throws IOException {
        if (!Files.exists(file)) {
            return -1;
        }
        try {
            return Integer.parseInt(
                    Files.readString(file, StandardCharsets.ISO_8859_1).trim());
        } catch (NumberFormatException e) {
            return -1; // unreadable: the series gets a fresh quiet period, the safe side
        }
    }

    /** The series' attributes, or null when the file is missing or unreadable (reported). */
    private static SeriesAttributes readAttributes(Path file) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        try {
            return Events.fromJson(Files.readString(file), SeriesAttributes.class);
        } catch (IllegalArgumentException | CharacterCodingException e) {
            LOG.errorf("series attributes %s are unreadable (%s): rebuilt", file, e.getMessage());
            return null;
        }
    }

    /**
     * Attributes from an instance's header when the file holding them is unreadable. The AE titles the series came
     * with are not in the instances: rules that need them will not match it, and the log says so.
     */
    private SeriesAttributes rebuildAttributes(Path attributesFile, Path instance) throws IOException {
        InstanceHeader h;
        try {
            h = datasets.readHeader(instance);
        } catch (DicomDataException e) {
            throw new IOException("cannot rebuild " + attributesFile + " from " + instance + ": " + e.getMessage(), e);
        }
        SeriesAttributes rebuilt = new SeriesAttributes(
                h.modality(),
                h.seriesNumber(),
                h.sliceThicknessMm(),
                h.seriesDescription(),
                h.bodyPartExamined(),
                h.imageType(),
                h.sopClassUid(),
                null,
                null,
                DerivedMarker.isOurs(h.derivationDescription()));
        AtomicFiles.writeString(attributesFile, Events.toJson(rebuilt));
        LOG.errorf(
                "series attributes %s rebuilt from %s without the calling and called AE titles: routing rules on AE titles "
                        + "(every shipped one) will not match this series; send it again to have it processed",
                attributesFile, instance.getFileName());
        return rebuilt;
    }

    /** Generation and instance count of the last announcement; 0 0 when none, or when the file is unreadable (reported). */
    private static int[] readReady(Path dir) throws IOException {
        Path ready = dir.resolve(READY_FILE);
        if (!Files.exists(ready)) {
            return new int[] {0, 0};
        }
        String text = Files.readString(ready, StandardCharsets.ISO_8859_1).trim();
        try {
            String[] parts = text.split(" ");
            return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
        } catch (RuntimeException e) {
            // a repeated announcement is the safe side: its job ids and derived UIDs are deterministic, dispatch
            // dedupes
            LOG.errorf(
                    "series state %s is unreadable ('%s'): taken as never announced",
                    ready, text.replaceAll("[^\\x20-\\x7e]", "?"));
            return new int[] {0, 0};
        }
    }

    private static String stripExtension(Path f) {
        String name = f.getFileName().toString();
        return name.endsWith(".dcm") ? name.substring(0, name.length() - 4) : name;
    }
}
