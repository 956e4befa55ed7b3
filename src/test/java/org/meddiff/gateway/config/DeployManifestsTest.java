package org.meddiff.gateway.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.junit.jupiter.api.Test;

/**
 * deploy/ cannot be applied on these machines (no Kubernetes, no Docker engine), so what can drift is checked here:
 * the Strimzi topics against kafka/topics.json, every environment variable against a real configuration key, the
 * stage split (ClusterRolesIT runs the same split on real processes), the shared spool, ports and probes.
 */
class DeployManifestsTest {
    static final Path DEPLOY = Path.of("deploy");
    static final ObjectMapper YAML = new YAMLMapper();
    static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> STAGES = List.of("INGEST", "ASSEMBLE", "ROUTE", "INFER", "DISPATCH");

    static List<JsonNode> documents(Path file) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (var parser = new YAMLFactory().createParser(file.toFile())) {
            var it = YAML.readValues(parser, JsonNode.class);
            while (it.hasNext()) {
                JsonNode d = it.next();
                if (d != null && !d.isNull() && !d.isEmpty()) {
                    docs.add(d);
                }
            }
        }
        return docs;
    }

    static List<JsonNode> kubernetes() throws IOException {
        List<JsonNode> all = new ArrayList<>();
        JsonNode kustomization =
                documents(DEPLOY.resolve("kubernetes/kustomization.yaml")).get(0);
        for (JsonNode r : kustomization.path("resources")) {
            Path file = DEPLOY.resolve("kubernetes").resolve(r.asText());
            assertTrue(Files.isRegularFile(file), "kustomization names a missing file: " + file);
            all.addAll(documents(file));
        }
        return all;
    }

    static JsonNode resource(List<JsonNode> all, String kind, String name) {
        return all.stream()
                .filter(d -> kind.equals(d.path("kind").asText())
                        && name.equals(d.at("/metadata/name").asText()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("deploy/kubernetes has no " + kind + " " + name));
    }

    static Properties applicationProperties() throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(Path.of("src/main/resources/application.properties"))) {
            p.load(in);
        }
        return p;
    }

    /** SmallRye's environment-variable form of a key: upper case, every other character an underscore. */
    static String envName(String key) {
        return key.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT);
    }

    /** The environment of a Kubernetes container: its ConfigMaps (envFrom) and then its own env entries. */
    static Map<String, String> env(List<JsonNode> all, JsonNode container) {
        Map<String, String> env = new LinkedHashMap<>();
        for (JsonNode from : container.path("envFrom")) {
            JsonNode map =
                    resource(all, "ConfigMap", from.at("/configMapRef/name").asText());
            map.path("data")
                    .fields()
                    .forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
        }
        for (JsonNode e : container.path("env")) {
            env.put(
                    e.path("name").asText(),
                    e.has("value") ? e.path("value").asText() : "<from " + e.path("valueFrom") + ">");
        }
        return env;
    }

    static JsonNode container(JsonNode statefulSet) {
        JsonNode containers = statefulSet.at("/spec/template/spec/containers");
        assertEquals(1, containers.size(), statefulSet.at("/metadata/name") + ": one container");
        return containers.get(0);
    }

    static Map<String, String> composeEnv(JsonNode compose, String service) {
        Map<String, String> env = new TreeMap<>();
        compose.at("/services/" + service + "/environment")
                .fields()
                .forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
        return env;
    }

    static Set<String> stagesOff(Map<String, String> env) {
        Set<String> off = new TreeSet<>();
        for (String stage : STAGES) {
            if ("false".equals(env.get("GATEWAY_STAGES_" + stage))) {
                off.add(stage);
            }
        }
        return off;
    }

    // ------------------------------------------------------------------ topics

    @Test
    void strimziTopicsAreExactlyTopicsJson() throws IOException {
        Map<String, JsonNode> declared = new TreeMap<>();
        JSON.readTree(Path.of("kafka/topics.json").toFile())
                .path("topics")
                .forEach(t -> declared.put(t.path("name").asText(), t));
        Map<String, JsonNode> strimzi = new TreeMap<>();
        for (JsonNode d : kubernetes()) {
            if ("KafkaTopic".equals(d.path("kind").asText())) {
                assertEquals(
                        "meddiff-kafka",
                        d.at("/metadata/labels/strimzi.io~1cluster").asText(),
                        d.at("/metadata/name").asText());
                strimzi.put(d.at("/spec/topicName").asText(), d);
            }
        }
        assertEquals(declared.keySet(), strimzi.keySet(), "KafkaTopic resources vs kafka/topics.json");
        for (var e : declared.entrySet()) {
            JsonNode spec = strimzi.get(e.getKey()).path("spec");
            assertEquals(
                    e.getValue().path("partitions").asInt(),
                    spec.path("partitions").asInt(),
                    e.getKey() + " partitions");
            assertEquals(
                    e.getValue().path("retentionMs").asLong(),
                    spec.at("/config/retention.ms").asLong(),
                    e.getKey() + " retention");
            assertEquals(
                    e.getValue().path("cleanupPolicy").asText(),
                    spec.at("/config/cleanup.policy").asText(),
                    e.getKey() + " cleanup");
            assertTrue(
                    spec.path("replicas").asInt()
                            > spec.at("/config/min.insync.replicas").asInt(),
                    e.getKey() + ": replicas above min.insync.replicas, or one broker down stops acks=all producers");
        }
    }

    // ------------------------------------------------------------------ configuration keys

    @Test
    void everyEnvironmentVariableNamesARealConfigurationKey() throws IOException {
        Set<String> known = new TreeSet<>();
        for (String key : applicationProperties().stringPropertyNames()) {
            known.add(envName(key));
        }
        // keys application.properties documents as comments (optional settings without a default)
        Matcher documented = Pattern.compile("(?m)^#\\s*([a-z][a-z0-9.-]*)=")
                .matcher(Files.readString(Path.of("src/main/resources/application.properties")));
        while (documented.find()) {
            known.add(envName(documented.group(1)));
        }
        List<Map<String, String>> environments = new ArrayList<>();
        List<JsonNode> all = kubernetes();
        environments.add(env(all, container(resource(all, "StatefulSet", "meddiff-gateway"))));
        environments.add(env(all, container(resource(all, "StatefulSet", "meddiff-worker"))));
        JsonNode compose = documents(DEPLOY.resolve("compose.yaml")).get(0);
        environments.add(composeEnv(compose, "gateway"));
        environments.add(composeEnv(compose, "worker"));
        for (Path f : List.of(
                DEPLOY.resolve("container/Containerfile.gateway"), DEPLOY.resolve("container/Containerfile.worker"))) {
            Map<String, String> env = new TreeMap<>();
            Matcher m = Pattern.compile("\\b(GATEWAY_[A-Z0-9_]+)=").matcher(Files.readString(f));
            while (m.find()) {
                env.put(m.group(1), "");
            }
            assertFalse(env.isEmpty(), f + " sets the models and spool directories");
            environments.add(env);
        }
        for (Map<String, String> env : environments) {
            for (String name : env.keySet()) {
                if (name.equals("POD_NAME")) {
                    continue; // the downward API value GATEWAY_SPOOL_OUTBOX is built from
                }
                assertTrue(
                        known.contains(name),
                        name + " is not the environment form of any key in application.properties "
                                + "(a typo here is silently ignored by the gateway)");
            }
        }
    }

    // ------------------------------------------------------------------ the stage split

    @Test
    void gatewayNodeRunsEverythingButInferAndWorkersOnlyInferOnAGpu() throws IOException {
        List<JsonNode> all = kubernetes();
        JsonNode gateway = resource(all, "StatefulSet", "meddiff-gateway");
        JsonNode worker = resource(all, "StatefulSet", "meddiff-worker");
        Map<String, String> gatewayEnv = env(all, container(gateway));
        Map<String, String> workerEnv = env(all, container(worker));
        assertEquals(Set.of("INFER"), stagesOff(gatewayEnv), "gateway node stages off");
        assertEquals(Set.of("INGEST", "ASSEMBLE", "ROUTE", "DISPATCH"), stagesOff(workerEnv), "worker stages off");
        assertEquals(
                1, gateway.at("/spec/replicas").asInt(), "assemble keeps series state in the spool: one gateway pod");
        assertEquals(
                "1", container(worker).at("/resources/limits/nvidia.com~1gpu").asText(), "a GPU per worker");
        assertTrue(
                workerEnv.get("GATEWAY_MODELS_EXECUTION_PROVIDER").startsWith("cuda"), "workers run the CUDA provider");

        JsonNode compose = documents(DEPLOY.resolve("compose.yaml")).get(0);
        Map<String, String> composeGateway = composeEnv(compose, "gateway");
        Map<String, String> composeWorker = composeEnv(compose, "worker");
        assertEquals(Set.of("INFER"), stagesOff(composeGateway), "compose gateway stages off");
        assertEquals(
                Set.of("INGEST", "ASSEMBLE", "ROUTE", "DISPATCH"),
                stagesOff(composeWorker),
                "compose worker stages off");
        assertEquals(
                "nvidia",
                compose.at("/services/worker/deploy/resources/reservations/devices/0/driver")
                        .asText());
        assertNotEquals(
                composeGateway.get("GATEWAY_SPOOL_OUTBOX"),
                composeWorker.get("GATEWAY_SPOOL_OUTBOX"),
                "processes sharing a spool need one outbox each");
        assertEquals(
                compose.at("/services/gateway/volumes/0").asText(),
                compose.at("/services/worker/volumes/0").asText(),
                "gateway and worker share the spool volume");
    }

    @Test
    void everyPodSharesTheSpoolAndKeepsItsOwnOutbox() throws IOException {
        List<JsonNode> all = kubernetes();
        JsonNode claim = resource(all, "PersistentVolumeClaim", "meddiff-spool");
        assertEquals(
                "ReadWriteMany",
                claim.at("/spec/accessModes/0").asText(),
                "gateway and workers mount the spool at once");
        for (String name : List.of("meddiff-gateway", "meddiff-worker")) {
            JsonNode set = resource(all, "StatefulSet", name);
            Map<String, String> env = env(all, container(set));
            assertTrue(
                    env.get("GATEWAY_SPOOL_OUTBOX").contains("$(POD_NAME)"),
                    name + ": the outbox is named after the stable pod name, so a restarted pod finds its entries");
            assertTrue(
                    env.containsKey("POD_NAME")
                            && List.copyOf(env.keySet()).indexOf("POD_NAME")
                                    < List.copyOf(env.keySet()).indexOf("GATEWAY_SPOOL_OUTBOX"),
                    name + ": POD_NAME defined before its use");
            JsonNode volume = set.at("/spec/template/spec/volumes/0");
            assertEquals(
                    "meddiff-spool",
                    volume.at("/persistentVolumeClaim/claimName").asText(),
                    name);
            JsonNode mount = container(set).at("/volumeMounts/0");
            assertEquals(volume.path("name").asText(), mount.path("name").asText(), name);
            assertEquals(
                    env.get("GATEWAY_SPOOL_DIR"),
                    mount.path("mountPath").asText(),
                    name + ": the spool dir is the mount");
        }
    }

    @Test
    void portsAndProbesAreTheGatewaysOwn() throws IOException {
        Properties app = applicationProperties();
        List<JsonNode> all = kubernetes();
        JsonNode gateway = container(resource(all, "StatefulSet", "meddiff-gateway"));
        Map<String, Integer> ports = new TreeMap<>();
        gateway.path("ports")
                .forEach(p -> ports.put(
                        p.path("name").asText(), p.path("containerPort").asInt()));
        assertEquals(
                Map.of(
                        "dicom",
                        Integer.parseInt(app.getProperty("gateway.dicom.port")),
                        "dicom-tls",
                        Integer.parseInt(app.getProperty("gateway.dicom.tls.port")),
                        "http",
                        Integer.parseInt(app.getProperty("quarkus.http.port"))),
                ports);
        JsonNode dicomService = resource(all, "Service", "meddiff-dicom");
        assertEquals("dicom", dicomService.at("/spec/ports/0/targetPort").asText());
        for (String name : List.of("meddiff-gateway", "meddiff-worker")) {
            JsonNode c = container(resource(all, "StatefulSet", name));
            assertEquals("/q/health/ready", c.at("/readinessProbe/httpGet/path").asText(), name);
            assertEquals("/q/health/live", c.at("/livenessProbe/httpGet/path").asText(), name);
        }
    }

    @Test
    void podsRunAsTheImagesUserUnderAHeadlessServiceAndKafkaKeepsItsData() throws IOException {
        List<JsonNode> all = kubernetes();
        for (String name : List.of("meddiff-gateway", "meddiff-worker")) {
            JsonNode set = resource(all, "StatefulSet", name);
            JsonNode governing =
                    resource(all, "Service", set.at("/spec/serviceName").asText());
            assertEquals(
                    "None", governing.at("/spec/clusterIP").asText(), name + ": a StatefulSet's service is headless");
            assertEquals(set.at("/spec/selector/matchLabels"), governing.at("/spec/selector"), name);
            String role = name.substring("meddiff-".length());
            Matcher uid = Pattern.compile("--uid (\\d+)")
                    .matcher(Files.readString(DEPLOY.resolve("container/Containerfile." + role)));
            assertTrue(uid.find(), role + " image creates its user");
            assertEquals(
                    uid.group(1),
                    set.at("/spec/template/spec/securityContext/runAsUser").asText(),
                    name);
            assertEquals(
                    uid.group(1),
                    set.at("/spec/template/spec/securityContext/fsGroup").asText(),
                    name + ": the spool volume must be writable for the image's user");
        }
        JsonNode compose = documents(DEPLOY.resolve("compose.yaml")).get(0);
        String logDirs =
                compose.at("/services/kafka/environment/KAFKA_LOG_DIRS").asText();
        assertTrue(
                compose.at("/services/kafka/volumes/0").asText().endsWith(":" + logDirs),
                "the broker's log dirs are on its volume: " + logDirs);
    }

    @Test
    void containerImagesCopyWhatTheBuildProduces() throws IOException {
        for (String role : List.of("gateway", "worker")) {
            String file = Files.readString(DEPLOY.resolve("container/Containerfile." + role));
            assertTrue(
                    file.contains("COPY target/quarkus-app/ /opt/meddiff/app/"),
                    role + ": the Quarkus fast-jar layout");
            assertTrue(file.contains("/opt/meddiff/app/quarkus-run.jar"), role + ": runs the packaged jar");
            assertTrue(
                    file.contains("COPY models/ /opt/meddiff/models/") && Files.isDirectory(Path.of("models")), role);
            assertTrue(file.contains("--enable-native-access=ALL-UNNAMED"), role + ": ONNX Runtime loads native code");
        }
        assertTrue(
                Files.readString(DEPLOY.resolve("container/Containerfile.worker"))
                        .contains("-Pgpu"),
                "the worker is built with the onnxruntime_gpu profile");
    }
}
