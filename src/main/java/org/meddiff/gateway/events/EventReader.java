package org.meddiff.gateway.events;

import java.util.Optional;
import java.util.function.Function;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.MeterRegistry;
import org.jboss.logging.Logger;

/**
 * How every stage reads the records of its channel: into the event record of its topic, or not at all. A record that
 * is no such event (not JSON, JSON null, a field of the wrong type, or what the stage's own check refuses: a missing
 * job id, an invalid UID) can never be processed, so it is logged with the reason, counted in
 * {@code gateway_events_unreadable_total{topic}} and skipped; it must not stop the channel.
 */
@ApplicationScoped
public class EventReader {
    private static final Logger LOG = Logger.getLogger(EventReader.class);

    private final MeterRegistry metrics;

    @Inject
    public EventReader(MeterRegistry metrics) {
        this.metrics = metrics;
    }

    public <T> Optional<T> read(String topic, String json, Class<T> type) {
        return read(topic, json, type, event -> null);
    }

    /** {@code problem} returns why a parsed event cannot be processed, or null when it can. */
    public <T> Optional<T> read(String topic, String json, Class<T> type, Function<T, String> problem) {
        T event;
        try {
            event = Events.fromJson(json, type);
        } catch (IllegalArgumentException e) {
            return skip(topic, e.getMessage());
        }
        String why = problem.apply(event);
        return why == null ? Optional.of(event) : skip(topic, why);
    }

    private <T> Optional<T> skip(String topic, String why) {
        LOG.errorf("skipping a %s record that cannot be processed: %s", topic, why.replaceAll("[^\\x20-\\x7e]", "?"));
        metrics.counter("gateway_events_unreadable_total", "topic", topic).increment();
        return Optional.empty();
    }
}
