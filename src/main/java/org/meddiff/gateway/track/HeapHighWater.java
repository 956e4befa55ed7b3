package org.meddiff.gateway.track;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;

/**
 * {@code gateway_heap_high_water_bytes}: the most heap in use at any moment since the start (the sum of every heap
 * pool's peak), where the heap gauge only shows the present. What an operator sizes -Xmx by, and what the ingest
 * benchmark reports with many associations at once.
 */
@ApplicationScoped
public class HeapHighWater {
    void register(@Observes StartupEvent event, MeterRegistry metrics) {
        Gauge.builder("gateway_heap_high_water_bytes", HeapHighWater::bytes)
                .description("heap in use at its highest since the start (sum of the heap pools' peaks)")
                .register(metrics);
    }

    static double bytes() {
        long sum = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
                sum += pool.getPeakUsage().getUsed();
            }
        }
        return sum;
    }
}
