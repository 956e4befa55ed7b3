package org.meddiff.gateway.campaign;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;

/**
 * How far each stage's consumer group has committed on its topic: records past the committed offset are read again by
 * the next member (after a crash or a rebalance), so a lag that stays above 0 once the work is done means the next
 * restart replays them (re-announced jobs, re-sent deliveries).
 */
final class ConsumerLag {
    /** The gateway's stage groups and the topic each consumes (application.properties). */
    static final Map<String, String> STAGE_GROUPS = stageGroups();

    private ConsumerLag() {}

    private static Map<String, String> stageGroups() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("meddiff-assemble", "dicom.instance.received");
        m.put("meddiff-route", "dicom.series.ready");
        m.put("meddiff-infer", "inference.job.requested");
        m.put("meddiff-dispatch", "inference.job.completed");
        return m;
    }

    /** Group -> "uncommitted / records in the topic"; a group that never committed counts the whole topic. */
    static Map<String, String> ofStages(KafkaBrokerProcess kafka) {
        Map<String, String> out = new LinkedHashMap<>();
        try (Admin admin = kafka.admin()) {
            for (Map.Entry<String, String> e : STAGE_GROUPS.entrySet()) {
                String topic = e.getValue();
                Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(e.getKey())
                        .partitionsToOffsetAndMetadata()
                        .get(30, TimeUnit.SECONDS);
                List<TopicPartition> partitions = admin
                        .describeTopics(List.of(topic))
                        .allTopicNames()
                        .get(30, TimeUnit.SECONDS)
                        .get(topic)
                        .partitions()
                        .stream()
                        .map(p -> new TopicPartition(topic, p.partition()))
                        .toList();
                Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> end = admin.listOffsets(
                                partitions.stream().collect(Collectors.toMap(tp -> tp, tp -> OffsetSpec.latest())))
                        .all()
                        .get(30, TimeUnit.SECONDS);
                long total = 0;
                long lag = 0;
                for (TopicPartition tp : partitions) {
                    long last = end.get(tp).offset();
                    OffsetAndMetadata c = committed.get(tp);
                    total += last;
                    lag += last - (c == null ? 0 : c.offset());
                }
                out.put(e.getKey(), lag + " / " + total);
            }
        } catch (Exception e) {
            out.put("(offsets unreadable)", e.getMessage());
        }
        return out;
    }
}
