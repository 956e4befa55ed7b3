package org.meddiff.gateway.campaign;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Everything a topic holds now, read from the beginning of each partition up to its end offset (no consumer group, so
 * nothing is committed and the gateway's groups are not touched). Fails rather than return a part: a campaign that
 * counted "lost" instances from half a topic would lie.
 */
final class TopicSnapshot {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A record's value (parsed JSON) with the partition it is on. */
    record Event(int partition, JsonNode value) {}

    private TopicSnapshot() {}

    static List<Event> read(String bootstrap, String topic, Duration timeout) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000");
        long deadline = System.nanoTime() + timeout.toNanos();
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
            if (infos == null || infos.isEmpty()) {
                return List.of(); // the topic was never created: nothing was published to it
            }
            List<TopicPartition> partitions = infos.stream()
                    .map(i -> new TopicPartition(topic, i.partition()))
                    .toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
            List<Event> events = new ArrayList<>();
            while (!partitions.stream().allMatch(tp -> consumer.position(tp, timeout) >= end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("could not read all of " + topic + " within " + timeout);
                }
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    if (r.offset() < end.get(new TopicPartition(topic, r.partition()))) {
                        events.add(new Event(r.partition(), parse(topic, r.value())));
                    }
                }
            }
            return events;
        }
    }

    /** Just the values. */
    static List<JsonNode> values(String bootstrap, String topic, Duration timeout) {
        return read(bootstrap, topic, timeout).stream().map(Event::value).toList();
    }

    private static JsonNode parse(String topic, String value) {
        try {
            return JSON.readTree(value);
        } catch (Exception e) {
            throw new IllegalStateException("a record on " + topic + " is not JSON: " + value, e);
        }
    }
}
