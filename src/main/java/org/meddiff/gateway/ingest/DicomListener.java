package org.meddiff.gateway.ingest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.Semaphore;

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
import org.meddiff.gateway.dicom.net.TlsServerSettings;
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
    private StoreScpServer tlsServer;

    void start(@Observes StartupEvent event) {
        GatewayConfig.Dicom dicom = config.dicom();
        if (!config.stages().ingest()) {
            LOG.info(
                    "DICOM listener not started: the ingest stage is off in this process (gateway.stages.ingest=false)");
            return;
        }
        try {
            spool.sweepIncoming();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot sweep the spool's incoming files: " + e.getMessage(), e);
        }
        var calledAes = IngestPolicy.calledAes(dicom.aeTitle(), dicom.additionalAeTitles());
        IngestPolicy policy = new IngestPolicy(calledAes, dicom.allowedCallingAes());
        GatewayConfig.Tls tls = dicom.tls();
        // read the key material before any port opens: a bad TLS setting stops start-up with the file or key named
        TlsServerSettings tlsSettings = !tls.enabled()
                ? null
                : TlsServerSettings.load(
                        tls.keyStore()
                                .orElseThrow(() -> new IllegalArgumentException(
                                        "gateway.dicom.tls.key-store is required when gateway.dicom.tls.enabled=true")),
                        tls.keyStorePassword(),
                        tls.trustStore(),
                        tls.trustStorePassword(),
                        tls.clientAuth(),
                        tls.protocols());
        if (!dicom.plainListener() && tlsSettings == null) {
            throw new IllegalArgumentException(
                    "gateway.dicom.plain-listener=false needs gateway.dicom.tls.enabled=true: "
                            + "the gateway would have no DICOM listener");
        }
        if (dicom.plainListener() && tlsSettings != null && tls.port() == dicom.port()) {
            throw new IllegalArgumentException(
                    "gateway.dicom.tls.port and gateway.dicom.port are both " + dicom.port());
        }
        // one limit for both listeners: max-associations is what the host can serve
        Semaphore slots = new Semaphore(dicom.maxAssociations());
        String limits = String.format(
                "AE titles %s, calling AEs %s, at most %d associations, spool %s",
                calledAes,
                dicom.allowedCallingAes().map(Object::toString).orElse("any"),
                dicom.maxAssociations(),
                spool.root());
        if (dicom.plainListener()) {
            server = listen(dicom, dicom.port(), null, policy, slots);
            LOG.infof("DICOM listener on %s:%d, %s", dicom.bindAddress(), server.localPort(), limits);
        }
        if (tlsSettings != null) {
            tlsServer = listen(dicom, tls.port(), tlsSettings, policy, slots);
            LOG.infof(
                    "DICOM TLS listener on %s:%d (%s; client certificates: %s), %s",
                    dicom.bindAddress(),
                    tlsServer.localPort(),
                    String.join(", ", tls.protocols()),
                    tls.clientAuth(),
                    limits);
        }
    }

    private StoreScpServer listen(
            GatewayConfig.Dicom dicom, int port, TlsServerSettings tls, IngestPolicy policy, Semaphore slots) {
        StoreScpServer s = new StoreScpServer(
                new StoreScpServer.Settings(
                        dicom.bindAddress(),
                        port,
                        dicom.maxPduLength(),
                        dicom.maxAssociations(),
                        (int) dicom.idleTimeout().toMillis(),
                        spool.incoming(),
                        tls),
                policy,
                ingest,
                slots);
        try {
            s.start();
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot start the DICOM " + (tls == null ? "" : "TLS ") + "listener on port " + port + ": "
                            + e.getMessage(),
                    e);
        }
        return s;
    }

    void stop(@Observes ShutdownEvent event) {
        if (server != null) {
            server.close();
        }
        if (tlsServer != null) {
            tlsServer.close();
        }
    }

    @Override
    public HealthCheckResponse call() {
        GatewayConfig.Dicom dicom = config.dicom();
        boolean up = !config.stages().ingest()
                || ((!dicom.plainListener() || server != null) && (!dicom.tls().enabled() || tlsServer != null));
        return HealthCheckResponse.named("dicom-listener").status(up).build();
    }
}
