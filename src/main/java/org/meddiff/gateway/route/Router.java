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
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.SeriesReady;

/** Turns each dicom.series.ready into one inference.job.requested per matching rule. */
@ApplicationScoped
public class Router {
    private static final Logger LOG = Logger.getLogger(Router.class);

    private final RoutingRules rules;
    private final Outbox outbox;

    @Inject
    public Router(GatewayConfig config, Outbox outbox) {
        this.rules = fromConfig(config.route().rules());
        this.outbox = outbox;
        LOG.infof("routing rules: %s", rules.rules().stream().map(r -> r.name() + " -> " + r.task()).toList());
    }

    static RoutingRules fromConfig(List<GatewayConfig.Route.Rule> configured) {
        return new RoutingRules(configured.stream().filter(GatewayConfig.Route.Rule::enabled).map(r -> {
            if (!TaskNames.KNOWN.contains(r.task())) {
                throw new IllegalArgumentException("gateway.route.rules '" + r.name() + "': unknown task '" + r.task()
                        + "' (known: " + TaskNames.KNOWN + ")");
            }
            return new RoutingRules.Rule(r.name(), r.task(), r.modality(), r.minSliceThicknessMm(), r.maxSliceThicknessMm(),
                    r.seriesDescriptionRegex().map(RoutingRules::descriptionPattern), r.bodyParts(), r.imageTypeContains(),
                    r.callingAes(), r.calledAes());
        }).toList());
    }

    @Incoming("route-series")
    @Blocking
    public void onSeriesReady(String json) {
        SeriesReady ready;
        try {
            ready = Events.fromJson(json, SeriesReady.class);
        } catch (IllegalArgumentException e) {
            LOG.errorf("skipping unreadable dicom.series.ready record: %s", e.getMessage());
            return;
        }
        if (ready.series().derivedByGateway()) {
            LOG.infof("series %s is the gateway's own output: not routed", ready.seriesInstanceUid());
            return;
        }
        List<RoutingRules.Decision> decisions = rules.decide(ready.series());
        if (decisions.isEmpty()) {
            LOG.infof("series %s (%s, %s mm, '%s'): no rule matched", ready.seriesInstanceUid(), ready.series().modality(),
                    ready.series().sliceThicknessMm(), ready.series().seriesDescription());
        }
        for (RoutingRules.Decision d : decisions) {
            String jobId = jobId(ready.seriesInstanceUid(), ready.generation(), ready.instanceCount(), d.task());
            try {
                outbox.append(JobRequested.of(jobId, d.task(), d.rule(), ready, Map.of()));
                LOG.infof("series %s -> job %s (%s, rule %s)", ready.seriesInstanceUid(), jobId, d.task(), d.rule());
            } catch (java.io.IOException e) {
                LOG.errorf("cannot request job %s for series %s: %s", d.task(), ready.seriesInstanceUid(), e.getMessage());
            }
        }
    }

    /** Deterministic: a redelivered series.ready requests the very same job. */
    static String jobId(String seriesUid, int generation, int instanceCount, String task) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(
                    (seriesUid + "|" + generation + "|" + instanceCount + "|" + task).getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(digest, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
