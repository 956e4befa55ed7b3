package org.meddiff.gateway.campaign;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

import org.meddiff.gateway.it.support.Dcmtk;
import org.meddiff.gateway.it.support.Processes;

/**
 * A modality as hospitals have them: it sends a series with storescu (at once, or in parts as it reconstructs) and, when
 * the association breaks or the gateway is not there, sends again what was not acknowledged (after
 * {@code retryBackoff}), until every instance is. An instance counts as acknowledged only when storescu -v printed a
 * Success response for the file it had just sent.
 */
final class ModalitySender {
    /** The fate of one series at the sender: what was acknowledged and when the last of it was. */
    static final class Delivery {
        final SourceSeries series;
        final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        final AtomicInteger attempts = new AtomicInteger();
        final AtomicInteger failedAttempts = new AtomicInteger();
        volatile long firstSentAtMillis;
        /** Wall-clock ms when storescu returned from the attempt that got the last instance acknowledged; 0 = never. */
        volatile long allAcknowledgedAtMillis;

        Delivery(SourceSeries series) {
            this.series = series;
        }

        boolean complete() {
            return allAcknowledgedAtMillis > 0;
        }
    }

    private final String callingAe;
    private final String calledAe;
    private final IntSupplier port;
    private final Duration retryBackoff;
    private volatile String activity = "idle";

    ModalitySender(String callingAe, String calledAe, IntSupplier port, Duration retryBackoff) {
        this.callingAe = callingAe;
        this.calledAe = calledAe;
        this.port = port;
        this.retryBackoff = retryBackoff;
    }

    /** Sends {@code series} at once, until every instance is acknowledged or the deadline passes. */
    Delivery send(SourceSeries series, Deadline deadline) {
        return send(series, Duration.ZERO, deadline);
    }

    /**
     * Sends {@code series} as a scanner that reconstructs while it sends: the instances are released in (up to) four
     * parts spread over {@code arrival}, each part in its own association, and whatever a broken association left
     * unacknowledged is sent again (after the retry backoff) with the next association; until every instance is
     * acknowledged or the deadline passes.
     */
    Delivery send(SourceSeries series, Duration arrival, Deadline deadline) {
        Delivery d = new Delivery(series);
        int n = series.size();
        int parts = arrival.isZero() ? 1 : Math.min(4, n);
        long start = System.nanoTime();
        d.firstSentAtMillis = System.currentTimeMillis();
        while (!deadline.expired()) {
            long elapsed = System.nanoTime() - start;
            int releasedParts =
                    parts == 1 ? 1 : (int) Math.min(parts, 1 + elapsed * (parts - 1) / Math.max(1, arrival.toNanos()));
            int released = (int) Math.ceil((double) n * releasedParts / parts);
            List<Path> unacknowledged = series.files().subList(0, released).stream()
                    .filter(f -> !d.acknowledged.contains(series.sopByFile().get(f)))
                    .toList();
            if (!unacknowledged.isEmpty()) {
                int attempt = d.attempts.incrementAndGet();
                activity = "sending " + series.label() + " (association " + attempt + ", " + d.acknowledged.size()
                        + " of " + n + " acknowledged)";
                Processes.Result r = Dcmtk.storeFast(callingAe, calledAe, "127.0.0.1", port.getAsInt(), unacknowledged);
                Set<String> acked = acknowledgedSops(r, series);
                d.acknowledged.addAll(acked);
                if (acked.size() < unacknowledged.size()) {
                    d.failedAttempts.incrementAndGet();
                    activity = "waiting to resend " + series.label() + " (" + d.acknowledged.size() + " of " + n
                            + " acknowledged)";
                    deadline.sleepAtMost(retryBackoff);
                    continue;
                }
            }
            if (d.acknowledged.size() == n) {
                d.allAcknowledgedAtMillis = System.currentTimeMillis();
                break;
            }
            activity = series.label() + " arriving (" + d.acknowledged.size() + " of " + n + " acknowledged)";
            long nextPartAt = start + releasedParts * arrival.toNanos() / (parts - 1);
            deadline.sleepAtMost(Duration.ofNanos(Math.max(1_000_000, nextPartAt - System.nanoTime())));
        }
        activity = "idle";
        return d;
    }

    /** What the sender is doing now, for the record of a kill. */
    String activity() {
        return activity;
    }

    /** The SOP instances of files storescu -v reports a Success response for (each answers the file sent before it). */
    static Set<String> acknowledgedSops(Processes.Result storescu, SourceSeries series) {
        Set<String> sops = new HashSet<>();
        String sending = null;
        for (String line : storescu.output().lines().toList()) {
            int at = line.indexOf("Sending file: ");
            if (at >= 0) {
                sending = line.substring(at + "Sending file: ".length()).trim();
            } else if (line.contains("Received Store Response (Success)") && sending != null) {
                String sop = series.sopByFile().get(Path.of(sending));
                if (sop == null) {
                    throw new IllegalStateException(
                            "storescu acknowledged a file the series does not have: " + sending);
                }
                sops.add(sop);
                sending = null; // one response per file sent
            }
        }
        return sops;
    }
}
