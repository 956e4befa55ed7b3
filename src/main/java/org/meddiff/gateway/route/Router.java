package org.meddiff.gateway.route;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.common.annotation.Blocking;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;
import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.events.DurableRetry;
import org.meddiff.gateway.events.EventReader;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.ProcessedEvents;
import org.meddiff.gateway.events.SeriesReady;
import org.meddiff.gateway.events.TaskNames;
import org.meddiff.gateway.events.Topics;

/**
 * Turns each dicom.series.ready into one inference.job.requested per matching rule. The record is committed only once
 * every request is in the outbox (retried until it is); a readiness already routed (the same eventId) is skipped.
 */
@ApplicationScoped
public class Router {
    private static final Logger LOG = Logger.getLogger(Router.class);

    static final String STAGE = "route";

    private final RoutingRules rules;
    private final Outbox outbox;
    private final DurableRetry retry;
    private final ProcessedEvents processed;
    private final EventReader reader;

    @Inject
    public Router(
            GatewayConfig config, Outbox outbox, DurableRetry retry, ProcessedEvents processed, EventReader reader) {
        this(fromConfig(config.route().rules()), outbox, retry, processed, reader);
    }

    Router(RoutingRules rules, Outbox outbox, DurableRetry retry, ProcessedEvents processed, EventReader reader) {
        this.rules = rules;
        this.outbox = outbox;
        this.retry = retry;
        this.processed = processed;
        this.reader = reader;
        LOG.infof(
                "routing rules: %s",
                rules.rules().stream().map(r -> r.name() + " -> " + r.task()).toList());
    }

    static RoutingRules fromConfig(List<GatewayConfig.Route.Rule> configured) {
        return new RoutingRules(configured.stream()
                .filter(GatewayConfig.Route.Rule::enabled)
                .map(r -> {
                    if (!TaskNames.KNOWN.contains(r.task())) {
                        throw new IllegalArgumentException("gateway.route.rules '" + r.name() + "': unknown task '"
                                + r.task() + "' (known: " + TaskNames.KNOWN + ")");
                    }
                    return new RoutingRules.Rule(
                            r.name(),
                            r.task(),
                            new RoutingRules.Criteria(
                                    r.modality(),
                                    r.minSliceThicknessMm(),
                                    r.maxSliceThicknessMm(),
                                    r.seriesDescriptionRegex().map(RoutingRules::descriptionPattern),
                                    r.bodyParts(),
                                    r.imageTypeContains(),
                                    r.callingAes(),
                                    r.calledAes()));
                })
                .toList());
    }

    @Incoming("route-series")
    @Blocking
    public void onSeriesReady(String json) {
        reader.read(
                        Topics.SERIES_READY,
                        json,
                        SeriesReady.class,
                        r -> r.series() == null || r.seriesInstanceUid() == null
                                ? "event " + r.eventId() + " names no series"
                                : null)
                .ifPresent(this::onSeriesReady);
    }

    private void onSeriesReady(SeriesReady ready) {
        if (ready.series().derivedByGateway()) {
            LOG.infof("series %s is the gateway's own output: not routed", ready.seriesInstanceUid());
            return;
        }
        if (!processed.once(STAGE, ready.eventId(), retry, () -> route(ready))) {
            LOG.infof("series %s: readiness %s already routed: skipped", ready.seriesInstanceUid(), ready.eventId());
        }
    }

    private void route(SeriesReady ready) {
        List<RoutingRules.Decision> decisions = rules.decide(ready.series());
        if (decisions.isEmpty()) {
            LOG.infof(
                    "series %s (%s, %s mm, '%s'): no rule matched",
                    ready.seriesInstanceUid(),
                    ready.series().modality(),
                    ready.series().sliceThicknessMm(),
                    ready.series().seriesDescription());
        }
        for (RoutingRules.Decision d : decisions) {
            String jobId = jobId(ready.seriesInstanceUid(), ready.generation(), ready.instanceCount(), d.task());
            JobRequested request = JobRequested.of(jobId, d.task(), d.rule(), ready, Map.of());
            retry.run(
                    STAGE,
                    "request job " + jobId + " (" + d.task() + ") for series " + ready.seriesInstanceUid(),
                    () -> outbox.append(request));
            LOG.infof("series %s -> job %s (%s, rule %s)", ready.seriesInstanceUid(), jobId, d.task(), d.rule());
        }
    }

    /** Deterministic: a redelivered series.ready requests the very same job. */
    static String jobId(String seriesUid, int generation, int instanceCount, String task) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest((seriesUid + "|" + generation + "|" + instanceCount + "|" + task)
                            .getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(digest, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
