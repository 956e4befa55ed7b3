package org.meddiff.gateway.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.util.Map;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

/**
 * The gateway's settings as the application reads them (application.properties from the classpath, through SmallRye
 * Config and the {@link GatewayConfig} mapping with its defaults), with a test's overrides on top: stages can be
 * built without CDI and without a copy of any default.
 */
public final class TestSettings {
    private TestSettings() {
    }

    public static GatewayConfig gateway(Map<String, String> overrides) {
        URL shipped = TestSettings.class.getResource("/application.properties");
        try {
            SmallRyeConfig config = new SmallRyeConfigBuilder()
                    .addDefaultInterceptors()
                    .withConverter(java.time.Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter()) // "10s", as Quarkus reads it
                    .withMapping(GatewayConfig.class)
                    .withValidateUnknown(false) // gateway.diffusion.* and gateway.models.* belong to other mappings
                    .withSources(new PropertiesConfigSource(shipped, 250), new PropertiesConfigSource(overrides, "test overrides", 500))
                    .build();
            return config.getConfigMapping(GatewayConfig.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
