package org.meddiff.gateway.campaign;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;
import org.meddiff.gateway.it.support.Processes;

/**
 * Outage campaign, in four phases on one all-in-one gateway:
 * <ol>
 *   <li>A: series sent normally; the broker is SIGKILLed right after the last of them is acknowledged, while they
 *       still wait out their quiet period (so assembly, routing, the jobs and the deliveries of A all meet the
 *       outage);</li>
 *   <li>B: with the broker down (--broker-down), more series are sent (ingest must keep acknowledging); the broker
 *       comes back on the same data and ports; the campaign waits until A and B are delivered;</li>
 *   <li>C: the destination (storescp, one association at a time, one file per reception) goes down for --pacs-down;
 *       series sent now complete their jobs while it is down, and their deliveries retry;</li>
 *   <li>D: the destination comes back; the campaign waits (--settle) until every series is complete there, then
 *       --linger more for late duplicates.</li>
 * </ol>
 * Checks: 0 lost, everything delivered, nothing twice (no SOP instance in two received files, no source series with
 * two derived series), no partial derived series, no stuck job; and that the outages really met work in flight.
 * With --redeliver-dead-letters the campaign acts as the runbook's operator: it POSTs /api/jobs/{id}/redeliver for every
 * dead-lettered job once the destination is back (off by default: the campaign measures what the gateway does alone).
 */
public final class OutageCampaign {
    static final String SUMMARY = """
            Takes the Kafka broker down (SIGKILL, --broker-down) while series are acknowledged and processed, then the
            destination PACS (DCMTK storescp, one association at a time, a file per reception) down for --pacs-down while
            jobs complete, and brings each back. Checks: 0 acknowledged instances lost, every series delivered (one
            complete derived series) within --settle of the PACS coming back, nothing received twice, no stuck jobs.
            Everything on loopback: its own broker, gateway and storescp.""";

    public record Options(
            int series,
            int slices,
            int size,
            long seed,
            Duration brokerDown,
            Duration pacsDown,
            Duration quietPeriod,
            Duration settle,
            Duration linger,
            boolean redeliverDeadLetters,
            Duration maxTime,
            Map<String, String> gatewayProperties) {
        public static Options full(long seed) {
            return new Options(
                    6,
                    12,
                    64,
                    seed,
                    Duration.ofSeconds(60),
                    Duration.ofMinutes(10),
                    Duration.ofSeconds(10),
                    Duration.ofMinutes(5),
                    Duration.ofSeconds(30),
                    false,
                    Duration.ofMinutes(30),
                    Map.of());
        }

        public Options withOutages(Duration broker, Duration pacs) {
            return new Options(
                    series,
                    slices,
                    size,
                    seed,
                    broker,
                    pacs,
                    quietPeriod,
                    settle,
                    linger,
                    redeliverDeadLetters,
                    maxTime,
                    gatewayProperties);
        }

        public Options withSeries(int n) {
            return new Options(
                    n,
                    slices,
                    size,
                    seed,
                    brokerDown,
                    pacsDown,
                    quietPeriod,
                    settle,
                    linger,
                    redeliverDeadLetters,
                    maxTime,
                    gatewayProperties);
        }

        public Options withTiming(Duration quiet, Duration settleAfter, Duration lingerAfter, Duration max) {
            return new Options(
                    series,
                    slices,
                    size,
                    seed,
                    brokerDown,
                    pacsDown,
                    quiet,
                    settleAfter,
                    lingerAfter,
                    redeliverDeadLetters,
                    max,
                    gatewayProperties);
        }

        /** The least --max-minutes the phases can need (outages, settle, linger, plus 4 minutes of start-up and recovery). */
        Duration leastTime() {
            return brokerDown.plus(pacsDown).plus(settle).plus(linger).plus(Duration.ofMinutes(4));
        }

        int expectedDerivedInstances() {
            double spacing =
                    Double.parseDouble(gatewayProperties.getOrDefault("gateway.infer.thin-slice-spacing-mm", "1.0"));
            return (int) Math.floor((slices - 1) * 5.0 / spacing + 1e-6) + 1;
        }

        List<String> toArgs() {
            List<String> a = new ArrayList<>(List.of(
                    "--series",
                    "" + series,
                    "--slices",
                    "" + slices,
                    "--size",
                    "" + size,
                    "--seed",
                    "" + seed,
                    "--broker-down",
                    CampaignArgs.format(brokerDown),
                    "--pacs-down",
                    CampaignArgs.format(pacsDown),
                    "--quiet-period",
                    CampaignArgs.format(quietPeriod),
                    "--settle",
                    CampaignArgs.format(settle),
                    "--linger",
                    CampaignArgs.format(linger)));
            if (redeliverDeadLetters) {
                a.add("--redeliver-dead-letters");
            }
            a.addAll(List.of("--max-minutes", "" + Math.max(1, maxTime.toMinutes())));
            gatewayProperties.forEach((k, v) -> a.addAll(List.of("--gateway-property", k + "=" + v)));
            return a;
        }
    }

    private OutageCampaign() {}

    public static void main(String[] argv) {
        CampaignArgs args = CampaignCommand.withCommonOptions(
                new CampaignArgs("outage", SUMMARY)
                        .option("broker-down", "DURATION", "60s", "how long the Kafka broker stays down")
                        .option("pacs-down", "DURATION", "10m", "how long the destination PACS stays down")
                        .option(
                                "series",
                                "N",
                                "6",
                                "series in all, spread over the phases (at least 3: one before, one during each outage)")
                        .option("slices", "N", "12", "slices per series (5 mm thick)")
                        .option("size", "N", "64", "rows = columns of each slice")
                        .option("seed", "S", "random", "seed of the series UIDs (printed)")
                        .option(
                                "quiet-period",
                                "DURATION",
                                "10s",
                                "gateway.assemble.series-quiet-period (the gateway's default)")
                        .option(
                                "settle",
                                "DURATION",
                                "5m",
                                "after the PACS is back, how long everything may take to arrive")
                        .option("linger", "DURATION", "30s", "wait after everything arrived, to see late duplicates")
                        .flag(
                                "redeliver-dead-letters",
                                "act as the operator: POST /api/jobs/{id}/redeliver for each dead-lettered job once the PACS is back"),
                "30");
        System.exit(CampaignCommand.main(args, argv, a -> run(fromArgs(a))));
    }

    static Options fromArgs(CampaignArgs a) {
        String seedText = a.string("seed");
        long seed = seedText.equals("random") ? new Random().nextLong() & 0xffffffffL : a.longValue("seed");
        Options o = new Options(
                a.integer("series", 3, 300),
                a.integer("slices", 2, 500),
                a.integer("size", 16, 512),
                seed,
                a.duration("broker-down", Duration.ofSeconds(1), Duration.ofHours(2)),
                a.duration("pacs-down", Duration.ofSeconds(1), Duration.ofHours(2)),
                a.duration("quiet-period", Duration.ofMillis(500), Duration.ofMinutes(10)),
                a.duration("settle", Duration.ofSeconds(10), Duration.ofHours(2)),
                a.duration("linger", Duration.ZERO, Duration.ofHours(1)),
                a.flag("redeliver-dead-letters"),
                Duration.ofMinutes(a.integer("max-minutes", 1, 24 * 60)),
                a.keyValues("gateway-property"));
        if (o.maxTime().compareTo(o.leastTime()) < 0) {
            throw new CampaignArgs.UsageException("--max-minutes " + o.maxTime().toMinutes()
                    + " is shorter than the phases need (" + (o.leastTime().toSeconds() + 59) / 60 + " min)");
        }
        return o;
    }

    public static CampaignReport run(Options o) {
        CampaignReport report =
                new CampaignReport("outage", CampaignCommand.commandLine("outage", o.toArgs()), o.seed());
        String name =
                "outage-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT));
        Deadline deadline = Deadline.after(o.maxTime());
        long t0 = System.currentTimeMillis();
        Path work = Processes.workDir(name);
        report.file("work folder (series, received files, spool)", work);
        KafkaBrokerProcess kafka = null;
        StorescpProcess pacs = null;
        GatewayProcess gateway = null;
        List<SourceSeries> series = new ArrayList<>();
        List<ModalitySender.Delivery> deliveries = new ArrayList<>();
        Map<String, Long> phaseTimes = new LinkedHashMap<>();
        Set<String> redelivered = new HashSet<>();
        Teardown teardown = new Teardown();
        try {
            Random seeds = new Random(o.seed());
            int perPhase = o.series() / 3;
            int[] counts = {o.series() - 2 * perPhase, perPhase, perPhase};
            String[] phases = {"A (before the broker outage)", "B (broker down)", "C (PACS down)"};
            int n = 0;
            for (int p = 0; p < 3; p++) {
                for (int i = 0; i < counts[p]; i++) {
                    n++;
                    SyntheticCtSeries.Params params =
                            SyntheticCtSeries.Params.thick(o.size(), o.slices()).withSeed(seeds.nextLong());
                    SourceSeries s = SourceSeries.write(
                            "series " + n + " " + phases[p].substring(0, 1), work.resolve("series-" + n), params);
                    series.add(s);
                }
            }
            // registered before it starts: a broker that never gets ready is still stopped
            kafka = teardown.add(new KafkaBrokerProcess(name, Processes.workDir("kafka-" + name)))
                    .startProcess();
            pacs = teardown.add(new StorescpProcess(name, "STORESCP", work.resolve("received")))
                    .start();
            Map<String, String> props = new LinkedHashMap<>();
            props.put("kafka.bootstrap.servers", kafka.bootstrapServers());
            props.put("gateway.spool.dir", work.resolve("spool").toString());
            props.put("gateway.route.rules[1].enabled", "false"); // the classical task only
            props.put("gateway.dispatch.destinations", pacs.destination());
            props.put("gateway.assemble.series-quiet-period", CampaignArgs.format(o.quietPeriod()));
            props.putAll(o.gatewayProperties());
            gateway = teardown.add(new GatewayProcess(name, props));
            gateway.start().awaitReady(Duration.ofSeconds(120));
            report.file("gateway log", gateway.logFile());
            report.file("storescp log", pacs.logFile());
            report.file("kafka log", kafka.logFile());
            ModalitySender sender =
                    new ModalitySender("SCANNER", gateway.aeTitle(), gateway::dicomPort, Duration.ofSeconds(1));
            ReceivedInstances received = new ReceivedInstances(pacs.receiveDir());
            int expected = o.expectedDerivedInstances();

            // A
            for (SourceSeries s : series.subList(0, counts[0])) {
                deliveries.add(sender.send(s, deadline));
            }
            // B: broker down while A waits out its quiet period and B arrives
            kafka.kill();
            long brokerDownAt = System.currentTimeMillis();
            phaseTimes.put("broker killed", brokerDownAt);
            for (SourceSeries s : series.subList(counts[0], counts[0] + counts[1])) {
                deliveries.add(sender.send(s, deadline.orSooner(o.brokerDown())));
            }
            deadline.sleepAtMost(Duration.ofMillis(
                    Math.max(0, brokerDownAt + o.brokerDown().toMillis() - System.currentTimeMillis())));
            kafka.startProcess();
            long brokerUpAt = System.currentTimeMillis();
            phaseTimes.put("broker back", brokerUpAt);
            report.figure(
                    "instances acknowledged while the broker was down",
                    deliveries.subList(counts[0], deliveries.size()).stream()
                                    .filter(d ->
                                            d.allAcknowledgedAtMillis > 0 && d.allAcknowledgedAtMillis < brokerUpAt)
                                    .mapToInt(d -> d.acknowledged.size())
                                    .sum()
                            + " of " + counts[1] * o.slices());
            List<SourceSeries> beforePacsOutage = series.subList(0, counts[0] + counts[1]);
            boolean abDelivered = deadline.orSooner(Duration.ofMinutes(3).plus(o.quietPeriod()))
                    .await(
                            () ->
                                    DestinationAudit.audit(
                                                    beforePacsOutage, Map.of(), received.scan(), expected, Map.of())
                                            .stream()
                                            .allMatch(DestinationAudit.SeriesOutcome::complete),
                            Duration.ofSeconds(2));
            long abDeliveredAt = System.currentTimeMillis();
            report.figure(
                    "broker back -> series A and B complete in the destination",
                    abDelivered
                            ? StorescpAudit.seconds(abDeliveredAt - brokerUpAt) + " s"
                            : "not within 3 min + quiet period");
            // C: the PACS goes down; series sent now complete their jobs meanwhile
            pacs.stop();
            long pacsDownAt = System.currentTimeMillis();
            phaseTimes.put("PACS stopped", pacsDownAt);
            for (SourceSeries s : series.subList(counts[0] + counts[1], series.size())) {
                deliveries.add(sender.send(s, deadline));
            }
            deadline.sleepAtMost(
                    Duration.ofMillis(Math.max(0, pacsDownAt + o.pacsDown().toMillis() - System.currentTimeMillis())));
            pacs.start();
            long pacsUpAt = System.currentTimeMillis();
            phaseTimes.put("PACS back", pacsUpAt);
            // D
            GatewayProcess gw = gateway;
            KafkaBrokerProcess k = kafka;
            boolean all = deadline.orSooner(o.settle())
                    .await(
                            () -> {
                                if (o.redeliverDeadLetters()) {
                                    redeliverNew(gw, k, redelivered);
                                }
                                return DestinationAudit.audit(series, Map.of(), received.scan(), expected, Map.of())
                                        .stream()
                                        .allMatch(DestinationAudit.SeriesOutcome::complete);
                            },
                            Duration.ofSeconds(3));
            long allAt = System.currentTimeMillis();
            report.figure(
                    "PACS back -> every series complete in the destination",
                    all
                            ? StorescpAudit.seconds(allAt - pacsUpAt) + " s"
                            : "not within --settle " + CampaignArgs.format(o.settle()));
            if (all) {
                deadline.sleepAtMost(o.linger());
            }
            audit(
                    report,
                    o,
                    kafka,
                    pacs,
                    gateway,
                    received,
                    series,
                    deliveries,
                    brokerDownAt,
                    brokerUpAt,
                    pacsDownAt,
                    pacsUpAt,
                    counts,
                    redelivered);
        } catch (Exception e) {
            report.check("the campaign ran to its end", false, CrashCampaign.rootMessage(e));
        } finally {
            report.check(
                    "finished within --max-minutes " + o.maxTime().toMinutes(),
                    !deadline.expired(),
                    "wall time " + CampaignReport.human(Duration.ofMillis(System.currentTimeMillis() - t0)));
            report.table(
                    "Phases",
                    List.of("event", "at (s)"),
                    phaseTimes.entrySet().stream()
                            .map(e -> List.of(e.getKey(), StorescpAudit.seconds(e.getValue() - t0)))
                            .toList());
            teardown.close();
            report.finish();
        }
        return report;
    }

    /** The runbook's replay: each job with a dead letter (and not replayed yet) is POSTed to /redeliver once. */
    private static void redeliverNew(GatewayProcess gateway, KafkaBrokerProcess kafka, Set<String> done) {
        for (JsonNode dead : TopicSnapshot.values(kafka.bootstrapServers(), "pacs.store.dlq", Duration.ofSeconds(30))) {
            String job = dead.path("jobId").asText();
            if (done.add(job)) {
                GatewayProcess.HttpResult r = gateway.http("POST", "/api/jobs/" + job + "/redeliver", null);
                if (r.status() != 202) {
                    done.remove(job); // try again on the next poll
                }
            }
        }
    }

    private static void audit(
            CampaignReport report,
            Options o,
            KafkaBrokerProcess kafka,
            StorescpProcess pacs,
            GatewayProcess gateway,
            ReceivedInstances received,
            List<SourceSeries> series,
            List<ModalitySender.Delivery> deliveries,
            long brokerDownAt,
            long brokerUpAt,
            long pacsDownAt,
            long pacsUpAt,
            int[] counts,
            Set<String> redelivered) {
        StorescpAudit a =
                new StorescpAudit(kafka, gateway, pacs, received, series, deliveries, o.expectedDerivedInstances());
        // when each series of A was routed (its first job.requested), and which jobs completed while the PACS was down
        Map<String, Long> firstRequested = new LinkedHashMap<>();
        for (JsonNode e : a.requested) {
            firstRequested.merge(
                    e.path("seriesInstanceUid").asText(),
                    Instant.parse(e.path("time").asText()).toEpochMilli(),
                    Math::min);
        }
        // in flight = not yet routed when the broker went down (routed later, or never)
        long aRoutedAfterKill = series.subList(0, counts[0]).stream()
                .filter(s -> firstRequested.getOrDefault(s.seriesUid(), Long.MAX_VALUE) > brokerDownAt)
                .count();
        Set<String> completedDuringPacsOutage = new HashSet<>();
        for (JsonNode e : a.completed) {
            long t = Instant.parse(e.path("time").asText()).toEpochMilli();
            if (t > pacsDownAt && t < pacsUpAt) {
                completedDuringPacsOutage.add(e.path("jobId").asText());
            }
        }
        List<ModalitySender.Delivery> during =
                deliveries.subList(counts[0], Math.min(deliveries.size(), counts[0] + counts[1]));
        boolean bAcknowledgedDuringOutage = during.size() == counts[1]
                && during.stream().allMatch(d -> d.complete() && d.allAcknowledgedAtMillis < brokerUpAt);

        report.figure(
                "broker down / PACS down as asked (measured: kill to answering again / stop to listening again)",
                CampaignArgs.format(o.brokerDown()) + " / " + CampaignArgs.format(o.pacsDown()) + " ("
                        + StorescpAudit.seconds(brokerUpAt - brokerDownAt) + " s / "
                        + StorescpAudit.seconds(pacsUpAt - pacsDownAt) + " s)");
        report.figure("series per phase A / B / C", counts[0] + " / " + counts[1] + " / " + counts[2]);
        a.figures(report);
        report.figure("jobs completed while the PACS was down", completedDuringPacsOutage.size());
        report.figure("series A not yet routed when the broker was killed", aRoutedAfterKill + " of " + counts[0]);
        report.figure(
                "dead-lettered jobs redelivered by the campaign (operator)",
                o.redeliverDeadLetters() ? redelivered.size() : "off");

        report.check(
                "the broker outage met series in flight (A not yet routed at the kill)",
                aRoutedAfterKill == counts[0],
                aRoutedAfterKill + " of " + counts[0]
                        + " series of A had no job requested before the broker went down");
        report.check(
                "ingest kept acknowledging while the broker was down",
                bAcknowledgedDuringOutage,
                during.stream()
                                .filter(d -> d.complete() && d.allAcknowledgedAtMillis < brokerUpAt)
                                .count() + " of " + counts[1]
                        + " series of B fully acknowledged before the broker came back");
        report.check(
                "jobs completed while the PACS was down",
                !completedDuringPacsOutage.isEmpty(),
                completedDuringPacsOutage.size()
                        + " job(s) announced completion between the PACS stop and its restart");
        a.checkAcknowledgedAndLost(report);
        report.check(
                "everything delivered afterwards (one complete derived series per source series)",
                a.complete() == series.size(),
                a.complete() + " of " + series.size() + " complete in the destination; " + a.deadLettered.size()
                        + " dead letter(s)" + missing(a));
        report.check(
                "nothing received twice (no SOP instance in two files)",
                a.receivedTwice() == 0,
                a.receivedTwice() + " derived instance(s) received more than once");
        a.checkNoDuplicateOrPartial(report);
        a.checkNoStuckJobs(report);
        a.checkLogNotFlooded(report);
        a.seriesTable(report);
        a.quotes(report);
    }

    private static String missing(StorescpAudit a) {
        List<String> m = a.outcomes.stream()
                .filter(s -> !s.complete())
                .map(DestinationAudit.SeriesOutcome::label)
                .toList();
        return m.isEmpty() ? "" : "; missing: " + String.join(", ", m);
    }
}
