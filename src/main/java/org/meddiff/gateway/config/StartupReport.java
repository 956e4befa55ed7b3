package org.meddiff.gateway.config;

import java.util.ArrayList;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.quarkus.runtime.StartupEvent;
import org.jboss.logging.Logger;
import org.meddiff.gateway.spool.Spool;

/** One log line at start-up saying which stages this process runs and where its outbox is. */
@ApplicationScoped
public class StartupReport {
    private static final Logger LOG = Logger.getLogger(StartupReport.class);

    @Inject
    GatewayConfig config;

    @Inject
    Spool spool;

    void report(@Observes StartupEvent event) {
        LOG.infof(
                "stages in this process: %s, track; outbox %s",
                String.join(", ", running(config.stages())), spool.outbox());
    }

    static List<String> running(GatewayConfig.Stages s) {
        List<String> on = new ArrayList<>();
        if (s.ingest()) on.add("ingest");
        if (s.assemble()) on.add("assemble");
        if (s.route()) on.add("route");
        if (s.infer()) on.add("infer");
        if (s.dispatch()) on.add("dispatch");
        return on;
    }
}
