package org.meddiff.gateway.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every event the gateway publishes, serialised exactly as published ({@link Events#toJson}), must validate against
 * its documented schema in kafka/schemas/ (read from the classpath, where the pom copies them), with format
 * assertions on. A schema that accepted anything would pass that too, so broken events must be rejected as well.
 */
class EventSchemasTest {
    private static final SchemaRegistry REGISTRY =
            SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

    static final String STUDY = "1.2.826.0.1.3680043.8.498.10672399428374512785623981237";
    static final String SERIES = "1.2.826.0.1.3680043.8.498.20931847561239847561298374651";
    static final String SOP = "1.2.826.0.1.3680043.8.498.30918273645546372819203847561.17";
    static final String DERIVED_SERIES = "2.25.118446744073709551615000000000000001";
    static final String EXPLICIT_VR_LE = "1.2.840.10008.1.2.1";
    static final String CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2";

    /** Topic -> record class: every topic has one. */
    static final Map<String, Class<? extends GatewayEvent>> RECORDS = Topics.RECORDS;

    // ------------------------------------------------------------------ realistic events

    static SeriesAttributes ctAbdomen() {
        return new SeriesAttributes(
                "CT",
                2,
                5.0,
                "Abdomen 5.0 Br40",
                "ABDOMEN",
                List.of("ORIGINAL", "PRIMARY", "AXIAL"),
                CT_IMAGE,
                "CT_SCANNER_1",
                "MEDDIFF",
                false);
    }

    /** What a sparse header gives: every optional descriptor absent (serialised as null). */
    static SeriesAttributes sparse() {
        return new SeriesAttributes(null, null, null, null, null, null, CT_IMAGE, "PACS", "MEDDIFF", false);
    }

    static String jobId(String seriesUid, int generation, int count, String task) throws Exception {
        byte[] d = MessageDigest.getInstance("SHA-256")
                .digest((seriesUid + "|" + generation + "|" + count + "|" + task).getBytes(StandardCharsets.US_ASCII));
        return HexFormat.of().formatHex(d, 0, 16);
    }

    static List<GatewayEvent> realisticEvents() throws Exception {
        String seriesRef = "instances/" + STUDY + "/" + SERIES;
        InstanceReceived received = InstanceReceived.of(
                STUDY, SERIES, SOP, EXPLICIT_VR_LE, 529_842L, seriesRef + "/" + SOP + ".dcm", ctAbdomen());
        InstanceReceived receivedSparse = InstanceReceived.of(
                STUDY, SERIES, SOP, "1.2.840.10008.1.2", 1_024L, seriesRef + "/" + SOP + ".dcm", sparse());
        SeriesReady ready = SeriesReady.of(STUDY, SERIES, 1, 120, seriesRef, ctAbdomen());
        SeriesReady reopened = SeriesReady.of(STUDY, SERIES, 2, 121, seriesRef, sparse());
        String jobId = jobId(SERIES, 1, 120, "cubic-thick-to-thin");
        JobRequested requested = JobRequested.of(jobId, "cubic-thick-to-thin", "thick-ct-to-thin", ready, Map.of());
        JobRequested withParams = JobRequested.of(
                jobId, "cubic-thick-to-thin", "thick-ct-to-thin", reopened, Map.of("targetSpacingMm", "1.0"));
        JobProgress progress = JobProgress.of(requested, 1, 3, "reading 120 slices", null);
        JobProgress measured = JobProgress.of(requested, 3, 3, "writing 596 slices", 412.5);
        JobCompleted completed = JobCompleted.of(
                requested, "cubic-interpolation/1", DERIVED_SERIES, List.of(), 596, "derived/" + jobId, 8_431L);
        JobFailed failed =
                JobFailed.of(requested, "series is not a single axial stack (gantry tilt 12 degrees)", JobFailed.INPUT);
        JobRequested secondAttempt = requested.retry(
                "ONNX Runtime error: ONNX Runtime failed on model meddiff-fm-base (4 patches of 32^3): CUDA out of memory");
        JobFailed machine = JobFailed.of(
                secondAttempt.retry("out of memory (Java heap space)"),
                "failed 3 time(s): attempt 1: I/O error: No space left on device; attempt 2: out of memory (Java heap space); "
                        + "attempt 3: over its time limit of PT4H (gateway.infer.job-timeout)",
                JobFailed.MACHINE);
        JobCompleted redelivery = completed.announcedAgain();
        SeriesReady recovered = SeriesReady.of(STUDY, SERIES, 1, 120, seriesRef, ctAbdomen(), true);
        StoreCompleted stored = StoreCompleted.of(completed, "ORTHANC@pacs.example.org:4242", 596, 1);
        StoreCompleted storedOverTls = StoreCompleted.of(completed, "PACS@pacs.example.org:2762/tls", 596, 2);
        StoreDeadLettered dead = StoreDeadLettered.of(
                completed,
                "ORTHANC@pacs.example.org:4242",
                8,
                "ORTHANC@pacs.example.org:4242 rejected the association (result 1, source 1, reason 3)");
        JobRequested anomaly =
                JobRequested.of(jobId(SERIES, 1, 120, "anomaly"), "anomaly", "ct-abdomen-triage", ready, Map.of());
        // as AnomalyTask publishes it: region = the card's class name, modelVersion = model@sha12/sampler
        TriageFinding urgent = TriageFinding.of(
                anomaly,
                DERIVED_SERIES,
                0.0812,
                "abdomen",
                TriagePriority.URGENT,
                0.0775,
                "meddiff-fm-base@3f2a9c81d0e4/anomaly-t400-s2.0-k16");
        TriageFinding routine = TriageFinding.of(
                anomaly,
                DERIVED_SERIES,
                0.0641,
                "HaN",
                TriagePriority.ROUTINE,
                0.0775,
                "meddiff-fm-base@3f2a9c81d0e4/anomaly-t950-s0.0-k1");
        return List.of(
                received,
                receivedSparse,
                ready,
                reopened,
                recovered,
                requested,
                withParams,
                secondAttempt,
                progress,
                measured,
                completed,
                redelivery,
                failed,
                machine,
                stored,
                storedOverTls,
                dead,
                urgent,
                routine);
    }

    static Stream<Arguments> events() throws Exception {
        return realisticEvents().stream().map(e -> Arguments.of(e.getClass().getSimpleName(), e));
    }

    // ------------------------------------------------------------------ helpers

    static Schema schema(String topic) {
        String resource = "/kafka/schemas/" + topic + ".schema.json";
        try (InputStream in = EventSchemasTest.class.getResourceAsStream(resource)) {
            assertNotNull(in, resource + " is not on the classpath (pom copies kafka/schemas/*.json)");
            return REGISTRY.getSchema(in, InputFormat.JSON);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode schemaJson(String topic) throws IOException {
        try (InputStream in = EventSchemasTest.class.getResourceAsStream("/kafka/schemas/" + topic + ".schema.json")) {
            return Events.JSON.readTree(in);
        }
    }

    static List<Error> validate(String topic, String json) {
        return schema(topic)
                .validate(json, InputFormat.JSON, ctx -> ctx.executionConfig(c -> c.formatAssertionsEnabled(true)));
    }

    static ObjectNode tree(GatewayEvent event) throws IOException {
        return (ObjectNode) Events.JSON.readTree(Events.toJson(event));
    }

    static JobCompleted completed() throws Exception {
        return (JobCompleted) realisticEvents().stream()
                .filter(e -> e instanceof JobCompleted)
                .findFirst()
                .orElseThrow();
    }

    // ------------------------------------------------------------------ valid events

    @ParameterizedTest(name = "{0} validates against its schema")
    @MethodSource("events")
    void everyPublishedEventValidates(String name, GatewayEvent event) {
        String json = Events.toJson(event);
        List<Error> errors = validate(event.type(), json);
        assertTrue(
                errors.isEmpty(), name + " does not match " + event.type() + ".schema.json: " + errors + "\n" + json);
    }

    @Test
    void everyRecordWasExercised() throws Exception {
        Set<Class<?>> seen = realisticEvents().stream().map(Object::getClass).collect(Collectors.toSet());
        assertEquals(Set.copyOf(RECORDS.values()), seen);
    }

    /** The schema documents exactly the record's fields: adding a field without documenting it fails here. */
    @Test
    void schemaPropertiesAreExactlyTheRecordComponents() throws IOException {
        for (Map.Entry<String, Class<? extends GatewayEvent>> e : RECORDS.entrySet()) {
            JsonNode schema = schemaJson(e.getKey());
            Set<String> components = Arrays.stream(e.getValue().getRecordComponents())
                    .map(c -> c.getName())
                    .collect(Collectors.toCollection(TreeSet::new));
            Set<String> properties = new TreeSet<>();
            schema.get("properties").fieldNames().forEachRemaining(properties::add);
            assertEquals(
                    components,
                    properties,
                    e.getKey() + ": schema properties vs " + e.getValue().getSimpleName());
            Set<String> required = new TreeSet<>();
            schema.get("required").forEach(n -> required.add(n.asText()));
            assertEquals(
                    components,
                    required,
                    e.getKey() + ": every field is always serialised, so every field is required");
        }
        JsonNode attributes = schemaJson(Topics.INSTANCE_RECEIVED).at("/$defs/seriesAttributes/properties");
        Set<String> fields = new TreeSet<>();
        attributes.fieldNames().forEachRemaining(fields::add);
        assertEquals(
                Arrays.stream(SeriesAttributes.class.getRecordComponents())
                        .map(c -> c.getName())
                        .collect(Collectors.toCollection(TreeSet::new)),
                fields);
    }

    /** The three copies of SeriesAttributes (one per self-contained schema) must not drift apart. */
    @Test
    void seriesAttributesDefinitionIsIdenticalEverywhere() throws IOException {
        JsonNode reference = schemaJson(Topics.INSTANCE_RECEIVED).at("/$defs/seriesAttributes");
        for (String topic : List.of(Topics.SERIES_READY, Topics.JOB_REQUESTED)) {
            assertEquals(reference, schemaJson(topic).at("/$defs/seriesAttributes"), topic);
        }
    }

    @Test
    void everySchemaIsDraft2020WithIdTitleAndDescribedFields() throws IOException {
        for (String topic : topicsJson()) {
            JsonNode s = schemaJson(topic);
            assertEquals(
                    "https://json-schema.org/draft/2020-12/schema",
                    s.path("$schema").asText(),
                    topic);
            assertTrue(s.path("$id").asText().endsWith("/" + topic + ".schema.json"), topic + " $id");
            assertFalse(s.path("title").asText().isBlank(), topic + " title");
            assertFalse(s.path("description").asText().isBlank(), topic + " description");
            assertEquals(topic, s.at("/properties/type/const").asText(), topic + " type const");
            assertEquals(1, s.at("/properties/schemaVersion/const").asInt(), topic + " schemaVersion const");
            assertFalse(s.path("additionalProperties").asBoolean(true), topic + " must be closed");
            List<String> undocumented = new ArrayList<>();
            collectUndocumented(topic, s.get("properties"), undocumented);
            s.path("$defs")
                    .fields()
                    .forEachRemaining(d -> collectUndocumented(
                            topic + "/$defs/" + d.getKey(), d.getValue().get("properties"), undocumented));
            assertTrue(undocumented.isEmpty(), "fields without a description: " + undocumented);
        }
    }

    private static void collectUndocumented(String where, JsonNode properties, List<String> out) {
        if (properties == null) {
            return;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = properties.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> p = it.next();
            if (p.getValue().path("description").asText().isBlank()) {
                out.add(where + "." + p.getKey());
            }
        }
    }

    // ------------------------------------------------------------------ invalid events are rejected

    @Test
    void missingRequiredFieldIsRejected() throws Exception {
        ObjectNode json = tree(completed());
        json.remove("derivedSeriesInstanceUid");
        List<Error> errors = validate(Topics.JOB_COMPLETED, json.toString());
        assertFalse(errors.isEmpty(), "a job.completed without its derived series must be rejected");
        assertTrue(errors.toString().contains("derivedSeriesInstanceUid"), errors.toString());

        ObjectNode noEventId = tree(completed());
        noEventId.remove("eventId");
        assertFalse(validate(Topics.JOB_COMPLETED, noEventId.toString()).isEmpty(), "eventId is required for dedup");
    }

    @Test
    void pathTraversalUidIsRejected() throws Exception {
        InstanceReceived bad = InstanceReceived.of(
                "../x", SERIES, SOP, EXPLICIT_VR_LE, 1L, "instances/../x/" + SERIES + "/" + SOP + ".dcm", ctAbdomen());
        List<Error> errors = validate(Topics.INSTANCE_RECEIVED, Events.toJson(bad));
        Set<String> where = errors.stream()
                .map(e -> String.valueOf(e.getInstanceLocation()))
                .collect(Collectors.toSet());
        assertTrue(where.stream().anyMatch(w -> w.contains("studyInstanceUid")), "studyInstanceUid '../x': " + errors);
        assertTrue(where.stream().anyMatch(w -> w.contains("correlationId")), "correlationId '../x': " + errors);
        assertTrue(where.stream().anyMatch(w -> w.contains("blobRef")), "blobRef with '..': " + errors);
    }

    @Test
    void otherMalformedUidsAreRejected() throws Exception {
        for (String uid : List.of("", "1..2", "1.2.", ".1.2", "1.2/3", "1.2.3 ", "1.2.a", "1." + "2".repeat(63))) {
            ObjectNode json = tree(completed());
            json.put("derivedSeriesInstanceUid", uid);
            assertFalse(
                    validate(Topics.JOB_COMPLETED, json.toString()).isEmpty(), "UID '" + uid + "' must be rejected");
        }
        ObjectNode longest = tree(completed());
        longest.put("derivedSeriesInstanceUid", "1." + "2".repeat(62)); // exactly 64 characters
        assertTrue(validate(Topics.JOB_COMPLETED, longest.toString()).isEmpty(), "a 64-character UID is valid");
    }

    @Test
    void wrongTypeVersionExtraFieldAndBadTimeAreRejected() throws Exception {
        ObjectNode wrongType = tree(completed());
        wrongType.put("type", Topics.JOB_FAILED);
        assertFalse(validate(Topics.JOB_COMPLETED, wrongType.toString()).isEmpty(), "type must be the topic");

        ObjectNode v2 = tree(completed());
        v2.put("schemaVersion", 2);
        assertFalse(validate(Topics.JOB_COMPLETED, v2.toString()).isEmpty(), "schemaVersion must be 1");

        ObjectNode extra = tree(completed());
        extra.put("patientName", "Doe^John");
        assertFalse(
                validate(Topics.JOB_COMPLETED, extra.toString()).isEmpty(),
                "closed record: no undeclared fields (and no patient names)");

        ObjectNode badTime = tree(completed());
        badTime.put("time", "yesterday");
        assertFalse(validate(Topics.JOB_COMPLETED, badTime.toString()).isEmpty(), "time must be an ISO-8601 date-time");

        ObjectNode badJob = tree(completed());
        badJob.put("jobId", "../../etc");
        assertFalse(validate(Topics.JOB_COMPLETED, badJob.toString()).isEmpty(), "jobId names a spool directory");

        ObjectNode extraAttribute = tree(realisticEvents().get(0));
        ((ObjectNode) extraAttribute.get("series")).put("patientId", "12345");
        assertFalse(
                validate(Topics.INSTANCE_RECEIVED, extraAttribute.toString()).isEmpty(),
                "series attributes are closed: no patient identifiers");
    }

    // ------------------------------------------------------------------ triage.finding

    static ObjectNode finding() throws Exception {
        return tree(realisticEvents().stream()
                .filter(e -> e instanceof TriageFinding)
                .findFirst()
                .orElseThrow());
    }

    @Test
    void malformedTriageFindingsAreRejected() throws Exception {
        assertTrue(validate(Topics.TRIAGE_FINDING, finding().toString()).isEmpty());
        ObjectNode high = finding();
        high.put("priority", "HIGH");
        assertFalse(validate(Topics.TRIAGE_FINDING, high.toString()).isEmpty(), "priority is ROUTINE/URGENT/STAT");
        ObjectNode textScore = finding();
        textScore.put("score", "0.93");
        assertFalse(validate(Topics.TRIAGE_FINDING, textScore.toString()).isEmpty(), "score is a number");
        ObjectNode noThreshold = finding();
        noThreshold.remove("threshold");
        assertFalse(validate(Topics.TRIAGE_FINDING, noThreshold.toString()).isEmpty(), "threshold is required");
        ObjectNode noRegion = finding();
        noRegion.put("region", "");
        assertFalse(validate(Topics.TRIAGE_FINDING, noRegion.toString()).isEmpty(), "region is not empty");
    }

    // ------------------------------------------------------------------ topics.json <-> schemas <-> records

    static Set<String> topicsJson() throws IOException {
        try (InputStream in = EventSchemasTest.class.getResourceAsStream("/kafka/topics.json")) {
            assertNotNull(in, "/kafka/topics.json on the classpath");
            Set<String> names = new LinkedHashSet<>();
            Events.JSON
                    .readTree(in)
                    .get("topics")
                    .forEach(t -> names.add(t.get("name").asText()));
            return names;
        }
    }

    @Test
    void everyTopicHasASchemaAndEverySchemaATopic() throws IOException, URISyntaxException {
        Set<String> topics = topicsJson();
        URL dir = EventSchemasTest.class.getResource("/kafka/schemas");
        assertNotNull(dir, "/kafka/schemas on the classpath");
        Set<String> schemaTopics;
        try (Stream<Path> files = Files.list(Path.of(dir.toURI()))) {
            schemaTopics = files.map(p -> p.getFileName().toString())
                    .peek(n -> assertTrue(n.endsWith(".schema.json"), "unexpected file in kafka/schemas: " + n))
                    .map(n -> n.substring(0, n.length() - ".schema.json".length()))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
        assertEquals(new TreeSet<>(topics), schemaTopics, "topics.json vs kafka/schemas/*.schema.json");
        for (String topic : RECORDS.keySet()) {
            assertTrue(topics.contains(topic), topic + " has a record but is not in topics.json");
        }
        Set<String> withoutRecord = new TreeSet<>(topics);
        withoutRecord.removeAll(RECORDS.keySet());
        assertEquals(Set.of(), withoutRecord, "topics without an event record");
    }

    @Test
    void topicConstantsMatchTopicsJson() throws Exception {
        Set<String> constants = new TreeSet<>();
        for (var f : Topics.class.getFields()) {
            if (f.getType() == String.class) { // the topic names (RECORDS maps them to their records)
                constants.add((String) f.get(null));
            }
        }
        assertEquals(constants, new TreeSet<>(topicsJson()));
    }
}
