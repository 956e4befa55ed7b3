package org.meddiff.gateway.campaign;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Per source series, what the destination folder holds of the gateway's derived series, from the received files alone
 * (and, to explain a short series, the job events):
 * <ul>
 *   <li><b>complete</b>: a derived series whose distinct SOP instances number the full expected count; its completion
 *       time is when the last of those instances first arrived, measured against the sender's last acknowledgment;</li>
 *   <li><b>duplicate</b>: more than one distinct derived SeriesInstanceUID for one source series (the PACS shows two
 *       derived series: with one routed task there must be one);</li>
 *   <li><b>partial</b>: a derived series with fewer instances than expected, either because its delivery stopped short
 *       ({@code partiallyDelivered}: fewer than its job announced) or because its job ran on an incomplete generation
 *       of the source ({@code fromIncompleteSource});</li>
 *   <li><b>received twice</b>: a SOP instance that arrived in more than one file.</li>
 * </ul>
 */
final class DestinationAudit {
    record SeriesOutcome(
            String label,
            String sourceSeriesUid,
            int derivedSeries,
            String completeDerivedSeriesUid,
            Long completeAtMillis,
            Long latencyMillis,
            int partiallyDelivered,
            int fromIncompleteSource,
            int instancesReceivedTwice,
            int receptions) {
        boolean complete() {
            return completeDerivedSeriesUid != null;
        }
    }

    /** What the gateway's events say of each derived series: its job and how many instances the job wrote. */
    record DerivedJob(String jobId, String sourceSeriesUid, int instanceCount) {}

    private DestinationAudit() {}

    /** Maps derived SeriesInstanceUID -> its job, from inference.job.completed events. */
    static Map<String, DerivedJob> jobsByDerivedSeries(List<JsonNode> jobCompleted) {
        Map<String, DerivedJob> out = new HashMap<>();
        for (JsonNode e : jobCompleted) {
            out.putIfAbsent(
                    e.path("derivedSeriesInstanceUid").asText(),
                    new DerivedJob(
                            e.path("jobId").asText(),
                            e.path("seriesInstanceUid").asText(),
                            e.path("instanceCount").asInt()));
        }
        return out;
    }

    /**
     * @param lastAcknowledgedAtMillis per source series UID, when its last instance was acknowledged (0 or absent: never)
     */
    static List<SeriesOutcome> audit(
            List<SourceSeries> sources,
            Map<String, Long> lastAcknowledgedAtMillis,
            List<ReceivedInstances.Reception> receptions,
            int expectedDerivedInstances,
            Map<String, DerivedJob> jobs) {
        Map<String, List<ReceivedInstances.Reception>> bySource = receptions.stream()
                .filter(r -> r.sourceSeriesUid() != null)
                .collect(Collectors.groupingBy(ReceivedInstances.Reception::sourceSeriesUid));
        List<SeriesOutcome> out = new ArrayList<>();
        for (SourceSeries s : sources) {
            List<ReceivedInstances.Reception> mine = bySource.getOrDefault(s.seriesUid(), List.of());
            // derived series UID -> SOP instance UID -> first reception time
            Map<String, Map<String, Long>> firstArrival = new TreeMap<>();
            Map<String, Integer> receptionsPerSop = new HashMap<>();
            for (ReceivedInstances.Reception r : mine) {
                firstArrival
                        .computeIfAbsent(r.seriesInstanceUid(), k -> new HashMap<>())
                        .merge(r.sopInstanceUid(), r.receivedAtMillis(), Math::min);
                receptionsPerSop.merge(r.sopInstanceUid(), 1, Integer::sum);
            }
            String complete = null;
            Long completeAt = null;
            int partiallyDelivered = 0;
            int fromIncompleteSource = 0;
            for (Map.Entry<String, Map<String, Long>> e : firstArrival.entrySet()) {
                int distinct = e.getValue().size();
                if (distinct >= expectedDerivedInstances) {
                    long at = e.getValue().values().stream()
                            .max(Comparator.naturalOrder())
                            .orElseThrow();
                    if (completeAt == null || at < completeAt) {
                        complete = e.getKey();
                        completeAt = at;
                    }
                } else {
                    DerivedJob job = jobs.get(e.getKey());
                    if (job != null && job.instanceCount() < expectedDerivedInstances) {
                        fromIncompleteSource++;
                    } else {
                        partiallyDelivered++;
                    }
                }
            }
            Long lastAck = lastAcknowledgedAtMillis.get(s.seriesUid());
            Long latency = completeAt != null && lastAck != null && lastAck > 0 ? completeAt - lastAck : null;
            int twice =
                    (int) receptionsPerSop.values().stream().filter(n -> n > 1).count();
            out.add(new SeriesOutcome(
                    s.label(),
                    s.seriesUid(),
                    firstArrival.size(),
                    complete,
                    completeAt,
                    latency,
                    partiallyDelivered,
                    fromIncompleteSource,
                    twice,
                    mine.size()));
        }
        return out;
    }

    /** Received files that name no source series of the campaign (foreign or unreadable as derived data). */
    static long foreign(List<SourceSeries> sources, List<ReceivedInstances.Reception> receptions) {
        Set<String> known = sources.stream().map(SourceSeries::seriesUid).collect(Collectors.toSet());
        return receptions.stream()
                .filter(r -> r.sourceSeriesUid() == null || !known.contains(r.sourceSeriesUid()))
                .count();
    }

    /** min / median / max of non-null values, in seconds, for a figure ("-" when none). */
    static String secondsSummary(List<Long> millis) {
        List<Long> v = millis.stream().filter(Objects::nonNull).sorted().toList();
        if (v.isEmpty()) {
            return "-";
        }
        return String.format(
                Locale.ROOT,
                "median %.1f s, max %.1f s (min %.1f s)",
                median(v) / 1000.0,
                v.get(v.size() - 1) / 1000.0,
                v.get(0) / 1000.0);
    }

    static double median(List<Long> sorted) {
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2.0;
    }

    /** Counts per value, e.g. job states -> how many. */
    static Map<String, Integer> histogram(List<String> values) {
        Map<String, Integer> m = new LinkedHashMap<>();
        values.forEach(v -> m.merge(v, 1, Integer::sum));
        return m;
    }
}
