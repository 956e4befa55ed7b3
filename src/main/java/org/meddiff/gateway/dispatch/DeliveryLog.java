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
import org.meddiff.gateway.Failures;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.spool.AtomicFiles;
import org.meddiff.gateway.spool.Spool;

/**
 * What each destination holds, one file per derived series in the spool's {@code dispatch/} (written atomically,
 * keyed by the derived SeriesInstanceUID, since that is what a PACS stores): per destination, how its last delivery
 * ended, for which job, the completion events already handled and the outcome event published. It is what makes
 * dispatch idempotent: a duplicate inference.job.completed (the same eventId, a new one for the same job, or another
 * job that produced the very same derived series) is not sent again, and its outcome is announced instead, so a
 * crash between recording and publishing loses nothing.
 */
@ApplicationScoped
public class DeliveryLog {
    private static final Logger LOG = Logger.getLogger(DeliveryLog.class);

    /**
     * How one destination's delivery of the series ended, and for which job. {@code outcomeEvent}: the pacs.store.*
     * event, as published.
     */
    public record Delivery(
            String state,
            String jobId,
            int instances,
            List<String> eventIds,
            String outcomeTopic,
            String outcomeEvent) {
        public static final String DELIVERED = "DELIVERED";
        public static final String DEAD_LETTERED = "DEAD_LETTERED";

        public Delivery {
            eventIds = eventIds == null ? List.of() : List.copyOf(eventIds);
        }

        public boolean delivered() {
            return DELIVERED.equals(state);
        }

        /** The same outcome, with one more completion event handled (the latest {@link #KEPT_EVENT_IDS} are kept). */
        Delivery handled(String eventId) {
            if (eventId == null || eventIds.contains(eventId)) {
                return this;
            }
            List<String> ids = new ArrayList<>(eventIds);
            ids.add(eventId);
            return new Delivery(
                    state,
                    jobId,
                    instances,
                    ids.subList(Math.max(0, ids.size() - KEPT_EVENT_IDS), ids.size()),
                    outcomeTopic,
                    outcomeEvent);
        }

        /** Repeats come soon after the original: a series announced more often than this has a bigger problem. */
        static final int KEPT_EVENT_IDS = 32;
    }

    /** The file's content. */
    record SeriesDeliveries(String derivedSeriesInstanceUid, Map<String, Delivery> deliveries) {}

    private final Spool spool;

    @Inject
    public DeliveryLog(Spool spool) {
        this.spool = spool;
    }

    public synchronized Optional<Delivery> get(String derivedSeriesUid, String destination) {
        return Optional.ofNullable(read(derivedSeriesUid).deliveries().get(destination));
    }

    /** Records (replaces) the destination's outcome; durable when it returns. */
    public synchronized void record(String derivedSeriesUid, String destination, Delivery delivery) throws IOException {
        Map<String, Delivery> all = new LinkedHashMap<>(read(derivedSeriesUid).deliveries());
        all.put(destination, delivery);
        AtomicFiles.writeString(
                spool.dispatchStateFile(derivedSeriesUid), Events.toJson(new SeriesDeliveries(derivedSeriesUid, all)));
    }

    /** A missing file is a series never dispatched; an unreadable one is reported and read as empty (a resend is harmless). */
    private SeriesDeliveries read(String derivedSeriesUid) {
        Path file = spool.dispatchStateFile(derivedSeriesUid);
        try {
            SeriesDeliveries d = Events.fromJson(Files.readString(file), SeriesDeliveries.class);
            return d.deliveries() == null ? new SeriesDeliveries(derivedSeriesUid, Map.of()) : d;
        } catch (NoSuchFileException e) {
            return new SeriesDeliveries(derivedSeriesUid, Map.of());
        } catch (IOException | IllegalArgumentException e) {
            LOG.errorf(
                    "dispatch state %s is unreadable (%s): taken as no delivery made, so the series is sent again",
                    file, Failures.reason(e));
            return new SeriesDeliveries(derivedSeriesUid, Map.of());
        }
    }
}
