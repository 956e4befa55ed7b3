package org.meddiff.gateway.dispatch;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.dicom.net.StoreScu;
import org.meddiff.gateway.dicom.net.TlsClientSettings;

/**
 * C-STORE to AET@host:port destinations (over TLS for those written /tls), with the gateway's AE title as the calling
 * one and the dispatch time-outs. The TLS material is loaded once, at start-up, and only where a destination needs it,
 * so a process that does not dispatch never asks for a key store.
 */
@Singleton // made with the Dispatcher that injects it: a bad key store stops start-up, not a delivery
public class StoreScuSender implements DestinationSender {
    private final StoreScu scu;

    @Inject
    public StoreScuSender(GatewayConfig config) {
        GatewayConfig.Dispatch dispatch = config.dispatch();
        boolean anyTls = dispatch.destinations().orElse(List.of()).stream()
                .map(StoreScu.Destination::parse)
                .anyMatch(StoreScu.Destination::tls);
        GatewayConfig.DispatchTls tls = dispatch.tls();
        TlsClientSettings tlsSettings = !config.stages().dispatch() || !anyTls
                ? null
                : TlsClientSettings.load(
                        tls.keyStore(),
                        tls.keyStorePassword(),
                        tls.trustStore(),
                        tls.trustStorePassword(),
                        tls.protocols(),
                        tls.verifyHostname());
        this.scu = new StoreScu(
                config.dicom().aeTitle(),
                (int) dispatch.connectTimeout().toMillis(),
                (int) dispatch.associationTimeout().toMillis(),
                (int) dispatch.responseTimeout().toMillis(),
                tlsSettings);
    }

    @Override
    public List<StoreScu.FileResult> send(StoreScu.Destination destination, List<Path> files) throws IOException {
        return scu.send(destination, files);
    }
}
