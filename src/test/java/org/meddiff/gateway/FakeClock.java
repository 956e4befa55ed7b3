package org.meddiff.gateway;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A clock that only moves when told to, or when something sleeps on it: hours of waiting in no time. */
public final class FakeClock implements GatewayClock {
    private long nanos = 1_000_000_000L;
    private long millis = 1_800_000_000_000L;
    private final List<Duration> sleeps = new ArrayList<>();

    @Override
    public synchronized long nanoTime() {
        return nanos;
    }

    @Override
    public synchronized long currentTimeMillis() {
        return millis;
    }

    @Override
    public synchronized void sleep(Duration duration) throws InterruptedException {
        if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedException();
        }
        sleeps.add(duration);
        advance(duration);
    }

    public synchronized void advance(Duration d) {
        nanos += d.toNanos();
        millis += d.toMillis();
    }

    /** Every sleep so far, in order. */
    public synchronized List<Duration> sleeps() {
        return List.copyOf(sleeps);
    }
}
