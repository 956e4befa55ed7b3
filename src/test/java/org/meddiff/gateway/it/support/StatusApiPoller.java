package org.meddiff.gateway.it.support;

import java.time.Duration;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/** Polls the gateway's status API as an operator would, until a job of a study looks as expected. */
public final class StatusApiPoller {
    private StatusApiPoller() {}

    /** The first job (of any series of the study) matching {@code condition}; fails with the last answer seen. */
    public static JsonNode awaitJob(
            GatewayProcess gateway, String study, Predicate<JsonNode> condition, Duration timeout) {
        JsonNode[] found = new JsonNode[1];
        String[] last = new String[1];
        try {
            Awaitility.await()
                    .atMost(timeout)
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> {
                        GatewayProcess.HttpResult r = gateway.http("/api/studies/" + study);
                        last[0] = r.status() + " " + r.body();
                        if (r.status() != 200) {
                            return false;
                        }
                        for (JsonNode series : r.json().path("series")) {
                            for (JsonNode j : series.path("jobs")) {
                                if (condition.test(j)) {
                                    found[0] = j;
                                    return true;
                                }
                            }
                        }
                        return false;
                    });
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("status of study " + study + " never matched; last answer: " + last[0], e);
        }
        return found[0];
    }

    /** True when the job's delivery to {@code destination} is done. */
    public static boolean deliveredTo(JsonNode job, String destination) {
        return "DELIVERED"
                .equals(job.path("dispatch").path(destination).path("state").asText());
    }

    /** Closes each of them, in order, ignoring failures (test teardown). */
    public static void closeAll(AutoCloseable... resources) {
        for (AutoCloseable c : resources) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception ignored) {
                // best effort: the next one must still be closed
            }
        }
    }
}
