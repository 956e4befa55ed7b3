package org.meddiff.gateway.dicom.net;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * How the DICOM-over-TLS listener makes its server socket: the gateway's key and certificate, the peers it trusts
 * (for client authentication), the client-auth mode and the protocol versions.
 */
public record TlsServerSettings(SSLContext context, ClientAuth clientAuth, List<String> protocols) {

    public enum ClientAuth {
        NONE,
        WANT,
        NEED
    }

    /**
     * Loads the PKCS #12 stores. Every problem (missing file, wrong password, no key in the key store, a client-auth
     * mode without a trust store) comes back as an IllegalArgumentException naming the file or the key.
     */
    public static TlsServerSettings load(
            Path keyStore,
            Optional<String> keyStorePassword,
            Optional<Path> trustStore,
            Optional<String> trustStorePassword,
            String clientAuth,
            List<String> protocols) {
        ClientAuth auth = ClientAuth.valueOf(clientAuth.toUpperCase(Locale.ROOT));
        if (auth != ClientAuth.NONE && trustStore.isEmpty()) {
            throw new IllegalArgumentException("gateway.dicom.tls.client-auth=" + clientAuth
                    + " needs gateway.dicom.tls.trust-store (the certificates of the peers to trust)");
        }
        try {
            char[] keyPassword = keyStorePassword.orElse("").toCharArray();
            KeyStore keys = read(keyStore, keyPassword);
            if (!hasKey(keys)) {
                throw new IllegalArgumentException(keyStore + ": the key store holds no private key");
            }
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, keyPassword);
            TrustManagerFactory tmf = null;
            if (trustStore.isPresent()) {
                tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(read(trustStore.get(), trustStorePassword.orElse("").toCharArray()));
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
            return new TlsServerSettings(context, auth, List.copyOf(protocols));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot set up DICOM TLS from " + keyStore + ": " + e.getMessage(), e);
        }
    }

    static KeyStore read(Path file, char[] password) {
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException(file + ": no readable PKCS #12 file there");
        }
        try (InputStream in = Files.newInputStream(file)) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, password);
            return store;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException(
                    file + ": cannot read it as PKCS #12 ("
                            + (password.length == 0
                                    ? "no password is configured for it: set its -password key"
                                    : "wrong password?")
                            + "): " + e.getMessage(),
                    e);
        }
    }

    static boolean hasKey(KeyStore store) throws GeneralSecurityException {
        for (String alias : Collections.list(store.aliases())) {
            if (store.isKeyEntry(alias)) {
                return true;
            }
        }
        return false;
    }

    /** An unbound server socket with the protocols and client-auth mode applied. */
    ServerSocket newServerSocket() throws IOException {
        SSLServerSocket socket =
                (SSLServerSocket) context.getServerSocketFactory().createServerSocket();
        socket.setEnabledProtocols(protocols.toArray(String[]::new));
        switch (clientAuth) {
            case NEED -> socket.setNeedClientAuth(true);
            case WANT -> socket.setWantClientAuth(true);
            case NONE -> socket.setNeedClientAuth(false);
        }
        return socket;
    }
}
