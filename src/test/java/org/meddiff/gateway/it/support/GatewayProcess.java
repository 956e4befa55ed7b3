package org.meddiff.gateway.it.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The packaged gateway (target/quarkus-app/quarkus-run.jar, path from the system property
 * {@code gateway.app.jar} that failsafe sets) as a child JVM, configured with -D properties.
 * Free DICOM and HTTP ports and a spool dir under target/it-work/ are chosen unless the given
 * properties name them; all three are kept across {@link #restart()}.
 *
 * <pre>
 * try (KafkaBrokerProcess kafka = KafkaBrokerProcess.start("ingest");
 *      GatewayProcess gw = new GatewayProcess("ingest", Map.of(
 *          "kafka.bootstrap.servers", kafka.bootstrapServers(),
 *          "gateway.assemble.series-quiet-period", "2s")).start().awaitReady()) {
 *     Dcmtk.store("MODALITY", gw.aeTitle(), "127.0.0.1", gw.dicomPort(), files);
 *     GatewayProcess.HttpResult r = gw.http("/api/studies/" + studyUid);
 * }
 * </pre>
 * Output: target/it-logs/gateway-NAME.log (restarts append to it).
 */
public final class GatewayProcess implements AutoCloseable {
    public static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Status and body of an HTTP answer. */
    public record HttpResult(int status, String body) {
        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON: " + body, e);
            }
        }
    }

    private final String name;
    private final Map<String, String> properties = new LinkedHashMap<>();
    private final List<String> jvmOptions = new ArrayList<>();
    private final Path log;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private Process process;

    public GatewayProcess(String name, Map<String, String> properties) {
        this.name = name;
        this.log = Processes.logDir().resolve("gateway-" + name + ".log");
        this.properties.putAll(properties);
        int[] ports = Ports.free(2);
        this.properties.putIfAbsent("gateway.dicom.port", String.valueOf(ports[0]));
        this.properties.putIfAbsent("quarkus.http.port", String.valueOf(ports[1]));
        this.properties.putIfAbsent(
                "gateway.spool.dir",
                Processes.workDir("gateway-" + name).resolve("spool").toString());
    }

    /** The jar: system property gateway.app.jar, else PROJECT/target/quarkus-app/quarkus-run.jar. */
    public static Path appJar() {
        String p = System.getProperty("gateway.app.jar");
        return p != null && !p.isBlank()
                ? Paths.get(p)
                : Processes.projectRoot().resolve("target/quarkus-app/quarkus-run.jar");
    }

    /** Adds a JVM option (e.g. "-Xmx1g") for the next start. */
    public GatewayProcess jvmOption(String option) {
        jvmOptions.add(option);
        return this;
    }

    /** Sets (or with null removes) a property for the next start / restart. */
    public GatewayProcess property(String key, String value) {
        if (value == null) {
            properties.remove(key);
        } else {
            properties.put(key, value);
        }
        return this;
    }

    /** Launches the JVM (does not wait: call {@link #awaitReady()}). */
    public synchronized GatewayProcess start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("gateway " + name + " is already running");
        }
        Path jar = appJar();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("gateway jar " + jar + " is missing: run ./mvnw -B package -DskipTests");
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(Processes.javaExecutable());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmOptions);
        properties.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.add("-jar");
        cmd.add(jar.toString());
        Processes.logMarker(log, "start gateway " + name + ": " + String.join(" ", cmd));
        try {
            process = new ProcessBuilder(cmd)
                    .directory(Processes.projectRoot().toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the gateway", e);
        }
        return this;
    }

    /** Waits (up to 60 s) until GET /q/health/ready answers 200; fails at once if the JVM exits. */
    public GatewayProcess awaitReady() {
        return awaitReady(READY_TIMEOUT);
    }

    public GatewayProcess awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        HttpResult last = null;
        while (System.nanoTime() < deadline) {
            if (!isRunning()) {
                throw new IllegalStateException("gateway " + name + " exited with " + process.exitValue()
                        + "; last lines of " + log + ":\n" + Processes.tail(log, 60));
            }
            try {
                last = http("/q/health/ready");
                if (last.status() == 200) {
                    return this;
                }
            } catch (RuntimeException e) {
                // not listening yet
            }
            Processes.sleep(200);
        }
        throw new IllegalStateException("gateway " + name + " not ready within " + timeout
                + (last == null ? "" : " (last /q/health/ready: " + last + ")")
                + "; last lines of " + log + ":\n" + Processes.tail(log, 60));
    }

    /** Waits for the JVM to exit on its own (e.g. a start-up refused); its exit code, or -1 if it still runs after the timeout. */
    public int awaitExit(Duration timeout) {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** SIGKILL (a crash); waits until the JVM is gone. */
    public synchronized void kill() {
        if (process != null) {
            Processes.kill(process);
            Processes.logMarker(log, "killed (SIGKILL)");
        }
    }

    /** SIGTERM and wait (SIGKILL after 60 s); returns the exit code (143 or 0 after a clean shutdown). */
    public synchronized int stop() {
        return stop(Duration.ofSeconds(60));
    }

    public synchronized int stop(Duration grace) {
        if (process == null) {
            return -1;
        }
        int rc = Processes.terminate(process, grace);
        Processes.logMarker(log, "stopped (exit " + rc + ")");
        return rc;
    }

    /** SIGTERM-stop if running, start again with the same ports, spool and properties, await ready. */
    public synchronized GatewayProcess restart() {
        if (isRunning()) {
            stop();
        }
        return start().awaitReady();
    }

    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    public synchronized long pid() {
        return process.pid();
    }

    @Override
    public void close() {
        if (isRunning()) {
            stop(Duration.ofSeconds(30));
        }
    }

    // ---------------------------------------------------------------- HTTP

    /** GET http://127.0.0.1:HTTP_PORT{path}. */
    public HttpResult http(String path) {
        return http("GET", path, null);
    }

    /** Any method; a non-null body is sent as application/json. */
    public HttpResult http(String method, String path, String jsonBody) {
        HttpRequest.Builder b = HttpRequest.newBuilder(
                        URI.create(baseUrl() + (path.startsWith("/") ? path : "/" + path)))
                .timeout(Duration.ofSeconds(30));
        if (jsonBody != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(jsonBody));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new HttpResult(r.statusCode(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Whether the log (all starts so far) contains {@code text}. */
    public boolean logContains(String text) {
        return log().contains(text);
    }

    public String log() {
        return Processes.read(log);
    }

    public Path logFile() {
        return log;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + httpPort();
    }

    public int httpPort() {
        return Integer.parseInt(properties.get("quarkus.http.port"));
    }

    public int dicomPort() {
        return Integer.parseInt(properties.get("gateway.dicom.port"));
    }

    /** gateway.dicom.ae-title if given, else the default MEDDIFF. */
    public String aeTitle() {
        return properties.getOrDefault("gateway.dicom.ae-title", "MEDDIFF");
    }

    public Path spoolDir() {
        return Paths.get(properties.get("gateway.spool.dir"));
    }

    public Map<String, String> properties() {
        return Map.copyOf(properties);
    }

    @Override
    public String toString() {
        return "GatewayProcess[" + name + " " + aeTitle() + "@127.0.0.1:" + dicomPort() + " " + baseUrl() + "]";
    }
}
