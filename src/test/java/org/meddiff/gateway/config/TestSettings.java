package org.meddiff.gateway.config;

import java.util.Map;

/**
 * The gateway's settings as the application reads them ({@link ShippedConfig}), with a test's overrides on top:
 * stages can be built without CDI and without a copy of any default.
 */
public final class TestSettings {
    private TestSettings() {}

    public static GatewayConfig gateway(Map<String, String> overrides) {
        return ShippedConfig.load(GatewayConfig.class, overrides);
    }
}
