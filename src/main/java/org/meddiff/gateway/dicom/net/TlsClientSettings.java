package org.meddiff.gateway.dicom.net;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * How dispatch speaks DICOM over TLS to a destination marked {@code /tls}: the PACS certificates it trusts (the JVM's
 * defaults without a trust store), the gateway's own certificate for PACSes that require one, the protocol
 * versions, and whether the PACS certificate must name the host dialled.
 */
public record TlsClientSettings(SSLContext context, List<String> protocols, boolean verifyHostname) {

    /** Loads the PKCS #12 stores; problems come back as IllegalArgumentException naming the file. */
    public static TlsClientSettings load(
            Optional<Path> keyStore,
            Optional<String> keyStorePassword,
            Optional<Path> trustStore,
            Optional<String> trustStorePassword,
            List<String> protocols,
            boolean verifyHostname) {
        try {
            KeyManagerFactory kmf = null;
            if (keyStore.isPresent()) {
                char[] password = keyStorePassword.orElse("").toCharArray();
                KeyStore keys = TlsServerSettings.read(keyStore.get(), password);
                if (!TlsServerSettings.hasKey(keys)) {
                    throw new IllegalArgumentException(
                            keyStore.get() + ": the key store holds no private key (the gateway's "
                                    + "certificate for a PACS that asks for one)");
                }
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, password);
            }
            TrustManagerFactory tmf = null;
            if (trustStore.isPresent()) {
                tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(TlsServerSettings.read(
                        trustStore.get(), trustStorePassword.orElse("").toCharArray()));
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf == null ? null : kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
            return new TlsClientSettings(context, List.copyOf(protocols), verifyHostname);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot set up DICOM TLS for dispatch: " + e.getMessage(), e);
        }
    }

    /**
     * Wraps a connected socket and completes the handshake, so an untrusted PACS certificate or host name fails here
     * with its reason. (Under TLS 1.3 a PACS refusing the gateway's own certificate says so at the first read.)
     */
    Socket wrap(Socket connected, String host, int port) throws IOException {
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(connected, host, port, true);
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setProtocols(protocols.toArray(String[]::new));
        if (verifyHostname) {
            parameters.setEndpointIdentificationAlgorithm(
                    "HTTPS"); // the certificate must name the host (RFC 2818 rules)
        }
        socket.setSSLParameters(parameters);
        socket.startHandshake();
        return socket;
    }
}
