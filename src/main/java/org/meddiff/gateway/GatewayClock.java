package org.meddiff.gateway;

import java.time.Duration;

/**
 * Time where the stages' logic depends on it (a series' quiet period, a delivery's backoff and give-up-after): injected,
 * so tests run hours of waiting in no time and deterministically. Elapsed time from {@link #nanoTime()}, wall-clock time
 * (file ages) from {@link #currentTimeMillis()}. The bean is {@link SystemClock}.
 */
public interface GatewayClock {
    GatewayClock SYSTEM = new GatewayClock() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public long currentTimeMillis() {
            return System.currentTimeMillis();
        }

        @Override
        public void sleep(Duration duration) throws InterruptedException {
            Thread.sleep(duration);
        }
    };

    long nanoTime();

    long currentTimeMillis();

    void sleep(Duration duration) throws InterruptedException;
}
