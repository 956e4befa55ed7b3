package org.meddiff.gateway.events;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Objects;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;
import org.meddiff.gateway.Failures;
import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.track.StageProgress;

/**
 * How a stage waits for a durable write it cannot skip (its result into the outbox, its state into the spool): it
 * retries with exponential backoff for as long as it takes, in the thread that handles the Kafka record, so the
 * record's offset is not committed meanwhile and nothing is dropped. The first failure and every change of reason
 * are logged (not every retry); the stage shows as stalled in the readiness check until the write goes through.
 * Only a shutdown (interrupt) ends the wait: the record then stays uncommitted and comes again after the restart.
 */
@ApplicationScoped
public class DurableRetry {
    private static final Logger LOG = Logger.getLogger(DurableRetry.class);

    /** A write that may fail with an I/O error. */
    @FunctionalInterface
    public interface Write<T> {
        T run() throws IOException;
    }

    /** A write without a result. */
    @FunctionalInterface
    public interface Action {
        void run() throws IOException;
    }

    /** The wait was cut short by a shutdown: the caller must not treat its record as done. */
    public static final class Interrupted extends RuntimeException {
        public Interrupted(String what) {
            super("interrupted while retrying to " + what);
        }
    }

    private final StageProgress progress;
    private final long initialBackoffMillis;
    private final long maxBackoffMillis;

    @Inject
    public DurableRetry(StageProgress progress, GatewayConfig config) {
        this(progress, config.retry().initialBackoff(), config.retry().maxBackoff());
    }

    public DurableRetry(StageProgress progress, Duration initialBackoff, Duration maxBackoff) {
        this.progress = progress;
        this.initialBackoffMillis = Math.max(1, initialBackoff.toMillis());
        this.maxBackoffMillis = Math.max(initialBackoffMillis, maxBackoff.toMillis());
    }

    public void run(String stage, String what, Action action) {
        call(stage, what, () -> {
            action.run();
            return null;
        });
    }

    /** Runs {@code write} until it succeeds; {@code what} completes "cannot ..." in the log, e.g. "request job X". */
    public <T> T call(String stage, String what, Write<T> write) {
        long backoff = initialBackoffMillis;
        int failures = 0;
        String lastReason = null;
        long firstFailure = 0;
        try {
            while (true) {
                try {
                    T result = write.run();
                    if (failures > 0) {
                        LOG.infof(
                                "%s: %s done after %d failed attempt(s) over %d ms",
                                stage, what, failures, (System.nanoTime() - firstFailure) / 1_000_000);
                    }
                    return result;
                } catch (IOException | UncheckedIOException e) {
                    String reason = Failures.reason(e);
                    if (failures == 0) {
                        firstFailure = System.nanoTime();
                    }
                    failures++;
                    if (!Objects.equals(reason, lastReason)) {
                        LOG.errorf(
                                "%s: cannot %s (%s); retrying with backoff, the record stays uncommitted",
                                stage, what, reason);
                        lastReason = reason;
                    }
                    progress.stalled(stage, what, reason);
                }
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new Interrupted(what);
                }
                backoff = Math.min(backoff * 2, maxBackoffMillis);
            }
        } finally {
            if (failures > 0) {
                progress.progressing(stage, what); // done, or given up by a shutdown: no longer waiting either way
            }
        }
    }
}
