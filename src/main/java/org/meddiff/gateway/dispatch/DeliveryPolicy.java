package org.meddiff.gateway.dispatch;

import java.time.Duration;

import org.meddiff.gateway.config.GatewayConfig;

/**
 * How long a delivery keeps trying: {@code maxAttempts} attempts the destination answers without storing; a destination
 * that is down or busy waited for up to {@code giveUpAfter} from when it was first found so; backoff from
 * {@code initialBackoff} doubling up to {@code maxBackoff}.
 */
public record DeliveryPolicy(int maxAttempts, Duration giveUpAfter, Duration initialBackoff, Duration maxBackoff) {
    public static DeliveryPolicy of(GatewayConfig.Dispatch settings) {
        return new DeliveryPolicy(
                settings.maxAttempts(), settings.giveUpAfter(), settings.initialBackoff(), settings.maxBackoff());
    }

    /** The wait after {@code previous}: doubled, at most {@code maxBackoff}. */
    public Duration nextBackoff(Duration previous) {
        Duration doubled = previous.multipliedBy(2);
        return doubled.compareTo(maxBackoff) > 0 ? maxBackoff : doubled;
    }
}
