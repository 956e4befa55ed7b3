package org.meddiff.gateway.campaign;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

import org.meddiff.gateway.it.support.Dcmtk;
import org.meddiff.gateway.it.support.Processes;

/**
 * A modality as hospitals have them: it sends a series with storescu and, when the association breaks or the gateway is
 * not there, sends again what was not acknowledged (after {@code retryBackoff}), until every instance is. An instance
 * counts as acknowledged only when storescu -v printed a Success response for the file it had just sent.
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

    /** Sends {@code series} until every instance is acknowledged or the deadline passes. */
    Delivery send(SourceSeries series, Deadline deadline) {
        Delivery d = new Delivery(series);
        d.firstSentAtMillis = System.currentTimeMillis();
        while (!deadline.expired()) {
            List<Path> unacknowledged = series.files().stream()
                    .filter(f -> !d.acknowledged.contains(series.sopByFile().get(f))).toList();
            int attempt = d.attempts.incrementAndGet();
            activity = "sending " + series.label() + " (attempt " + attempt + ", " + unacknowledged.size() + " instance(s))";
            Processes.Result r = Dcmtk.storeFast(callingAe, calledAe, "127.0.0.1", port.getAsInt(), unacknowledged);
            d.acknowledged.addAll(acknowledgedSops(r, series));
            if (d.acknowledged.size() == series.size()) {
                d.allAcknowledgedAtMillis = System.currentTimeMillis();
                break;
            }
            d.failedAttempts.incrementAndGet();
            activity = "waiting to resend " + series.label();
            deadline.sleepAtMost(retryBackoff);
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
        Set<String> sops = new java.util.HashSet<>();
        String sending = null;
        for (String line : storescu.output().lines().toList()) {
            int at = line.indexOf("Sending file: ");
            if (at >= 0) {
                sending = line.substring(at + "Sending file: ".length()).trim();
            } else if (line.contains("Received Store Response (Success)") && sending != null) {
                String sop = series.sopByFile().get(Path.of(sending));
                if (sop == null) {
                    throw new IllegalStateException("storescu acknowledged a file the series does not have: " + sending);
                }
                sops.add(sop);
                sending = null; // one response per file sent
            }
        }
        return sops;
    }
}
