package org.meddiff.gateway.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.time.Duration;
import java.util.Map;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

/**
 * A config mapping as the gateway reads it: application.properties from the class path (where every default is
 * stated once) through SmallRye Config, and overrides on top. The bean-validation constraints of the mapping are
 * checked by the running gateway (Quarkus), not here: tools and tests may set values a deployment could not. Tools and tests build
 * their settings here instead of parsing the file, so they score and test exactly what a deployment runs.
 */
public final class ShippedConfig {
    private ShippedConfig() {}

    public static <T> T load(Class<T> mapping, Map<String, String> overrides) {
        URL shipped = ShippedConfig.class.getResource("/application.properties");
        if (shipped == null) {
            throw new IllegalStateException("application.properties is not on the class path");
        }
        try {
            SmallRyeConfig config = new SmallRyeConfigBuilder()
                    .addDefaultInterceptors()
                    .withConverter(Duration.class, 200, new DurationConverter()) // "10s", as Quarkus reads it
                    .withMapping(mapping)
                    .withValidateUnknown(false) // the file holds the other mappings' keys too
                    .withSources(
                            new PropertiesConfigSource(shipped, 250),
                            new PropertiesConfigSource(overrides, "overrides", 500))
                    .build();
            return config.getConfigMapping(mapping);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + shipped, e);
        }
    }
}
