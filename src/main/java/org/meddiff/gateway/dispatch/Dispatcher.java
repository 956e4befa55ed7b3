package org.meddiff.gateway.dispatch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.reactive.messaging.annotations.Blocking;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;
import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.dicom.net.StoreScu;
import org.meddiff.gateway.dicom.net.TlsClientSettings;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.JobCompleted;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.StoreCompleted;
import org.meddiff.gateway.events.StoreDeadLettered;
import org.meddiff.gateway.spool.Spool;

/**
 * Sends each derived series to every configured destination by C-STORE. Failed attempts are retried
 * with exponential backoff (only the instances not yet stored); after the last attempt the delivery
 * goes to pacs.store.dlq. Derived UIDs are deterministic, so a repeated delivery overwrites rather
 * than duplicates.
 */
@ApplicationScoped
public class Dispatcher {
    private static final Logger LOG = Logger.getLogger(Dispatcher.class);

    private final GatewayConfig config;
    private final Spool spool;
    private final Outbox outbox;
    private final MeterRegistry metrics;
    private final List<StoreScu.Destination> destinations;
    private final StoreScu scu;

    @Inject
    public Dispatcher(GatewayConfig config, Spool spool, Outbox outbox, MeterRegistry metrics) {
        this.config = config;
        this.spool = spool;
        this.outbox = outbox;
        this.metrics = metrics;
        this.destinations = config.dispatch().destinations().orElse(List.of()).stream().map(StoreScu.Destination::parse).toList();
        GatewayConfig.DispatchTls tls = config.dispatch().tls();
        TlsClientSettings tlsSettings = !config.stages().dispatch() || destinations.stream().noneMatch(StoreScu.Destination::tls) ? null
                : TlsClientSettings.load(tls.keyStore(), tls.keyStorePassword(), tls.trustStore(), tls.trustStorePassword(),
                        tls.protocols(), tls.verifyHostname());
        this.scu = new StoreScu(config.dicom().aeTitle(), (int) config.dispatch().connectTimeout().toMillis(),
                (int) config.dispatch().responseTimeout().toMillis(), tlsSettings);
        if (!config.stages().dispatch()) {
            LOG.debug("dispatch stage off in this process");
        } else if (destinations.isEmpty()) {
            LOG.warn("no dispatch destinations configured (gateway.dispatch.destinations): derived series stay in the spool");
        } else {
            LOG.infof("dispatch destinations: %s", destinations);
        }
    }

    @Incoming("dispatch-completed")
    @Blocking(ordered = false)
    public void onJobCompleted(String json) {
        JobCompleted job;
        try {
            job = Events.fromJson(json, JobCompleted.class);
        } catch (IllegalArgumentException e) {
            LOG.errorf("skipping unreadable inference.job.completed record: %s", e.getMessage());
            return;
        }
        List<Path> files;
        try {
            files = derivedFiles(spool.resolve(job.derivedRef()));
        } catch (IOException | IllegalArgumentException e) {
            LOG.errorf("job %s: derived series at %s unreadable: %s", job.jobId(), job.derivedRef(), e.getMessage());
            return;
        }
        for (StoreScu.Destination destination : destinations) {
            deliver(job, files, destination);
        }
    }

    /**
     * Sends the files, retrying those not stored with backoff. Files whose SOP class the destination refuses at
     * negotiation are not retried (it will refuse them again): the delivery dead-letters at once when only they are
     * left, naming the SOP class and how many instances were stored.
     */
    void deliver(JobCompleted job, List<Path> files, StoreScu.Destination destination) {
        List<Path> remaining = new ArrayList<>(files);
        List<StoreScu.FileResult> refused = new ArrayList<>();
        long backoff = config.dispatch().initialBackoff().toMillis();
        String lastError = null;
        int maxAttempts = config.dispatch().maxAttempts();
        for (int attempt = 1; attempt <= maxAttempts; attempt++) {
            try {
                List<StoreScu.FileResult> results = scu.send(destination, remaining);
                List<Path> failed = new ArrayList<>();
                for (StoreScu.FileResult r : results) {
                    if (r.sopClassRefused()) {
                        refused.add(r);
                    } else if (!r.stored()) {
                        failed.add(r.file());
                        lastError = r.error();
                    }
                }
                if (failed.isEmpty() && !refused.isEmpty()) {
                    lastError = refusalMessage(destination, refused) + "; the other " + (files.size() - refused.size())
                            + " of " + files.size() + " were stored";
                    LOG.errorf("job %s: %s; dead-lettered without retrying", job.jobId(), lastError);
                    deadLetter(job, destination, attempt, lastError);
                    return;
                }
                if (failed.isEmpty()) {
                    outbox.append(StoreCompleted.of(job, destination.toString(), files.size(), attempt));
                    metrics.counter("gateway_dispatch_instances_total", "destination", destination.toString())
                            .increment(files.size());
                    LOG.infof("job %s: %d instance(s) of series %s stored at %s (attempt %d)", job.jobId(), files.size(),
                            job.derivedSeriesInstanceUid(), destination, attempt);
                    return;
                }
                remaining = failed;
                LOG.warnf("job %s: %d instance(s) refused by %s (attempt %d/%d): %s", job.jobId(), failed.size(),
                        destination, attempt, maxAttempts, lastError);
            } catch (IOException e) {
                lastError = e.getMessage();
                LOG.warnf("job %s: %s unreachable (attempt %d/%d): %s", job.jobId(), destination, attempt, maxAttempts,
                        e.getMessage());
            }
            if (attempt < maxAttempts) {
                sleep(backoff);
                backoff = Math.min(backoff * 2, config.dispatch().maxBackoff().toMillis());
            }
        }
        if (!refused.isEmpty()) {
            lastError = lastError + "; and " + refusalMessage(destination, refused);
        }
        LOG.errorf("job %s: giving up on %s after %d attempts; dead-lettered: %s", job.jobId(), destination, maxAttempts,
                lastError);
        deadLetter(job, destination, maxAttempts, lastError);
    }

    private void deadLetter(JobCompleted job, StoreScu.Destination destination, int attempts, String reason) {
        metrics.counter("gateway_dispatch_dead_lettered_total", "destination", destination.toString()).increment();
        try {
            outbox.append(StoreDeadLettered.of(job, destination.toString(), attempts, reason));
        } catch (IOException e) {
            LOG.errorf("cannot record the dead letter for job %s: %s", job.jobId(), e.getMessage());
        }
    }

    /** "PACS@h:104 refused SOP class 1.2.840.10008.5.1.4.1.1.7 in 1.2.840.10008.1.2.1 for 24 instance(s)". */
    private static String refusalMessage(StoreScu.Destination destination, List<StoreScu.FileResult> refused) {
        java.util.Set<String> classes = new java.util.TreeSet<>();
        for (StoreScu.FileResult r : refused) {
            classes.add(r.error().replaceFirst("^peer refused (SOP class \\S+ in \\S+).*$", "$1"));
        }
        return destination + " refused " + String.join(", ", classes) + " for " + refused.size() + " instance(s)";
    }

    private static List<Path> derivedFiles(Path dir) throws IOException {
        try (Stream<Path> list = Files.list(dir)) {
            return list.filter(p -> p.getFileName().toString().endsWith(".dcm")).sorted().toList();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
