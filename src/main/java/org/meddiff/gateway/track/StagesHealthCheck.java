package org.meddiff.gateway.track;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** {@code stages} in /q/health/ready: DOWN while a stage of this process cannot make progress ({@link StageProgress}). */
@ApplicationScoped
@Readiness
public class StagesHealthCheck implements HealthCheck {
    @Inject
    StageProgress progress;

    @Override
    public HealthCheckResponse call() {
        return progress.health();
    }
}
