package org.meddiff.gateway.campaign;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** A point in (monotonic) time every wait of a campaign is bounded by. */
final class Deadline {
    private final long atNanos;

    private Deadline(long atNanos) {
        this.atNanos = atNanos;
    }

    static Deadline after(Duration d) {
        return new Deadline(System.nanoTime() + d.toNanos());
    }

    boolean expired() {
        return System.nanoTime() - atNanos >= 0;
    }

    Duration remaining() {
        return Duration.ofNanos(Math.max(0, atNanos - System.nanoTime()));
    }

    /** The earlier of this deadline and one {@code d} from now. */
    Deadline orSooner(Duration d) {
        long other = System.nanoTime() + d.toNanos();
        return new Deadline(other - atNanos < 0 ? other : atNanos);
    }

    /** Polls {@code condition} every {@code poll} until it holds (true) or the deadline passes (false). */
    boolean await(BooleanSupplier condition, Duration poll) {
        while (true) {
            if (condition.getAsBoolean()) {
                return true;
            }
            if (expired()) {
                return false;
            }
            sleep(min(poll, remaining()));
        }
    }

    /** Sleeps {@code d}, or less when the deadline comes first. */
    void sleepAtMost(Duration d) {
        sleep(min(d, remaining()));
    }

    static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** Thread.sleep whose interruption ends the campaign thread (the flag stays set for the caller to see). */
    static void sleep(Duration d) {
        try {
            Thread.sleep(Math.max(0, d.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CampaignInterrupted();
        }
    }

    /** The campaign was asked to stop (its thread interrupted). */
    static final class CampaignInterrupted extends RuntimeException {
        CampaignInterrupted() {
            super("interrupted");
        }
    }
}
