package org.meddiff.gateway.ingest;

import java.io.IOException;
import java.io.UncheckedIOException;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;
import org.jboss.logging.Logger;
import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.dicom.net.StoreScpServer;
import org.meddiff.gateway.spool.Spool;

/** Starts the DICOM listener with the configured AE titles and limits; ready once it accepts connections. */
@ApplicationScoped
@Readiness
public class DicomListener implements HealthCheck {
    private static final Logger LOG = Logger.getLogger(DicomListener.class);

    @Inject
    GatewayConfig config;

    @Inject
    Spool spool;

    @Inject
    DurableIngest ingest;

    private StoreScpServer server;

    void start(@Observes StartupEvent event) {
        GatewayConfig.Dicom dicom = config.dicom();
        if (!config.stages().ingest()) {
            LOG.info("DICOM listener not started: the ingest stage is off in this process (gateway.stages.ingest=false)");
            return;
        }
        try {
            spool.sweepIncoming();
            var calledAes = IngestPolicy.calledAes(dicom.aeTitle(), dicom.additionalAeTitles());
            server = new StoreScpServer(new StoreScpServer.Settings(dicom.bindAddress(), dicom.port(), dicom.maxPduLength(),
                    dicom.maxAssociations(), (int) dicom.idleTimeout().toMillis(), spool.incoming()),
                    new IngestPolicy(calledAes, dicom.allowedCallingAes()), ingest);
            server.start();
            LOG.infof("DICOM listener on %s:%d, AE titles %s, calling AEs %s, spool %s", dicom.bindAddress(),
                    server.localPort(), calledAes, dicom.allowedCallingAes().map(Object::toString).orElse("any"),
                    spool.root());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the DICOM listener on port " + dicom.port() + ": " + e.getMessage(), e);
        }
    }

    void stop(@Observes ShutdownEvent event) {
        if (server != null) {
            server.close();
        }
    }

    @Override
    public HealthCheckResponse call() {
        boolean up = !config.stages().ingest() || server != null;
        return HealthCheckResponse.named("dicom-listener").status(up).build();
    }
}
