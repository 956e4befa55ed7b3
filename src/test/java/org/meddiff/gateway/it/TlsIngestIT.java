package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.meddiff.gateway.it.support.Dcmtk;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.Ports;
import org.meddiff.gateway.it.support.Processes;
import org.meddiff.gateway.tools.SyntheticCtSeries;

/**
 * DICOM over TLS with client authentication, against DCMTK's storescu +tls: a trusted scanner certificate stores,
 * a peer without TLS or with an untrusted certificate gets nothing stored (and the gateway says why), and the
 * plain listener keeps working beside it. Certificates are made here with openssl and keytool.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TlsIngestIT {
    static final String PASSWORD = "changeit";
    Path pki;
    int tlsPort;
    GatewayProcess gateway;

    @BeforeAll
    void start() {
        pki = Processes.workDir("tls-pki");
        selfSigned("server", "localhost");
        selfSigned("scanner", "CT_SCANNER");
        selfSigned("stranger", "UNKNOWN");
        run("openssl", "pkcs12", "-export", "-in", "server.crt", "-inkey", "server.key", "-out", "server.p12",
                "-passout", "pass:" + PASSWORD);
        run("keytool", "-importcert", "-noprompt", "-storetype", "PKCS12", "-keystore", "peers.p12", "-storepass", PASSWORD,
                "-alias", "scanner", "-file", "scanner.crt");
        tlsPort = Ports.free(1)[0];
        gateway = new GatewayProcess("tls", Map.of(
                "kafka.bootstrap.servers", "127.0.0.1:1", // ingest does not need the broker: the outbox holds the events
                "gateway.dicom.tls.enabled", "true",
                "gateway.dicom.tls.port", String.valueOf(tlsPort),
                "gateway.dicom.tls.key-store", pki.resolve("server.p12").toString(),
                "gateway.dicom.tls.key-store-password", PASSWORD,
                "gateway.dicom.tls.trust-store", pki.resolve("peers.p12").toString(),
                "gateway.dicom.tls.trust-store-password", PASSWORD,
                "gateway.dicom.tls.client-auth", "need"));
        gateway.start().awaitReady();
    }

    @AfterAll
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    void selfSigned(String name, String cn) {
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + cn,
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", name + ".key", "-out", name + ".crt");
    }

    void run(String... command) {
        Processes.Result r = Processes.run(List.of(command), pki, Map.of(), Duration.ofSeconds(60));
        assertTrue(r.ok(), String.join(" ", command) + ": " + r.output());
    }

    List<String> tls(String identity) {
        return List.of("+tls", pki.resolve(identity + ".key").toString(), pki.resolve(identity + ".crt").toString(),
                "+cf", pki.resolve("server.crt").toString());
    }

    long stored(String study) throws Exception {
        Path dir = gateway.spoolDir().resolve("instances").resolve(study);
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(f -> f.toString().endsWith(".dcm")).count();
        }
    }

    @Test
    void aTrustedScannerStoresOverTlsAndOthersAreTurnedAway() throws Exception {
        SyntheticCtSeries.Params p = SyntheticCtSeries.Params.thick(32, 3).withSeed(71);
        List<Path> files = SyntheticCtSeries.write(Processes.workDir("tls-series"), p);

        Processes.Result trusted = Dcmtk.store("CT_SCANNER", gateway.aeTitle(), "localhost", tlsPort, files, tls("scanner"), Map.of());
        assertEquals(3, Dcmtk.storeSuccesses(trusted), trusted.output());
        assertEquals(3, stored(p.resolvedStudyUid()), "Success over TLS means the instances are in the spool");

        SyntheticCtSeries.Params other = SyntheticCtSeries.Params.thick(32, 2).withSeed(72);
        List<Path> otherFiles = SyntheticCtSeries.write(Processes.workDir("tls-other"), other);
        Processes.Result plain = Dcmtk.store("CT_SCANNER", gateway.aeTitle(), "localhost", tlsPort, otherFiles);
        assertEquals(0, Dcmtk.storeSuccesses(plain), "no TLS, no association: " + plain.output());
        Processes.Result untrusted = Dcmtk.store("CT_SCANNER", gateway.aeTitle(), "localhost", tlsPort, otherFiles,
                tls("stranger"), Map.of());
        assertEquals(0, Dcmtk.storeSuccesses(untrusted), "a certificate the trust store does not hold: " + untrusted.output());
        assertEquals(0, stored(other.resolvedStudyUid()));
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() ->
                Processes.read(gateway.logFile()).lines().filter(l -> l.contains("DICOM TLS connection from")).count() >= 2);

        Processes.Result onThePlainPort = Dcmtk.store("CT_SCANNER", gateway.aeTitle(), "localhost", gateway.dicomPort(), otherFiles);
        assertEquals(2, Dcmtk.storeSuccesses(onThePlainPort), "the plain listener still serves: " + onThePlainPort.output());
    }
}
