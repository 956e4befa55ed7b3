package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.it.support.Dcmtk;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;
import org.meddiff.gateway.it.support.OrthancProcess;
import org.meddiff.gateway.it.support.Ports;
import org.meddiff.gateway.it.support.Processes;
import org.meddiff.gateway.it.support.StatusApiPoller;

/**
 * DICOM over TLS both ways, with client certificates. In: DCMTK's storescu +tls; a trusted scanner certificate
 * stores, a peer without TLS or with an untrusted certificate gets nothing stored (and the gateway says why), and
 * the plain listener keeps working beside it. Out: the derived series goes by C-STORE over TLS to an Orthanc that
 * only speaks TLS and requires the gateway's certificate. Certificates are made here with openssl and keytool.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TlsIT {
    static final String PASSWORD = "changeit";
    Path pki;
    int tlsPort;
    KafkaBrokerProcess kafka;
    OrthancProcess orthanc;
    GatewayProcess gateway;

    @BeforeAll
    void start() {
        pki = Processes.workDir("tls-pki");
        selfSigned("server", "localhost");
        selfSigned("scanner", "CT_SCANNER");
        selfSigned("stranger", "UNKNOWN");
        run(
                "openssl",
                "pkcs12",
                "-export",
                "-in",
                "server.crt",
                "-inkey",
                "server.key",
                "-out",
                "server.p12",
                "-passout",
                "pass:" + PASSWORD);
        run(
                "keytool",
                "-importcert",
                "-noprompt",
                "-storetype",
                "PKCS12",
                "-keystore",
                "peers.p12",
                "-storepass",
                PASSWORD,
                "-alias",
                "scanner",
                "-file",
                "scanner.crt");
        selfSigned("pacs", "localhost");
        run(
                "keytool",
                "-importcert",
                "-noprompt",
                "-storetype",
                "PKCS12",
                "-keystore",
                "pacs-trust.p12",
                "-storepass",
                PASSWORD,
                "-alias",
                "pacs",
                "-file",
                "pacs.crt");
        // Orthanc on TLS only, trusting (and requiring) the gateway's certificate
        orthanc = new OrthancProcess("tls")
                .setting("DicomTlsEnabled", true)
                .setting("DicomTlsCertificate", pki.resolve("pacs.crt").toString())
                .setting("DicomTlsPrivateKey", pki.resolve("pacs.key").toString())
                .setting(
                        "DicomTlsTrustedCertificates", pki.resolve("server.crt").toString())
                .setting("DicomTlsRemoteCertificateRequired", true)
                .start();
        kafka = KafkaBrokerProcess.start("tls");
        tlsPort = Ports.free(1)[0];
        Map<String, String> p = new HashMap<>(Map.of(
                "kafka.bootstrap.servers",
                kafka.bootstrapServers(),
                "gateway.assemble.series-quiet-period",
                "2s",
                "gateway.route.rules[1].enabled",
                "false", // the cubic baseline: transport is what is tested here
                "gateway.dispatch.destinations",
                orthanc.aeTitle() + "@localhost:" + orthanc.dicomPort() + "/tls",
                "gateway.dispatch.tls.key-store",
                pki.resolve("server.p12").toString(),
                "gateway.dispatch.tls.key-store-password",
                PASSWORD,
                "gateway.dispatch.tls.trust-store",
                pki.resolve("pacs-trust.p12").toString(),
                "gateway.dispatch.tls.trust-store-password",
                PASSWORD));
        p.putAll(Map.of(
                "gateway.dicom.tls.enabled",
                "true",
                "gateway.dicom.tls.port",
                String.valueOf(tlsPort),
                "gateway.dicom.tls.key-store",
                pki.resolve("server.p12").toString(),
                "gateway.dicom.tls.key-store-password",
                PASSWORD,
                "gateway.dicom.tls.trust-store",
                pki.resolve("peers.p12").toString(),
                "gateway.dicom.tls.trust-store-password",
                PASSWORD,
                "gateway.dicom.tls.client-auth",
                "need"));
        gateway = new GatewayProcess("tls", p);
        gateway.start().awaitReady();
    }

    @AfterAll
    void stop() {
        StatusApiPoller.closeAll(gateway, orthanc, kafka);
    }

    void selfSigned(String name, String cn) {
        run(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=" + cn,
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout",
                name + ".key",
                "-out",
                name + ".crt");
    }

    void run(String... command) {
        Processes.Result r = Processes.run(List.of(command), pki, Map.of(), Duration.ofSeconds(60));
        assertTrue(r.ok(), String.join(" ", command) + ": " + r.output());
    }

    List<String> tls(String identity) {
        return List.of(
                "+tls",
                pki.resolve(identity + ".key").toString(),
                pki.resolve(identity + ".crt").toString(),
                "+cf",
                pki.resolve("server.crt").toString());
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

        Processes.Result trusted =
                Dcmtk.store("CT_SCANNER", gateway.aeTitle(), "localhost", tlsPort, files, tls("scanner"), Map.of());
        assertEquals(3, Dcmtk.storeSuccesses(trusted), trusted.output());
        assertEquals(3, stored(p.resolvedStudyUid()), "Success over TLS means the instances are in the spool");

        SyntheticCtSeries.Params other = SyntheticCtSeries.Params.thick(32, 2).withSeed(72);
        List<Path> otherFiles = SyntheticCtSeries.write(Processes.workDir("tls-other"), other);
        Processes.Result plain = Dcmtk.store("CT_SCANNER", gateway.aeTitle(), "localhost", tlsPort, otherFiles);
        assertEquals(0, Dcmtk.storeSuccesses(plain), "no TLS, no association: " + plain.output());
        Processes.Result untrusted = Dcmtk.store(
                "CT_SCANNER", gateway.aeTitle(), "localhost", tlsPort, otherFiles, tls("stranger"), Map.of());
        assertEquals(
                0,
                Dcmtk.storeSuccesses(untrusted),
                "a certificate the trust store does not hold: " + untrusted.output());
        assertEquals(0, stored(other.resolvedStudyUid()));
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .until(() -> Processes.read(gateway.logFile())
                                .lines()
                                .filter(l -> l.contains("DICOM TLS connection from"))
                                .count()
                        >= 2);

        Processes.Result onThePlainPort =
                Dcmtk.store("CT_SCANNER", gateway.aeTitle(), "localhost", gateway.dicomPort(), otherFiles);
        assertEquals(
                2, Dcmtk.storeSuccesses(onThePlainPort), "the plain listener still serves: " + onThePlainPort.output());

        // Out over TLS: the derived 1 mm series reaches the TLS-only Orthanc.
        JsonNode job = StatusApiPoller.awaitJob(
                gateway,
                p.resolvedStudyUid(),
                j -> "COMPLETED".equals(j.path("state").asText())
                        && StatusApiPoller.deliveredTo(
                                j, orthanc.aeTitle() + "@localhost:" + orthanc.dicomPort() + "/tls"),
                Duration.ofSeconds(90));
        String seriesId =
                orthanc.seriesIdOfUid(job.path("derivedSeriesInstanceUid").asText());
        assertEquals(
                job.path("derivedInstances").asInt(),
                orthanc.instanceIdsOfSeries(seriesId).size());
        assertEquals(
                0,
                Dcmtk.storeSuccesses(
                        Dcmtk.store("CT_SCANNER", orthanc.aeTitle(), "localhost", orthanc.dicomPort(), otherFiles)),
                "that Orthanc takes nothing without TLS: the series came over TLS");
    }

    /** TLS only: the plain port does not listen, and C-ECHO over TLS works. */
    @Test
    void withThePlainListenerOffOnlyTlsIsServed() throws Exception {
        int port = Ports.free(1)[0];
        try (GatewayProcess tlsOnly = new GatewayProcess(
                "tls-only",
                Map.of(
                        "kafka.bootstrap.servers",
                        "127.0.0.1:1", // ingest does not wait for the broker
                        "gateway.dicom.plain-listener",
                        "false",
                        "gateway.dicom.tls.enabled",
                        "true",
                        "gateway.dicom.tls.port",
                        String.valueOf(port),
                        "gateway.dicom.tls.key-store",
                        pki.resolve("server.p12").toString(),
                        "gateway.dicom.tls.key-store-password",
                        PASSWORD))) {
            tlsOnly.start().awaitReady();
            assertTrue(!Ports.accepting(tlsOnly.dicomPort()), "nothing listens on the plain port");
            List<String> echo = new ArrayList<>(List.of(
                    "echoscu",
                    "-v",
                    "-aec",
                    tlsOnly.aeTitle(),
                    "+tla",
                    "+cf",
                    pki.resolve("server.crt").toString(),
                    "localhost",
                    String.valueOf(port)));
            Processes.Result r = Processes.run(echo, null, Map.of(), Duration.ofSeconds(30));
            assertTrue(r.ok() && r.output().contains("Received Echo Response (Success)"), r.output());
        }
    }
}
