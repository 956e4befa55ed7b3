package org.meddiff.gateway.campaign;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;

/**
 * The end-of-run audit the crash and outage campaigns share (one all-in-one gateway, storescp as the destination):
 * the topics, the received files, the spool and the status API, read once, and the figures and checks both report.
 */
final class StorescpAudit {
    /** Vert.x's warning, with a stack trace every 2 s, for a worker thread busy over its limit (a stage that waits). */
    static final String BLOCKED_THREAD = "has been blocked for";
    /** Gateway log lines worth counting after a run (dispatch trouble, recovery, failures). */
    static final List<String> LOG_NEEDLES = List.of(
            "Read timed out",
            "unreachable (attempt",
            "refused by",
            "giving up on",
            "already completed: announcing",
            "recovered series",
            "reopened by a late instance",
            "crashed",
            "failed:",
            "Error caught while processing",
            "A failure has been reported",
            BLOCKED_THREAD);
    /** Of those, the ones quoted (first two lines each) in the report. */
    static final List<String> QUOTED = List.of(
            "Read timed out",
            "unreachable (attempt",
            "giving up on",
            "crashed",
            "failed:",
            "Error caught while processing",
            "A failure has been reported",
            BLOCKED_THREAD);

    final List<SourceSeries> series;
    final List<ModalitySender.Delivery> deliveries;
    final int expectedDerivedInstances;
    final String destination;
    final List<JsonNode> requested;
    final List<JsonNode> completed;
    final List<JsonNode> failed;
    final List<JsonNode> stored;
    final List<JsonNode> deadLettered;
    final List<ReceivedInstances.Reception> receptions;
    final int unreadableFiles;
    final List<DestinationAudit.SeriesOutcome> outcomes;
    final GatewayEvidence.Losses losses;
    final GatewayEvidence.Jobs jobs;
    final Map<String, Integer> logCounts;
    final GatewayProcess gateway;
    final Map<String, String> lag;

    StorescpAudit(
            KafkaBrokerProcess kafka,
            GatewayProcess gateway,
            StorescpProcess pacs,
            ReceivedInstances received,
            List<SourceSeries> series,
            List<ModalitySender.Delivery> deliveries,
            int expectedDerivedInstances) {
        Duration read = Duration.ofSeconds(60);
        String bootstrap = kafka.bootstrapServers();
        this.series = List.copyOf(series);
        this.deliveries = List.copyOf(deliveries);
        this.expectedDerivedInstances = expectedDerivedInstances;
        this.destination = pacs.destination();
        this.gateway = gateway;
        List<JsonNode> instanceEvents = TopicSnapshot.values(bootstrap, "dicom.instance.received", read);
        requested = TopicSnapshot.values(bootstrap, "inference.job.requested", read);
        completed = TopicSnapshot.values(bootstrap, "inference.job.completed", read);
        failed = TopicSnapshot.values(bootstrap, "inference.job.failed", read);
        stored = TopicSnapshot.values(bootstrap, "pacs.store.completed", read);
        deadLettered = TopicSnapshot.values(bootstrap, "pacs.store.dlq", read);
        receptions = received.scan();
        unreadableFiles = received.unreadable().size();
        outcomes = DestinationAudit.audit(
                series,
                lastAcknowledged(deliveries),
                receptions,
                expectedDerivedInstances,
                DestinationAudit.jobsByDerivedSeries(completed));
        losses = GatewayEvidence.losses(deliveries, gateway.spoolDir(), instanceEvents);
        jobs = GatewayEvidence.jobs(
                gateway, series.stream().map(SourceSeries::studyUid).toList(), Duration.ofSeconds(30));
        logCounts = GatewayEvidence.countLines(gateway.logFile(), LOG_NEEDLES);
        lag = ConsumerLag.ofStages(kafka);
    }

    static Map<String, Long> lastAcknowledged(List<ModalitySender.Delivery> deliveries) {
        Map<String, Long> m = new HashMap<>();
        deliveries.forEach(d -> m.put(d.series.seriesUid(), d.allAcknowledgedAtMillis));
        return m;
    }

    long fullyAcknowledged() {
        return deliveries.stream().filter(ModalitySender.Delivery::complete).count();
    }

    long complete() {
        return outcomes.stream()
                .filter(DestinationAudit.SeriesOutcome::complete)
                .count();
    }

    long withDuplicateDerivedSeries() {
        return outcomes.stream().filter(s -> s.derivedSeries() > 1).count();
    }

    int partiallyDelivered() {
        return outcomes.stream()
                .mapToInt(DestinationAudit.SeriesOutcome::partiallyDelivered)
                .sum();
    }

    int fromIncompleteSource() {
        return outcomes.stream()
                .mapToInt(DestinationAudit.SeriesOutcome::fromIncompleteSource)
                .sum();
    }

    int receivedTwice() {
        return outcomes.stream()
                .mapToInt(DestinationAudit.SeriesOutcome::instancesReceivedTwice)
                .sum();
    }

    static long distinctJobs(List<JsonNode> events) {
        return events.stream().map(e -> e.path("jobId").asText()).distinct().count();
    }

    /** The figures both campaigns report, in one order. */
    void figures(CampaignReport report) {
        report.figure(
                "series sent (fully acknowledged) / planned",
                deliveries.size() + " (" + fullyAcknowledged() + ") / " + series.size());
        report.figure(
                "instances in the series sent",
                deliveries.stream().mapToInt(d -> d.series.size()).sum());
        report.figure("acknowledged instances", losses.acknowledged());
        report.figure(
                "storescu associations (of which ended short)",
                deliveries.stream().mapToInt(d -> d.attempts.get()).sum() + " ("
                        + deliveries.stream()
                                .mapToInt(d -> d.failedAttempts.get())
                                .sum() + ")");
        report.figure("lost (acknowledged, not in spool or never announced)", losses.lost());
        report.figure("series with a complete derived series in the destination", complete() + " / " + series.size());
        report.figure(
                "last acknowledged instance -> complete derived series",
                DestinationAudit.secondsSummary(outcomes.stream()
                        .map(DestinationAudit.SeriesOutcome::latencyMillis)
                        .toList()));
        report.figure("source series with more than one derived series", withDuplicateDerivedSeries());
        report.figure("partial derived series: delivery stopped short", partiallyDelivered());
        report.figure("partial derived series: job on an incomplete generation", fromIncompleteSource());
        report.figure("derived instances received more than once (same SOP instance UID)", receivedTwice());
        report.figure(
                "files received by storescp (distinct SOP instances; unreadable)",
                receptions.size() + " ("
                        + receptions.stream()
                                .map(ReceivedInstances.Reception::sopInstanceUid)
                                .distinct()
                                .count() + "; " + unreadableFiles + ")");
        report.figure("expected derived instances per series", expectedDerivedInstances);
        report.figure(
                "inference.job.requested events (distinct jobs)",
                requested.size() + " (" + distinctJobs(requested) + ")");
        report.figure(
                "inference.job.completed events (distinct jobs)",
                completed.size() + " (" + distinctJobs(completed) + ")");
        report.figure("inference.job.failed events", failed.size());
        report.figure(
                "pacs.store.completed events / pacs.store.dlq events", stored.size() + " / " + deadLettered.size());
        report.figure(
                "jobs by state (status API)", jobs.answered() ? jobs.byState().toString() : jobs.error());
        report.figure(
                "deliveries by state (status API)",
                jobs.answered() ? jobs.deliveries(destination).toString() : "-");
        report.figure(
                "stuck jobs (REQUESTED/RUNNING at the end)",
                jobs.answered() ? jobs.stuck().size() : -1);
        report.figure(
                "source series received but not ready with all their instances at the end",
                jobs.answered() ? jobs.notReady().size() : -1);
        logCounts.forEach((needle, n) -> report.figure("gateway log lines with \"" + needle + "\"", n));
        report.figure("uncommitted records per stage group at the end (lag / records)", lag.toString());
    }

    void checkAcknowledgedAndLost(CampaignReport report) {
        report.check(
                "every series sent and fully acknowledged",
                fullyAcknowledged() == series.size(),
                fullyAcknowledged() + " of " + series.size());
        report.check("0 acknowledged instances lost", losses.lost() == 0, losses.detail());
    }

    void checkNoDuplicateOrPartial(CampaignReport report) {
        report.check(
                "no source series with two derived series",
                withDuplicateDerivedSeries() == 0,
                withDuplicateDerivedSeries() + " source series");
        report.check(
                "no partial derived series",
                partiallyDelivered() + fromIncompleteSource() == 0,
                partiallyDelivered() + " delivered short, " + fromIncompleteSource()
                        + " from an incomplete source generation");
    }

    void checkNoStuckJobs(CampaignReport report) {
        report.check(
                "no stuck jobs",
                jobs.answered() && jobs.stuck().isEmpty(),
                jobs.answered() ? jobs.stuck().toString() : jobs.error());
        report.check(
                "no stuck series (every source series ready with all its instances)",
                jobs.answered() && jobs.notReady().isEmpty(),
                jobs.answered() ? jobs.notReady().size() + " " + jobs.notReady() : jobs.error());
    }

    /**
     * A stage that waits (a PACS down, a full disk) logs when its reason changes, not on every retry: a log that fills
     * with the same warning hides what an operator must see, and fills the disk the spool is on.
     */
    void checkLogNotFlooded(CampaignReport report) {
        int blocked = logCounts.getOrDefault(BLOCKED_THREAD, 0);
        report.check(
                "no repeated warnings while stages wait (Vert.x blocked-thread warnings)",
                blocked == 0,
                blocked + " \"" + BLOCKED_THREAD + "\" line(s)");
    }

    void seriesTable(CampaignReport report) {
        Map<String, ModalitySender.Delivery> bySeries = new HashMap<>();
        deliveries.forEach(d -> bySeries.put(d.series.seriesUid(), d));
        report.table(
                "Series",
                List.of(
                        "series",
                        "acknowledged",
                        "storescu runs",
                        "derived series received",
                        "complete after (s)",
                        "partial",
                        "received twice"),
                outcomes.stream()
                        .map(s -> {
                            ModalitySender.Delivery d = bySeries.get(s.sourceSeriesUid());
                            return List.of(
                                    s.label(),
                                    d == null ? "not sent" : d.acknowledged.size() + "/" + d.series.size(),
                                    d == null ? "0" : "" + d.attempts.get(),
                                    "" + s.derivedSeries(),
                                    s.latencyMillis() == null ? "never" : seconds(s.latencyMillis()),
                                    "" + (s.partiallyDelivered() + s.fromIncompleteSource()),
                                    "" + s.instancesReceivedTwice());
                        })
                        .toList());
    }

    void quotes(CampaignReport report) {
        for (String needle : QUOTED) {
            GatewayEvidence.firstLines(gateway.logFile(), needle, 2).forEach(report::quote);
        }
    }

    static String seconds(long millis) {
        return String.format(Locale.ROOT, "%.1f", millis / 1000.0);
    }
}
