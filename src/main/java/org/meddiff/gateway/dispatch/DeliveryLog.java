package org.meddiff.gateway.dispatch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.spool.AtomicFiles;
import org.meddiff.gateway.spool.Spool;

/**
 * The dispatch state of each job, one file per job in the spool's {@code dispatch/} (written atomically): per
 * destination, how its last delivery ended, the completion events already handled for it and the outcome event
 * published. It is what makes dispatch idempotent: a duplicate inference.job.completed (same eventId, or a new one for
 * a series the destination already has) is not sent again, and its outcome is announced again instead, so a crash
 * between recording and publishing loses nothing.
 */
@ApplicationScoped
public class DeliveryLog {
    private static final Logger LOG = Logger.getLogger(DeliveryLog.class);

    /** How one destination's delivery of a job ended. {@code outcomeEvent}: the pacs.store.* event, as published. */
    public record Delivery(String state, String derivedSeriesInstanceUid, int instances, List<String> eventIds,
                           String outcomeTopic, String outcomeEvent) {
        public static final String DELIVERED = "DELIVERED";
        public static final String DEAD_LETTERED = "DEAD_LETTERED";

        public Delivery {
            eventIds = eventIds == null ? List.of() : List.copyOf(eventIds);
        }

        public boolean delivered() {
            return DELIVERED.equals(state);
        }

        /** The same outcome, with one more completion event handled. */
        Delivery handled(String eventId) {
            if (eventId == null || eventIds.contains(eventId)) {
                return this;
            }
            List<String> ids = new ArrayList<>(eventIds);
            ids.add(eventId);
            return new Delivery(state, derivedSeriesInstanceUid, instances, ids, outcomeTopic, outcomeEvent);
        }
    }

    /** The file's content. */
    record JobDeliveries(String jobId, Map<String, Delivery> deliveries) {
    }

    private final Spool spool;

    @Inject
    public DeliveryLog(Spool spool) {
        this.spool = spool;
    }

    public synchronized Optional<Delivery> get(String jobId, String destination) {
        return Optional.ofNullable(read(jobId).deliveries().get(destination));
    }

    /** Records (replaces) the destination's outcome; durable when it returns. */
    public synchronized void record(String jobId, String destination, Delivery delivery) throws IOException {
        Map<String, Delivery> all = new LinkedHashMap<>(read(jobId).deliveries());
        all.put(destination, delivery);
        AtomicFiles.writeString(spool.dispatchStateFile(jobId), Events.toJson(new JobDeliveries(jobId, all)));
    }

    /** A missing file is a job never dispatched; an unreadable one is reported and read as empty (a resend is harmless). */
    private JobDeliveries read(String jobId) {
        Path file = spool.dispatchStateFile(jobId);
        try {
            JobDeliveries d = Events.fromJson(Files.readString(file), JobDeliveries.class);
            return d.deliveries() == null ? new JobDeliveries(jobId, Map.of()) : d;
        } catch (NoSuchFileException e) {
            return new JobDeliveries(jobId, Map.of());
        } catch (IOException | IllegalArgumentException e) {
            LOG.errorf("dispatch state %s is unreadable (%s): taken as no delivery made, so the series is sent again",
                    file, e.getMessage());
            return new JobDeliveries(jobId, Map.of());
        }
    }
}
