package org.meddiff.gateway.it.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Orthanc (Debian's /usr/sbin/Orthanc) as a test PACS: a plain child process with its own JSON
 * config, free DICOM/HTTP ports on loopback and its storage under target/it-work/. Storage
 * survives {@link #stop()} + {@link #start()}.
 *
 * <pre>
 * try (OrthancProcess pacs = new OrthancProcess("pacs").start()) {
 *     Dcmtk.store("TEST", pacs.aeTitle(), "127.0.0.1", pacs.dicomPort(), files);
 *     List&lt;String&gt; series = pacs.seriesIds();
 *     List&lt;JsonNode&gt; tags = pacs.instancesOfSeries(series.get(0)); // simplified tags per instance
 * }
 * </pre>
 * To let Orthanc send to the gateway (C-MOVE / C-STORE SCU), call {@link #modality} before start.
 */
public final class OrthancProcess implements AutoCloseable {
    public static final String ORTHANC = "/usr/sbin/Orthanc";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    private final String name;
    private final String aeTitle;
    private final Path workDir;
    private final int httpPort;
    private final int dicomPort;
    private final Path log;
    private final Map<String, List<Object>> modalities = new LinkedHashMap<>();
    private final Map<String, Object> extraSettings = new LinkedHashMap<>();
    private final Map<String, String> environment = new LinkedHashMap<>();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private Process process;

    public OrthancProcess(String name) {
        this(name, "ORTHANC");
    }

    public OrthancProcess(String name, String aeTitle) {
        this.name = name;
        this.aeTitle = aeTitle;
        this.workDir = Processes.workDir("orthanc-" + name);
        int[] ports = Ports.free(2);
        this.httpPort = ports[0];
        this.dicomPort = ports[1];
        this.log = Processes.logDir().resolve("orthanc-" + name + ".log");
    }

    /** An environment variable for the next start (e.g. LD_PRELOAD of the benchmark's TCP_NODELAY shim). */
    public OrthancProcess environment(String name, String value) {
        environment.put(name, value);
        return this;
    }

    /** A further setting of orthanc.json for the next start (e.g. "DicomTlsEnabled", true). */
    public OrthancProcess setting(String key, Object value) {
        extraSettings.put(key, value);
        return this;
    }

    /** Declares a DICOM peer Orthanc may send to (config key DicomModalities); before {@link #start()}. */
    public OrthancProcess modality(String symbolicName, String aet, String host, int port) {
        modalities.put(symbolicName, List.of(aet, host, port));
        return this;
    }

    /** Writes the config and starts Orthanc; waits until its REST API answers. */
    public synchronized OrthancProcess start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("Orthanc " + name + " is already running");
        }
        Path config = workDir.resolve("orthanc.json");
        try {
            ObjectNode c = JSON.createObjectNode();
            c.put("Name", name);
            c.put(
                    "StorageDirectory",
                    Processes.mkdirs(workDir.resolve("storage")).toString());
            c.put("IndexDirectory", Processes.mkdirs(workDir.resolve("index")).toString());
            c.put("HttpPort", httpPort);
            c.put("DicomPort", dicomPort);
            c.put("DicomAet", aeTitle);
            c.put("RemoteAccessAllowed", false);
            c.put("AuthenticationEnabled", false);
            c.put("DicomCheckCalledAet", false);
            c.put("DicomAlwaysAllowStore", true);
            c.put("DicomAlwaysAllowEcho", true);
            c.put("SaveJobs", false);
            c.put("StorageCompression", false);
            c.putArray("Plugins");
            ObjectNode m = c.putObject("DicomModalities");
            modalities.forEach((k, v) -> m.set(k, JSON.valueToTree(v)));
            extraSettings.forEach((k, v) -> c.set(k, JSON.valueToTree(v)));
            Files.writeString(config, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(c));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Processes.logMarker(
                log, "start Orthanc " + name + " AE " + aeTitle + " DICOM " + dicomPort + " HTTP " + httpPort);
        try {
            ProcessBuilder builder = new ProcessBuilder(ORTHANC, config.toString())
                    .directory(workDir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            builder.environment().putAll(environment);
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + ORTHANC + " (apt-get install orthanc; bin/setup does)", e);
        }
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new IllegalStateException("Orthanc " + name + " exited with " + process.exitValue()
                        + "; last lines of " + log + ":\n" + Processes.tail(log, 30));
            }
            try {
                if (send(HttpRequest.newBuilder(uri("/system")).GET()).statusCode() == 200
                        && Ports.accepting(dicomPort)) { // a TCP connect: answered by a TLS listener too
                    return this;
                }
            } catch (RuntimeException e) {
                // not up yet
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Orthanc " + name + " not ready within " + READY_TIMEOUT
                        + "; last lines of " + log + ":\n" + Processes.tail(log, 30));
            }
            Processes.sleep(100);
        }
    }

    /** SIGTERM (Orthanc shuts down cleanly), SIGKILL after 30 s. Storage is kept. */
    public synchronized void stop() {
        if (process != null) {
            Processes.terminate(process, Duration.ofSeconds(30));
            Processes.logMarker(log, "stopped");
        }
    }

    public synchronized void kill() {
        if (process != null) {
            Processes.kill(process);
            Processes.logMarker(log, "killed");
        }
    }

    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    @Override
    public void close() {
        stop();
    }

    public String aeTitle() {
        return aeTitle;
    }

    public int dicomPort() {
        return dicomPort;
    }

    public int httpPort() {
        return httpPort;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + httpPort;
    }

    /** "AET@127.0.0.1:port", the form of gateway.dispatch.destinations. */
    public String destination() {
        return aeTitle + "@127.0.0.1:" + dicomPort;
    }

    public Path workDir() {
        return workDir;
    }

    public Path logFile() {
        return log;
    }

    // ---------------------------------------------------------------- REST

    /** GET a REST path (e.g. "/statistics") and parse the JSON answer; fails on a non-2xx status. */
    public JsonNode get(String path) {
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri(path)).GET());
        if (r.statusCode() / 100 != 2) {
            throw new IllegalStateException("GET " + path + " -> " + r.statusCode() + ": " + r.body());
        }
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Orthanc ids of all series. */
    public List<String> seriesIds() {
        return strings(get("/series"));
    }

    /** Orthanc ids of all studies. */
    public List<String> studyIds() {
        return strings(get("/studies"));
    }

    /** Orthanc ids of all instances. */
    public List<String> instanceIds() {
        return strings(get("/instances"));
    }

    /** GET /series/{id}: MainDicomTags (SeriesInstanceUID, Modality, ...), Instances, ParentStudy. */
    public JsonNode seriesJson(String seriesId) {
        return get("/series/" + seriesId);
    }

    /** The Orthanc id of the series with this SeriesInstanceUID, or null. */
    public String seriesIdOfUid(String seriesInstanceUid) {
        for (String id : seriesIds()) {
            if (seriesInstanceUid.equals(seriesJson(id)
                    .path("MainDicomTags")
                    .path("SeriesInstanceUID")
                    .asText())) {
                return id;
            }
        }
        return null;
    }

    /** GET /series/{id}/study: the parent study (MainDicomTags, PatientMainDicomTags, Series). */
    public JsonNode studyOfSeries(String seriesId) {
        return get("/series/" + seriesId + "/study");
    }

    /** Orthanc ids of the instances of a series. */
    public List<String> instanceIdsOfSeries(String seriesId) {
        List<String> ids = new ArrayList<>();
        get("/series/" + seriesId + "/instances")
                .forEach(n -> ids.add(n.path("ID").asText()));
        return ids;
    }

    /**
     * The simplified tags (GET /instances/{id}/tags?simplify: {"SOPInstanceUID": "...",
     * "ImagePositionPatient": "0\\0\\1", sequences as arrays}) of every instance of a series.
     */
    public List<JsonNode> instancesOfSeries(String seriesId) {
        List<JsonNode> tags = new ArrayList<>();
        for (String id : instanceIdsOfSeries(seriesId)) {
            tags.add(instanceTags(id));
        }
        return tags;
    }

    /** GET /instances/{id}/tags?simplify. */
    public JsonNode instanceTags(String instanceId) {
        return get("/instances/" + instanceId + "/tags?simplify");
    }

    /** Downloads the DICOM file of an instance (GET /instances/{id}/file) to {@code target}. */
    public Path fileOfInstance(String instanceId, Path target) {
        try {
            Files.createDirectories(target.toAbsolutePath().getParent());
            HttpResponse<Path> r = http.send(
                    HttpRequest.newBuilder(uri("/instances/" + instanceId + "/file"))
                            .timeout(Duration.ofSeconds(60))
                            .GET()
                            .build(),
                    HttpResponse.BodyHandlers.ofFile(target));
            if (r.statusCode() != 200) {
                throw new IllegalStateException("GET /instances/" + instanceId + "/file -> " + r.statusCode());
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Downloads every instance of a series into {@code dir} (named by Orthanc id + .dcm). */
    public List<Path> filesOfSeries(String seriesId, Path dir) {
        List<Path> files = new ArrayList<>();
        for (String id : instanceIdsOfSeries(seriesId)) {
            files.add(fileOfInstance(id, dir.resolve(id + ".dcm")));
        }
        return files;
    }

    /** Deletes everything stored (DELETE /patients/{id} for each patient). */
    public void clear() {
        for (String id : strings(get("/patients"))) {
            send(HttpRequest.newBuilder(uri("/patients/" + id)).DELETE());
        }
    }

    private HttpResponse<String> send(HttpRequest.Builder b) {
        try {
            return http.send(b.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private URI uri(String path) {
        return URI.create(baseUrl() + (path.startsWith("/") ? path : "/" + path));
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        if (array instanceof ArrayNode a) {
            a.forEach(n -> out.add(n.asText()));
        }
        return out;
    }

    @Override
    public String toString() {
        return "OrthancProcess[" + name + " " + aeTitle + "@127.0.0.1:" + dicomPort + " " + baseUrl() + "]";
    }
}
