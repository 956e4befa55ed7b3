package org.meddiff.gateway.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithName;

/**
 * The broker address the gateway's own Kafka clients use (the outbox relay's producer, the topic bootstrap's admin
 * client): the same {@code kafka.bootstrap.servers} the SmallRye Kafka connector reads, so one key points every client
 * of the process at one broker.
 */
@ConfigMapping(prefix = "kafka")
public interface KafkaClientConfig {
    @WithName("bootstrap.servers")
    String bootstrapServers();
}
