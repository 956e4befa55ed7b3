package org.meddiff.gateway.events;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;
import org.meddiff.gateway.config.KafkaClientConfig;

/**
 * Moves outbox entries to Kafka: batches of sends, each entry deleted only after the broker acknowledged
 * it (acks=all, idempotent producer). While the broker is unreachable it keeps retrying; nothing is lost.
 */
@ApplicationScoped
public class OutboxRelay {
    private static final Logger LOG = Logger.getLogger(OutboxRelay.class);

    @Inject
    Outbox outbox;

    @Inject
    TopicBootstrap topics;

    @Inject
    MeterRegistry metrics;

    @Inject
    KafkaClientConfig kafka;

    private volatile boolean running;
    private Thread thread;
    private KafkaProducer<String, String> producer;

    void start(@Observes StartupEvent event) {
        // open the outbox now, not lazily in the relay thread: an outbox another process holds must stop start-up
        outbox.size();
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "2");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "5000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
        p.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "2000");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "meddiff-outbox-relay");
        producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
        metrics.gauge("gateway_outbox_pending", outbox, Outbox::size);
        running = true;
        thread = Thread.ofPlatform().name("outbox-relay").daemon(true).start(this::loop);
    }

    void stop(@Observes ShutdownEvent event) {
        running = false;
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
    }

    private void loop() {
        topics.ensureTopics();
        long backoff = 500;
        boolean reportedOutage = false;
        while (running) {
            List<Outbox.Entry> batch;
            try {
                batch = outbox.take(500, 1000);
            } catch (InterruptedException e) {
                return;
            }
            if (batch.isEmpty()) {
                continue;
            }
            List<Outbox.Entry> failed = send(batch);
            if (failed.isEmpty()) {
                if (reportedOutage) {
                    LOG.infof("Kafka reachable again at %s; outbox draining", kafka.bootstrapServers());
                    reportedOutage = false;
                }
                backoff = 500;
                continue;
            }
            outbox.requeue(failed);
            if (!reportedOutage) {
                LOG.warnf(
                        "Kafka not accepting events at %s; %d event(s) kept in the outbox, retrying",
                        kafka.bootstrapServers(), outbox.size());
                reportedOutage = true;
            }
            try {
                Thread.sleep(backoff);
            } catch (InterruptedException e) {
                return;
            }
            backoff = Math.min(backoff * 2, 5000);
        }
    }

    private List<Outbox.Entry> send(List<Outbox.Entry> batch) {
        List<Future<RecordMetadata>> futures = new ArrayList<>(batch.size());
        List<Outbox.Entry> failed = new ArrayList<>();
        boolean blocked = false;
        for (Outbox.Entry e : batch) {
            if (blocked) {
                futures.add(null); // the broker is unreachable: don't wait max.block.ms once per entry
                continue;
            }
            try {
                futures.add(producer.send(new ProducerRecord<>(e.topic(), e.key(), e.value())));
            } catch (RuntimeException ex) {
                LOG.debugf("send blocked: %s", ex.getMessage());
                futures.add(null);
                blocked = true;
            }
        }
        for (int i = 0; i < batch.size(); i++) {
            Outbox.Entry e = batch.get(i);
            Future<RecordMetadata> f = futures.get(i);
            try {
                if (f == null) {
                    failed.add(e);
                    continue;
                }
                f.get(35, TimeUnit.SECONDS);
                outbox.acknowledge(e);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                failed.add(e);
            } catch (Exception ex) {
                LOG.debugf("send of %s failed: %s", e.file().getFileName(), ex.getMessage());
                failed.add(e);
            }
        }
        return failed;
    }
}
