package org.meddiff.gateway.events;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.meddiff.gateway.spool.AtomicFiles;
import org.meddiff.gateway.spool.Spool;

/**
 * Which events a consumer has already handled, by eventId, so a duplicate (at-least-once delivery: the relay
 * republishes after a crash, Kafka redelivers after a rebalance) does no second piece of work. One empty file per
 * event under {@code processed/<consumer>/} in the spool, shared by every process on it (a redelivered job may land
 * on another worker); the spool retention removes them with the data they are about.
 *
 * <p>{@link #once} also keeps two copies of one event from running at once in this process.
 */
@ApplicationScoped
public class ProcessedEvents {
    private final Path root;
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();

    @Inject
    public ProcessedEvents(Spool spool) {
        this(spool.processed());
    }

    public ProcessedEvents(Path root) {
        this.root = root;
    }

    /**
     * True if {@code consumer} may handle {@code eventId} now: it has not handled it before and no other thread of this
     * process is handling it. Every true must be followed by {@link #end}.
     */
    private boolean begin(String consumer, String eventId) {
        if (eventId == null || eventId.isBlank()) {
            return true; // an event from before event ids: nothing to deduplicate on
        }
        if (!inFlight.add(consumer + "/" + eventId)) {
            return false;
        }
        if (Files.exists(file(consumer, eventId))) {
            inFlight.remove(consumer + "/" + eventId);
            return false;
        }
        return true;
    }

    /** Ends a {@link #begin}; {@code done}: the event's work is finished and durable, record it. */
    private void end(String consumer, String eventId, boolean done) throws IOException {
        if (eventId == null || eventId.isBlank()) {
            return;
        }
        try {
            if (done) {
                AtomicFiles.write(file(consumer, eventId), new byte[0]);
            }
        } finally {
            inFlight.remove(consumer + "/" + eventId);
        }
    }

    /**
     * Runs {@code work} unless {@code consumer} handled the event before (or handles it right now); once the work
     * returns, records the event as handled, retrying that write until it lands. False when skipped.
     */
    public boolean once(String consumer, String eventId, DurableRetry retry, Runnable work) {
        if (!begin(consumer, eventId)) {
            return false;
        }
        boolean done = false;
        try {
            work.run();
            done = true;
        } finally {
            boolean record = done;
            retry.run(consumer, "record event " + eventId + " as handled", () -> end(consumer, eventId, record));
        }
        return true;
    }

    public boolean handled(String consumer, String eventId) {
        return eventId != null && !eventId.isBlank() && Files.exists(file(consumer, eventId));
    }

    /** Event ids are UUIDs; anything else is hashed, so no id can name a path outside the folder. */
    private Path file(String consumer, String eventId) {
        String name = eventId.matches("[0-9A-Za-z-]{1,64}") ? eventId : sha256(eventId);
        return root.resolve(consumer).resolve(name);
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
