package org.meddiff.gateway.track;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;

/**
 * {@code abandoned-work} in {@code /q/health/live}: DOWN once a job's thread ran on past its time limit and would not
 * stop (a native call that ignores interrupts): it still holds memory and the accelerator, and only a restart frees
 * them, which is what Kubernetes does on a failed liveness probe. Its job was tried again meanwhile.
 */
@ApplicationScoped
@Liveness
public class AbandonedWorkCheck implements HealthCheck {
    @Inject
    StageProgress progress;

    @Override
    public HealthCheckResponse call() {
        return progress.liveness();
    }
}
