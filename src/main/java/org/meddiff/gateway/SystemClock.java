package org.meddiff.gateway;

import java.time.Duration;

import jakarta.inject.Singleton;

/** The gateway's clock in a running process: the JVM's. */
@Singleton
public class SystemClock implements GatewayClock {
    @Override
    public long nanoTime() {
        return SYSTEM.nanoTime();
    }

    @Override
    public long currentTimeMillis() {
        return SYSTEM.currentTimeMillis();
    }

    @Override
    public void sleep(Duration duration) throws InterruptedException {
        SYSTEM.sleep(duration);
    }
}
