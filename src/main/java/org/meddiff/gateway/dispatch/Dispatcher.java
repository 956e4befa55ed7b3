package org.meddiff.gateway.dispatch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.reactive.messaging.annotations.Blocking;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;
import org.meddiff.gateway.Failures;
import org.meddiff.gateway.GatewayClock;
import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.dicom.net.AssociationFailure;
import org.meddiff.gateway.dicom.net.StoreScu;
import org.meddiff.gateway.events.DurableRetry;
import org.meddiff.gateway.events.EventReader;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.GatewayEvent;
import org.meddiff.gateway.events.JobCompleted;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.StoreCompleted;
import org.meddiff.gateway.events.StoreDeadLettered;
import org.meddiff.gateway.events.Topics;
import org.meddiff.gateway.spool.Spool;
import org.meddiff.gateway.spool.Uids;

/**
 * Sends each derived series to every configured destination by C-STORE, the destinations in parallel, each through its
 * own queue ({@link DestinationLanes}: at most N associations open to it, default 1). Instances the destination did not
 * store are retried with exponential backoff. A destination that is down (connection refused) or busy (no answer in
 * time) is waited for up to {@code gateway.dispatch.give-up-after}; one that answers and does not store gets
 * {@code max-attempts}; refused SOP classes are not retried. Then the delivery goes to pacs.store.dlq.
 *
 * <p>Idempotent ({@link DeliveryLog}): a repeated completion event, or a completion of a series the destination already
 * has, is not sent again (its outcome is announced again instead), unless it is an operator's redelivery. The record's
 * offset is committed only after the outcome is recorded and in the outbox.
 */
@ApplicationScoped
public class Dispatcher {
    private static final Logger LOG = Logger.getLogger(Dispatcher.class);
    private static final String STAGE = "dispatch";

    private final Spool spool;
    private final Outbox outbox;
    private final MeterRegistry metrics;
    private final DeliveryLog deliveries;
    private final DurableRetry retry;
    private final List<StoreScu.Destination> destinations;
    private final DestinationSender sender;
    private final DeliveryPolicy policy;
    private final GatewayClock clock;
    private final DestinationLanes lanes = new DestinationLanes();
    private final EventReader reader;
    /**
     * Deliveries running now, by derived series and destination (the key of the delivery record): a second completion
     * of the same series waits for the first, then finds its record.
     */
    private final ConcurrentHashMap<String, CompletableFuture<Void>> running = new ConcurrentHashMap<>();

    @Inject
    public Dispatcher(
            GatewayConfig config,
            Spool spool,
            Outbox outbox,
            MeterRegistry metrics,
            DeliveryLog deliveries,
            DurableRetry retry,
            DestinationSender sender,
            GatewayClock clock) {
        this.spool = spool;
        this.outbox = outbox;
        this.metrics = metrics;
        this.deliveries = deliveries;
        this.retry = retry;
        this.reader = new EventReader(metrics);
        this.destinations = config.dispatch().destinations().orElse(List.of()).stream()
                .map(StoreScu.Destination::parse)
                .toList();
        this.sender = sender;
        this.policy = DeliveryPolicy.of(config.dispatch());
        this.clock = clock;
        if (!config.stages().dispatch()) {
            LOG.debug("dispatch stage off in this process");
        } else if (destinations.isEmpty()) {
            LOG.warn(
                    "no dispatch destinations configured (gateway.dispatch.destinations): derived series stay in the spool");
        } else {
            LOG.infof(
                    "dispatch destinations: %s",
                    destinations.stream()
                            .map(d -> d + " (" + d.maxAssociations() + " association"
                                    + (d.maxAssociations() == 1 ? "" : "s") + ")")
                            .toList());
            for (StoreScu.Destination d : destinations) {
                Gauge.builder("gateway_dispatch_waiting", lanes, l -> l.waiting(d))
                        .tag("destination", d.toString())
                        .description("deliveries waiting for an association to the destination")
                        .register(metrics);
            }
        }
    }

    /**
     * Its own worker pool ({@code smallrye.messaging.worker.dispatch.max-concurrency}): deliveries wait for a PACS that
     * is down for up to give-up-after, and must not take the threads route, infer and the REST API run on.
     */
    @Incoming("dispatch-completed")
    @Blocking(value = "dispatch", ordered = false)
    public void onJobCompleted(String json) {
        reader.read(
                        Topics.JOB_COMPLETED,
                        json,
                        JobCompleted.class,
                        job -> Uids.isValid(job.derivedSeriesInstanceUid())
                                ? null
                                : "event " + job.eventId() + " of job " + job.jobId() + ": its derived series UID '"
                                        + job.derivedSeriesInstanceUid() + "' is not a UID")
                .ifPresent(this::onJobCompleted);
    }

    void onJobCompleted(JobCompleted job) {
        if (destinations.isEmpty()) {
            return;
        }
        List<Path> files = derivedFiles(job);
        List<Thread> deliveries = new ArrayList<>();
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        for (StoreScu.Destination destination : destinations) {
            deliveries.add(Thread.ofVirtual()
                    .name("dispatch-" + job.jobId() + "-" + destination)
                    .start(() -> {
                        try {
                            dispatch(job, files, destination);
                        } catch (Throwable t) {
                            failures.add(t);
                        }
                    }));
        }
        boolean interrupted = false;
        for (Thread t : deliveries) {
            while (true) {
                try {
                    t.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                    deliveries.forEach(Thread::interrupt); // shutdown: the record stays uncommitted
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
            throw new DurableRetry.Interrupted("dispatch job " + job.jobId());
        }
        if (!failures.isEmpty()) {
            // a delivery ended without an outcome: the record must not be committed as if it had one
            IllegalStateException e =
                    new IllegalStateException("dispatch of job " + job.jobId() + " ended without an outcome");
            failures.forEach(e::addSuppressed);
            throw e;
        }
    }

    /** The derived files, or null when the series is not in the spool (removed by the retention, or never written). */
    private List<Path> derivedFiles(JobCompleted job) {
        return retry.call(STAGE, "read the derived series of job " + job.jobId(), () -> {
            Path dir;
            try {
                dir = spool.resolve(job.derivedRef());
            } catch (IllegalArgumentException e) {
                return null;
            }
            try (Stream<Path> list = Files.list(dir)) {
                List<Path> files = list.filter(p -> p.getFileName().toString().endsWith(".dcm"))
                        .sorted()
                        .toList();
                return files.isEmpty() ? null : files;
            } catch (NoSuchFileException e) {
                return null;
            }
        });
    }

    /** One destination's part of a completion: skipped if already handled, else delivered, then recorded and announced. */
    void dispatch(JobCompleted job, List<Path> files, StoreScu.Destination destination) {
        String runningKey = job.derivedSeriesInstanceUid() + " " + destination;
        while (true) {
            CompletableFuture<Void> mine = new CompletableFuture<>();
            CompletableFuture<Void> other = running.putIfAbsent(runningKey, mine);
            if (other == null) {
                try {
                    dispatchOnce(job, files, destination);
                } catch (DurableRetry.Interrupted e) {
                    throw e;
                } catch (RuntimeException e) {
                    // a bug must not stop dispatch nor vanish: the delivery is dead-lettered with the reason
                    LOG.errorf(e, "job %s: delivery to %s failed unexpectedly", job.jobId(), destination);
                    announce(
                            job, destination.toString(), deadLetter(job, destination, 0, "internal error: " + e), null);
                } finally {
                    running.remove(runningKey);
                    mine.complete(null);
                }
                return;
            }
            try {
                other.join(); // then look at what it recorded
            } catch (CompletionException e) {
                // it ended without an outcome: this copy delivers
            }
            if (Thread.currentThread().isInterrupted()) {
                throw new DurableRetry.Interrupted("dispatch job " + job.jobId() + " to " + destination);
            }
        }
    }

    private void dispatchOnce(JobCompleted job, List<Path> files, StoreScu.Destination destination) {
        String key = destination.toString();
        String series = job.derivedSeriesInstanceUid();
        DeliveryLog.Delivery previous = deliveries.get(series, key).orElse(null);
        if (previous != null
                && (previous.eventIds().contains(job.eventId())
                        || (!job.redelivery()
                                && previous.delivered()
                                && previous.instances() == job.instanceCount()))) {
            LOG.infof(
                    "job %s: %s already %s the derived series %s (%s, completion event %s): not sent again",
                    job.jobId(),
                    key,
                    previous.delivered() ? "has" : "dead-lettered",
                    series,
                    previous.jobId().equals(job.jobId()) ? "this job" : "delivered for job " + previous.jobId(),
                    job.eventId());
            metrics.counter("gateway_dispatch_duplicates_skipped_total", "destination", key)
                    .increment();
            if (previous.jobId().equals(job.jobId())) {
                // announced again (same event id, consumers deduplicate): it may not have reached the outbox before a
                // crash
                record(job, key, previous.handled(job.eventId()));
                retry.run(
                        STAGE,
                        "announce the delivery of job " + job.jobId(),
                        () -> outbox.append(previous.outcomeTopic(), job.key(), previous.outcomeEvent()));
            } else {
                // another job (e.g. of an earlier readiness of the same series) wrote the same instances: this job's
                // are there
                announce(job, key, StoreCompleted.of(job, key, previous.instances(), 1), previous);
            }
            return;
        }
        GatewayEvent outcome = files == null
                ? deadLetter(
                        job,
                        destination,
                        0,
                        "the derived series " + series + " is not in the spool at " + job.derivedRef()
                                + " (removed by the spool retention, or never written)")
                : deliver(job, files, destination);
        announce(job, key, outcome, previous);
    }

    /** Records the outcome for the destination, then announces it: after a crash in between, a repeat announces it. */
    private void announce(JobCompleted job, String destination, GatewayEvent outcome, DeliveryLog.Delivery previous) {
        String state =
                outcome instanceof StoreCompleted ? DeliveryLog.Delivery.DELIVERED : DeliveryLog.Delivery.DEAD_LETTERED;
        DeliveryLog.Delivery done = new DeliveryLog.Delivery(
                state,
                job.jobId(),
                job.instanceCount(),
                previous == null ? List.of() : previous.eventIds(),
                outcome.type(),
                Events.toJson(outcome));
        record(job, destination, done.handled(job.eventId()));
        retry.run(STAGE, "announce the delivery of job " + job.jobId(), () -> outbox.append(outcome));
    }

    private void record(JobCompleted job, String destination, DeliveryLog.Delivery delivery) {
        retry.run(
                STAGE,
                "record the dispatch state of job " + job.jobId(),
                () -> deliveries.record(job.derivedSeriesInstanceUid(), destination, delivery));
    }

    /** The attempts of one delivery; returns its outcome event (pacs.store.completed or pacs.store.dlq). */
    GatewayEvent deliver(JobCompleted job, List<Path> files, StoreScu.Destination destination) {
        List<Path> remaining = new ArrayList<>(files);
        List<StoreScu.FileResult> refused = new ArrayList<>();
        Duration backoff = policy.initialBackoff();
        Long unavailableSince =
                null; // since when it has been down or busy (the time waiting in our own queue does not count)
        int countedAttempts = 0; // attempts the destination answered without storing: max-attempts of them
        int attempts = 0;
        String lastError = null;
        String loggedError = null;
        while (true) {
            attempts++;
            AssociationFailure.Kind waitFor = null;
            try (DestinationLanes.Slot slot = lanes.acquire(destination)) {
                List<StoreScu.FileResult> results = sender.send(destination, remaining);
                List<Path> failed = new ArrayList<>();
                boolean countedFailure = false;
                for (StoreScu.FileResult r : results) {
                    if (r.sopClassRefused()) {
                        refused.add(r);
                    } else if (!r.stored()) {
                        failed.add(r.file());
                        lastError = r.error();
                        if (r.lost() == null || r.lost() == AssociationFailure.Kind.REJECTED) {
                            countedFailure = true;
                        } else {
                            waitFor = r.lost();
                        }
                    }
                }
                if (failed.isEmpty() && !refused.isEmpty()) {
                    String reason = refusalMessage(destination, refused) + "; the other "
                            + (files.size() - refused.size()) + " of " + files.size() + " were stored";
                    LOG.errorf("job %s: %s; dead-lettered without retrying", job.jobId(), reason);
                    return deadLetter(job, destination, attempts, reason);
                }
                if (failed.isEmpty()) {
                    metrics.counter("gateway_dispatch_instances_total", "destination", destination.toString())
                            .increment(files.size());
                    LOG.infof(
                            "job %s: %d instance(s) of series %s stored at %s (attempt %d)",
                            job.jobId(), files.size(), job.derivedSeriesInstanceUid(), destination, attempts);
                    return StoreCompleted.of(job, destination.toString(), files.size(), attempts);
                }
                remaining = failed;
                if (countedFailure) {
                    countedAttempts++;
                    waitFor = null;
                }
                lastError = failed.size() + " of " + files.size() + " instance(s) not stored: " + lastError;
            } catch (AssociationFailure e) {
                lastError = e.getMessage();
                if (e.kind() == AssociationFailure.Kind.REJECTED) {
                    countedAttempts++;
                } else {
                    waitFor = e.kind();
                }
            } catch (IOException | RuntimeException e) {
                // our side (a derived file that cannot be read), or a bug: counted, so a lasting one ends in the dead
                // letter
                lastError = (e instanceof IOException ? "" : "internal error: ") + Failures.reason(e);
                countedAttempts++;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DurableRetry.Interrupted("deliver job " + job.jobId() + " to " + destination);
            }
            metrics.counter(
                            "gateway_dispatch_failed_attempts_total",
                            "destination",
                            destination.toString(),
                            "kind",
                            waitFor == null ? "failed" : waitFor.name().toLowerCase(Locale.ROOT))
                    .increment();
            if (waitFor == null && countedAttempts >= policy.maxAttempts()) {
                LOG.errorf(
                        "job %s: giving up on %s after %d failed attempts; dead-lettered: %s",
                        job.jobId(), destination, countedAttempts, lastError);
                return deadLetter(job, destination, attempts, withRefusals(lastError, destination, refused));
            }
            if (waitFor == null) {
                unavailableSince = null;
            } else if (unavailableSince == null) {
                unavailableSince = clock.nanoTime();
            }
            if (waitFor != null
                    && clock.nanoTime() - unavailableSince
                            >= policy.giveUpAfter().toNanos()) {
                String reason = lastError + " (" + (waitFor == AssociationFailure.Kind.DOWN ? "down" : "busy") + " for "
                        + policy.giveUpAfter() + ", gateway.dispatch.give-up-after)";
                LOG.errorf(
                        "job %s: giving up on %s after %d attempts; dead-lettered: %s",
                        job.jobId(), destination, attempts, reason);
                return deadLetter(job, destination, attempts, withRefusals(reason, destination, refused));
            }
            if (!lastError.equals(loggedError)) {
                // once per change of reason, not once per attempt: a PACS down for an hour is one line, not sixty
                LOG.warnf(
                        "job %s: %s (attempt %d%s); retrying with backoff",
                        job.jobId(),
                        lastError,
                        attempts,
                        waitFor == null
                                ? ", " + countedAttempts + "/" + policy.maxAttempts() + " failed"
                                : ", waiting for it");
                loggedError = lastError;
            }
            try {
                clock.sleep(backoff);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DurableRetry.Interrupted("deliver job " + job.jobId() + " to " + destination);
            }
            backoff = policy.nextBackoff(backoff);
        }
    }

    private StoreDeadLettered deadLetter(
            JobCompleted job, StoreScu.Destination destination, int attempts, String reason) {
        metrics.counter("gateway_dispatch_dead_lettered_total", "destination", destination.toString())
                .increment();
        if (attempts == 0) {
            LOG.errorf("job %s: %s; dead-lettered", job.jobId(), reason);
        }
        return StoreDeadLettered.of(job, destination.toString(), attempts, reason);
    }

    private static String withRefusals(
            String reason, StoreScu.Destination destination, List<StoreScu.FileResult> refused) {
        return refused.isEmpty() ? reason : reason + "; and " + refusalMessage(destination, refused);
    }

    /** "PACS@h:104 refused SOP class 1.2.840.10008.5.1.4.1.1.7 in 1.2.840.10008.1.2.1 for 24 instance(s)". */
    private static String refusalMessage(StoreScu.Destination destination, List<StoreScu.FileResult> refused) {
        Set<String> classes = new TreeSet<>();
        for (StoreScu.FileResult r : refused) {
            classes.add(r.error().replaceFirst("^peer refused (SOP class \\S+ in \\S+).*$", "$1"));
        }
        return destination + " refused " + String.join(", ", classes) + " for " + refused.size() + " instance(s)";
    }
}
