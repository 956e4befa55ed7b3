package org.meddiff.gateway.assemble;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
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
import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.InstanceReceived;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.SeriesAttributes;
import org.meddiff.gateway.events.SeriesReady;
import org.meddiff.gateway.spool.Spool;

/**
 * Decides when a series is complete: no new instance for the quiet period (wall clock, checked by a
 * timer, not by event time). Duplicate deliveries of an instance count once. A late instance reopens
 * the series, and its next readiness is announced with the next generation.
 *
 * <p>State is in memory, with two small files per series in the spool so a restart loses nothing:
 * {@code .series.json} (the attributes, written when the series is first seen) and {@code .ready}
 * (generation and instance count of the last announcement). At start-up, every series whose instance
 * count differs from its {@code .ready} is re-armed.
 */
@ApplicationScoped
public class SeriesAssembler {
    private static final Logger LOG = Logger.getLogger(SeriesAssembler.class);
    static final String ATTRIBUTES_FILE = ".series.json";
    static final String READY_FILE = ".ready";

    @Inject
    GatewayConfig config;

    @Inject
    Spool spool;

    @Inject
    Outbox outbox;

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

        SeriesState(String studyUid, String seriesUid, Path dir, SeriesAttributes attributes, int generation, int announcedCount) {
            this.studyUid = studyUid;
            this.seriesUid = seriesUid;
            this.dir = dir;
            this.attributes = attributes;
            this.generation = generation;
            this.announcedCount = announcedCount;
        }
    }

    void start(@Observes StartupEvent event) {
        boolean consuming = org.eclipse.microprofile.config.ConfigProvider.getConfig()
                .getOptionalValue("mp.messaging.incoming.assemble-instances.enabled", Boolean.class).orElse(true);
        if (!config.stages().assemble() || !consuming) {
            // the series state in the spool belongs to the one process that assembles: never recover or announce it here
            LOG.infof("assemble stage off in this process (%s)", consuming ? "gateway.stages.assemble=false"
                    : "its channel assemble-instances is disabled");
            return;
        }
        recoverFromSpool();
        long interval = config.assemble().checkInterval().toMillis();
        timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("assemble-timer").daemon(true).unstarted(r));
        timer.scheduleWithFixedDelay(this::announceQuietSeries, interval, interval, TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent event) {
        if (timer != null) {
            timer.shutdownNow();
        }
    }

    @Incoming("assemble-instances")
    @Blocking
    public void onInstance(String json) {
        InstanceReceived event;
        try {
            event = Events.fromJson(json, InstanceReceived.class);
        } catch (IllegalArgumentException e) {
            LOG.errorf("skipping unreadable dicom.instance.received record: %s", e.getMessage());
            return;
        }
        try {
            Path dir = spool.seriesDir(event.studyInstanceUid(), event.seriesInstanceUid());
            while (true) {
                SeriesState state = open.computeIfAbsent(event.seriesInstanceUid(), uid -> reopen(event, dir));
                synchronized (state) {
                    if (state.closed) {
                        continue; // announced and removed meanwhile: this instance reopens the series
                    }
                    state.instances.add(event.sopInstanceUid());
                    state.lastArrivalNanos = System.nanoTime();
                    return;
                }
            }
        } catch (RuntimeException e) {
            LOG.errorf(e, "cannot track series %s", event.seriesInstanceUid());
        }
    }

    private SeriesState reopen(InstanceReceived event, Path dir) {
        try {
            Path attributes = dir.resolve(ATTRIBUTES_FILE);
            if (!Files.exists(attributes)) {
                Files.writeString(attributes, Events.toJson(event.series()));
            }
            int[] ready = readReady(dir);
            SeriesState state = new SeriesState(event.studyInstanceUid(), event.seriesInstanceUid(), dir, event.series(),
                    ready[0], ready[1]);
            if (ready[0] > 0) {
                // Reopened after an announcement: the instances already announced count towards the total.
                for (Path f : spool.seriesFiles(dir)) {
                    state.instances.add(stripExtension(f));
                }
                LOG.infof("series %s reopened by a late instance (was ready with %d instances)", state.seriesUid, ready[1]);
            }
            return state;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    void announceQuietSeries() {
        long quietNanos = config.assemble().seriesQuietPeriod().toNanos();
        long now = System.nanoTime();
        for (SeriesState state : open.values()) {
            synchronized (state) {
                if (state.instances.size() == state.announcedCount || now - state.lastArrivalNanos < quietNanos) {
                    continue;
                }
                int generation = state.generation + 1;
                int count = state.instances.size();
                try {
                    outbox.append(SeriesReady.of(state.studyUid, state.seriesUid, generation, count, spool.relative(state.dir),
                            state.attributes));
                    Files.writeString(state.dir.resolve(READY_FILE), generation + " " + count, StandardCharsets.US_ASCII);
                    state.generation = generation;
                    state.announcedCount = count;
                    LOG.infof("series %s ready: %d instance(s), generation %d", state.seriesUid, count, generation);
                } catch (IOException e) {
                    LOG.errorf("cannot announce series %s (will retry): %s", state.seriesUid, e.getMessage());
                    continue;
                }
                state.closed = true;
                open.remove(state.seriesUid, state);
            }
        }
    }

    /** Re-arms series that were receiving or reopened when the process stopped. */
    void recoverFromSpool() {
        try {
            for (Path dir : spool.allSeriesDirs()) {
                Path attributesFile = dir.resolve(ATTRIBUTES_FILE);
                if (!Files.exists(attributesFile)) {
                    continue; // never seen by assemble: its events are still in Kafka and will come
                }
                var files = spool.seriesFiles(dir);
                int[] ready = readReady(dir);
                if (files.size() == ready[1]) {
                    continue;
                }
                SeriesAttributes attributes = Events.fromJson(Files.readString(attributesFile), SeriesAttributes.class);
                String seriesUid = dir.getFileName().toString();
                SeriesState state = new SeriesState(dir.getParent().getFileName().toString(), seriesUid, dir, attributes,
                        ready[0], ready[1]);
                files.forEach(f -> state.instances.add(stripExtension(f)));
                state.lastArrivalNanos = System.nanoTime();
                open.put(seriesUid, state);
                LOG.infof("recovered series %s with %d instance(s) from the spool", seriesUid, files.size());
            }
        } catch (IOException | RuntimeException e) {
            LOG.errorf(e, "spool recovery scan failed");
        }
    }

    private static int[] readReady(Path dir) throws IOException {
        Path ready = dir.resolve(READY_FILE);
        if (!Files.exists(ready)) {
            return new int[] {0, 0};
        }
        String[] parts = Files.readString(ready, StandardCharsets.US_ASCII).trim().split(" ");
        return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
    }

    private static String stripExtension(Path f) {
        String name = f.getFileName().toString();
        return name.endsWith(".dcm") ? name.substring(0, name.length() - 4) : name;
    }

    /** For the status API: series still waiting for their quiet period. */
    public int openSeriesCount() {
        return open.size();
    }
}
