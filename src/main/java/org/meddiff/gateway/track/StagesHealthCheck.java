package org.meddiff.gateway.track;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.health.api.HealthGroup;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;

/**
 * {@code stages} in {@code /q/health/group/stages} (and the gauge {@code gateway_stages_stalled}): DOWN while a stage
 * of this process cannot make progress ({@link StageProgress}). Deliberately not a readiness check: a stalled dispatch
 * must not take the DICOM listener off the network, and a full spool already answers senders with 0xA700.
 */
@ApplicationScoped
@HealthGroup("stages")
public class StagesHealthCheck implements HealthCheck {
    @Inject
    StageProgress progress;

    @Inject
    MeterRegistry metrics;

    void start(@Observes StartupEvent event) {
        Gauge.builder("gateway_stages_stalled", progress, p -> p.stalls().size())
                .description(
                        "durable writes a stage is retrying with its Kafka record held (0 = every stage progresses)")
                .register(metrics);
    }

    @Override
    public HealthCheckResponse call() {
        return progress.health();
    }
}
