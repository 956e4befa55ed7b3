package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.meddiff.gateway.it.support.Dciodvfy;
import org.meddiff.gateway.it.support.Dcmtk;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;
import org.meddiff.gateway.it.support.OrthancProcess;
import org.meddiff.gateway.it.support.Processes;
import org.meddiff.gateway.it.support.SyntheticDicom;

/** Exercises the integration-test harness itself (Orthanc, DCMTK, dciodvfy, Kafka), no gateway. */
class HarnessIT {

    @Test
    void orthancReceivesEchoAndStoreAndKeepsDataAcrossRestart() {
        Path work = Processes.workDir("harness-dicom");
        SyntheticDicom.Series series = SyntheticDicom.ctSeries(work.resolve("in"), 3, 32);
        assertEquals(List.of(), Dciodvfy.errors(series.files().get(0)), "synthetic CT must be IOD-valid");
        assertEquals(series.seriesInstanceUid(), Dcmtk.tagValue(series.files().get(0), "0020,000e"));

        try (OrthancProcess pacs = new OrthancProcess("harness").start()) {
            Processes.Result echo = Dcmtk.echo(pacs.aeTitle(), "127.0.0.1", pacs.dicomPort());
            assertTrue(echo.ok(), echo.toString());

            Processes.Result store =
                    Dcmtk.store("HARNESS", pacs.aeTitle(), "127.0.0.1", pacs.dicomPort(), series.files());
            assertTrue(store.ok(), store.toString());
            assertEquals(3, Dcmtk.storeSuccesses(store), store.toString());

            List<String> seriesIds = pacs.seriesIds();
            assertEquals(1, seriesIds.size());
            String id = seriesIds.get(0);
            assertEquals(id, pacs.seriesIdOfUid(series.seriesInstanceUid()));
            assertEquals(
                    "CT",
                    pacs.seriesJson(id).path("MainDicomTags").path("Modality").asText());
            assertEquals(
                    series.studyInstanceUid(),
                    pacs.studyOfSeries(id)
                            .path("MainDicomTags")
                            .path("StudyInstanceUID")
                            .asText());
            List<JsonNode> instances = pacs.instancesOfSeries(id);
            Set<String> sops = new HashSet<>();
            instances.forEach(t -> sops.add(t.path("SOPInstanceUID").asText()));
            assertEquals(Set.copyOf(series.sopInstanceUids()), sops);

            Path back = pacs.fileOfInstance(pacs.instanceIdsOfSeries(id).get(0), work.resolve("out/back.dcm"));
            assertEquals(series.seriesInstanceUid(), Dcmtk.tagValue(back, "0020,000e"));
            assertEquals(List.of(), Dciodvfy.errors(back));

            pacs.stop();
            assertFalse(pacs.isRunning());
            pacs.start();
            assertEquals(List.of(id), pacs.seriesIds(), "Orthanc storage must survive a restart");
            assertEquals(3, pacs.instanceIdsOfSeries(id).size());
        }
    }

    @Test
    void kafkaRecordSurvivesKillMinusNineAndRestart() throws Exception {
        String topic = "harness.test";
        try (KafkaBrokerProcess kafka = KafkaBrokerProcess.start("harness")) {
            kafka.createTopics(Map.of(topic, 1));
            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
                producer.send(new ProducerRecord<>(topic, "study-1", "{\"hello\":\"kafka\"}"))
                        .get();
            }
            assertEquals(List.of("{\"hello\":\"kafka\"}"), readAll(kafka, topic, 1));

            long pid = kafka.pid();
            kafka.kill();
            assertFalse(kafka.isRunning());
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "broker JVM must be gone");
            kafka.restart();
            assertEquals(List.of("{\"hello\":\"kafka\"}"), readAll(kafka, topic, 1), "record must survive SIGKILL");
        }
    }

    private static List<String> readAll(KafkaBrokerProcess kafka, String topic, int expected) {
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            List<String> values = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (values.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    values.add(r.value());
                }
            }
            return values;
        }
    }
}
