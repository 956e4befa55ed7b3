package org.meddiff.gateway.campaign;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.Processes;

/** What the gateway itself shows at the end of a campaign: its spool, its events, its status API, its log. */
final class GatewayEvidence {
    private GatewayEvidence() {}

    /** Acknowledged instances the gateway does not have: missing from the spool, or never announced on Kafka. */
    record Losses(int acknowledged, List<String> notInSpool, List<String> notAnnounced) {
        int lost() {
            Set<String> u = new HashSet<>(notInSpool);
            u.addAll(notAnnounced);
            return u.size();
        }

        String detail() {
            return acknowledged + " acknowledged; not in the spool: " + notInSpool.size()
                    + ", never on dicom.instance.received: " + notAnnounced.size()
                    + (lost() == 0 ? "" : " (first: " + first(notInSpool, notAnnounced) + ")");
        }

        private static String first(List<String> a, List<String> b) {
            return !a.isEmpty() ? a.get(0) : b.get(0);
        }
    }

    static Losses losses(
            Collection<ModalitySender.Delivery> deliveries, Path spoolDir, List<JsonNode> instanceReceived) {
        Set<String> announced = new HashSet<>();
        instanceReceived.forEach(e -> announced.add(e.path("sopInstanceUid").asText()));
        int acknowledged = 0;
        List<String> notInSpool = new ArrayList<>();
        List<String> notAnnounced = new ArrayList<>();
        for (ModalitySender.Delivery d : deliveries) {
            for (String sop : d.acknowledged) {
                acknowledged++;
                if (!Files.isRegularFile(d.series.spoolFile(spoolDir, sop))) {
                    notInSpool.add(sop);
                }
                if (!announced.contains(sop)) {
                    notAnnounced.add(sop);
                }
            }
        }
        return new Losses(acknowledged, notInSpool, notAnnounced);
    }

    /**
     * The jobs of some studies as the status API shows them; {@code stuck} are jobs still REQUESTED or RUNNING,
     * {@code notReady} source series whose instances were received but never announced ready with all of them (a
     * stalled assemble stage leaves no job to be stuck).
     */
    record Jobs(boolean answered, List<JsonNode> jobs, List<String> stuck, List<String> notReady, String error) {
        Map<String, Integer> byState() {
            return DestinationAudit.histogram(
                    jobs.stream().map(j -> j.path("state").asText()).toList());
        }

        /** Delivery state at {@code destination} -> how many jobs. */
        Map<String, Integer> deliveries(String destination) {
            return DestinationAudit.histogram(jobs.stream()
                    .map(j -> j.path("dispatch").path(destination).path("state").asText("NONE"))
                    .toList());
        }
    }

    /**
     * Jobs of {@code studies}; a job still REQUESTED or RUNNING is stuck. The status view folds every topic from the
     * beginning after a restart, so it gets {@code grace} to show no stuck job before they are counted.
     */
    static Jobs jobs(GatewayProcess gateway, Collection<String> studies, Duration grace) {
        Deadline deadline = Deadline.after(grace);
        Jobs last;
        do {
            last = jobsOnce(gateway, studies);
            if (last.answered() && last.stuck().isEmpty() && last.notReady().isEmpty()) {
                return last;
            }
            deadline.sleepAtMost(Duration.ofSeconds(2));
        } while (!deadline.expired());
        return last;
    }

    private static Jobs jobsOnce(GatewayProcess gateway, Collection<String> studies) {
        List<JsonNode> jobs = new ArrayList<>();
        List<String> stuck = new ArrayList<>();
        List<String> notReady = new ArrayList<>();
        try {
            for (String study : studies) {
                GatewayProcess.HttpResult r = gateway.http("/api/studies/" + study);
                if (r.status() != 200) {
                    return new Jobs(
                            false,
                            List.of(),
                            List.of(),
                            List.of(),
                            "GET /api/studies/" + study + " -> " + r.status() + " " + r.body());
                }
                for (JsonNode series : r.json().path("series")) {
                    int received = series.path("instancesReceived").asInt();
                    if (!series.path("derivedByGateway").asBoolean()
                            && received > 0
                            && series.path("readyInstanceCount").asInt(0) < received) {
                        notReady.add(series.path("seriesInstanceUid").asText() + " (" + received
                                + " received, ready with "
                                + (series.path("readyInstanceCount").isNumber()
                                        ? series.path("readyInstanceCount").asInt()
                                        : "none")
                                + ")");
                    }
                    for (JsonNode j : series.path("jobs")) {
                        jobs.add(j);
                        String state = j.path("state").asText();
                        if (state.equals("REQUESTED") || state.equals("RUNNING")) {
                            stuck.add(j.path("jobId").asText() + " " + state + " (series "
                                    + series.path("seriesInstanceUid").asText() + ")");
                        }
                    }
                }
            }
        } catch (RuntimeException e) {
            return new Jobs(false, List.of(), List.of(), List.of(), "status API unreachable: " + e.getMessage());
        }
        return new Jobs(true, jobs, stuck, notReady, null);
    }

    /** How many lines of {@code log} contain each needle. */
    static Map<String, Integer> countLines(Path log, List<String> needles) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        needles.forEach(n -> counts.put(n, 0));
        Processes.read(log).lines().forEach(line -> {
            for (String n : needles) {
                if (line.contains(n)) {
                    counts.merge(n, 1, Integer::sum);
                }
            }
        });
        return counts;
    }

    /** The first {@code n} lines of {@code log} containing {@code needle}, prefixed with the log's name. */
    static List<String> firstLines(Path log, String needle, int n) {
        String name = log.getFileName().toString();
        return Processes.read(log)
                .lines()
                .filter(l -> l.contains(needle))
                .limit(n)
                .map(l -> name + ": " + l.strip())
                .toList();
    }
}
