package org.meddiff.gateway.events;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.jboss.logging.Logger;
import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.config.KafkaClientConfig;

/** Creates the topics of kafka/topics.json that are missing (partitions, retention, cleanup policy). */
@ApplicationScoped
public class TopicBootstrap {
    private static final Logger LOG = Logger.getLogger(TopicBootstrap.class);

    @Inject
    KafkaClientConfig kafka;

    @Inject
    GatewayConfig config;

    /** Tries until the broker answers once; returns quietly if topic creation is switched off. */
    void ensureTopics() {
        if (!config.kafka().createTopics()) {
            return;
        }
        List<NewTopic> wanted = declaredTopics();
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        boolean warned = false;
        while (!Thread.currentThread().isInterrupted()) {
            try (Admin admin = Admin.create(p)) {
                Set<String> existing = admin.listTopics().names().get(10, TimeUnit.SECONDS);
                List<NewTopic> missing = wanted.stream()
                        .filter(t -> !existing.contains(t.name()))
                        .toList();
                if (!missing.isEmpty()) {
                    admin.createTopics(missing).all().get(15, TimeUnit.SECONDS);
                    LOG.infof(
                            "created Kafka topics %s",
                            missing.stream().map(NewTopic::name).toList());
                }
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                if (e.getCause() instanceof TopicExistsException) {
                    return; // another gateway node created them meanwhile
                }
                if (!warned) {
                    LOG.warnf(
                            "Kafka at %s not reachable yet (%s); topics will be created when it is",
                            kafka.bootstrapServers(), e.getMessage());
                    warned = true;
                }
                try {
                    Thread.sleep(2000);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    List<NewTopic> declaredTopics() {
        try (InputStream in = getClass().getResourceAsStream("/kafka/topics.json")) {
            JsonNode root = Events.JSON.readTree(in);
            List<NewTopic> topics = new ArrayList<>();
            for (JsonNode t : root.get("topics")) {
                Map<String, String> configs = new HashMap<>();
                configs.put("retention.ms", t.get("retentionMs").asText());
                configs.put("cleanup.policy", t.get("cleanupPolicy").asText());
                topics.add(new NewTopic(
                                t.get("name").asText(),
                                t.get("partitions").asInt(),
                                config.kafka().replicationFactor())
                        .configs(configs));
            }
            return topics;
        } catch (Exception e) {
            throw new IllegalStateException("kafka/topics.json missing from the classpath or invalid", e);
        }
    }
}
