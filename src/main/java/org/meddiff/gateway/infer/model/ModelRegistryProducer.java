package org.meddiff.gateway.infer.model;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** Makes one {@link ModelRegistry} (from {@link ModelConfig}) available for injection; closed at shutdown. */
@ApplicationScoped
public class ModelRegistryProducer {

    @Produces
    @Singleton
    ModelRegistry registry(ModelConfig config) {
        return ModelRegistry.fromConfig(config);
    }

    void close(@Disposes ModelRegistry registry) {
        registry.close();
    }
}
