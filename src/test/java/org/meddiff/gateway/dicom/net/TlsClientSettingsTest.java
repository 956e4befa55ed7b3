package org.meddiff.gateway.dicom.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dispatch's side of DICOM over TLS against a real JSSE server in this JVM: a trusted certificate naming the host
 * passes, an untrusted one and one naming another host (with verification on) are refused with the reason, and a
 * key store without a key is refused when loaded. Stores are made with the JDK's keytool.
 */
class TlsClientSettingsTest {
    static final String PASSWORD = "changeit";
    static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    @TempDir
    static Path dir;

    static void keytool(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", cmd) + ": " + out);
    }

    /** A PKCS #12 key store with a self-signed certificate for {@code san}, and a trust store holding only that certificate. */
    static void identity(String name, String san) throws Exception {
        keytool(
                "-genkeypair",
                "-alias",
                name,
                "-keyalg",
                "RSA",
                "-keysize",
                "2048",
                "-validity",
                "2",
                "-dname",
                "CN=" + name,
                "-ext",
                "SAN=" + san,
                "-storetype",
                "PKCS12",
                "-keystore",
                name + ".p12",
                "-storepass",
                PASSWORD);
        keytool(
                "-exportcert",
                "-alias",
                name,
                "-keystore",
                name + ".p12",
                "-storepass",
                PASSWORD,
                "-rfc",
                "-file",
                name + ".crt");
        keytool(
                "-importcert",
                "-noprompt",
                "-alias",
                name,
                "-file",
                name + ".crt",
                "-storetype",
                "PKCS12",
                "-keystore",
                name + "-trust.p12",
                "-storepass",
                PASSWORD);
    }

    @BeforeAll
    static void stores() throws Exception {
        identity("pacs", "dns:localhost,ip:127.0.0.1");
        identity("elsewhere", "dns:pacs.elsewhere.example");
        keytool(
                "-importcert",
                "-noprompt",
                "-alias",
                "only-a-certificate",
                "-file",
                "pacs.crt",
                "-storetype",
                "PKCS12",
                "-keystore",
                "certificates-only.p12",
                "-storepass",
                PASSWORD);
    }

    /** A TLS server presenting {@code identity}'s certificate that completes one handshake; returns its port. */
    static ServerSocket server(String identity) throws Exception {
        TlsServerSettings s = TlsServerSettings.load(
                dir.resolve(identity + ".p12"),
                Optional.of(PASSWORD),
                Optional.empty(),
                Optional.empty(),
                "none",
                PROTOCOLS);
        ServerSocket server = s.newServerSocket();
        server.bind(new InetSocketAddress("127.0.0.1", 0));
        Thread.ofPlatform().daemon(true).start(() -> {
            try (SSLSocket accepted = (SSLSocket) server.accept()) {
                accepted.startHandshake();
                accepted.getOutputStream().write(42);
                accepted.getOutputStream().flush();
            } catch (IOException ignored) {
                // the client refused us: what some tests expect
            }
        });
        return server;
    }

    static TlsClientSettings trusting(String identity, boolean verifyHostname) {
        return TlsClientSettings.load(
                Optional.empty(),
                Optional.empty(),
                Optional.of(dir.resolve(identity + "-trust.p12")),
                Optional.of(PASSWORD),
                PROTOCOLS,
                verifyHostname);
    }

    static int handshake(TlsClientSettings tls, ServerSocket server) throws IOException {
        Socket plain = new Socket("localhost", server.getLocalPort());
        try (Socket s = tls.wrap(plain, "localhost", server.getLocalPort())) {
            return s.getInputStream().read();
        }
    }

    @Test
    void aTrustedCertificateNamingTheHostPasses() throws Exception {
        try (ServerSocket server = server("pacs")) {
            assertEquals(42, handshake(trusting("pacs", true), server));
        }
    }

    @Test
    void anUntrustedCertificateIsRefused() throws Exception {
        try (ServerSocket server = server("pacs")) {
            IOException e = assertThrows(IOException.class, () -> handshake(trusting("elsewhere", true), server));
            assertTrue(
                    e.getMessage().contains("PKIX") || e.getMessage().contains("certification path"), e.getMessage());
        }
    }

    @Test
    void aCertificateForAnotherHostIsRefusedUnlessVerificationIsOff() throws Exception {
        try (ServerSocket server = server("elsewhere")) {
            IOException e = assertThrows(IOException.class, () -> handshake(trusting("elsewhere", true), server));
            assertTrue(e.getMessage().contains("localhost"), "names the host that did not match: " + e.getMessage());
        }
        try (ServerSocket server = server("elsewhere")) {
            assertEquals(42, handshake(trusting("elsewhere", false), server), "verify-hostname=false accepts it");
        }
    }

    @Test
    void aKeyStoreWithoutAKeyOrWithoutItsPasswordIsRefusedAtLoad() {
        IllegalArgumentException noKey = assertThrows(
                IllegalArgumentException.class,
                () -> TlsClientSettings.load(
                        Optional.of(dir.resolve("certificates-only.p12")),
                        Optional.of(PASSWORD),
                        Optional.empty(),
                        Optional.empty(),
                        PROTOCOLS,
                        true));
        assertTrue(noKey.getMessage().contains("holds no private key"), noKey.getMessage());
        IllegalArgumentException noPassword = assertThrows(
                IllegalArgumentException.class,
                () -> TlsClientSettings.load(
                        Optional.of(dir.resolve("pacs.p12")),
                        Optional.empty(),
                        Optional.empty(),
                        Optional.empty(),
                        PROTOCOLS,
                        true));
        assertTrue(noPassword.getMessage().contains("no password is configured"), noPassword.getMessage());
    }
}
