package org.meddiff.gateway.campaign;

import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;
import org.meddiff.gateway.it.support.Processes;

/**
 * Crash campaign: N SIGKILLs of the gateway JVM at random (seeded) moments while thick-slice series arrive, are
 * processed and are dispatched; each kill is followed by a restart. A modality thread sends the series one after
 * another and re-sends whatever was not acknowledged; the destination is DCMTK storescp serving one association at a
 * time. At the end it reports what was acknowledged, what of that the gateway lost, which series have one complete
 * derived series in the destination and how long after their last acknowledged instance, duplicate and partial
 * derived series, stuck jobs, and the dispatch trouble in the gateway log.
 *
 * <p>Only the classical task runs (rule cubic-thick-to-thin; the superres rule is switched off), so a job takes well
 * under a second and the kills land in ingest, assembly, routing, the job and the delivery alike.
 */
public final class CrashCampaign {
    static final String SUMMARY = """
            SIGKILLs the gateway at random moments while thick-slice CT series arrive, are processed (cubic-thick-to-thin)
            and are delivered to a DCMTK storescp that serves one association at a time; restarts it after each kill. A
            sender re-sends what was not acknowledged. Checks: every kill and restart done, every series acknowledged,
            0 acknowledged instances lost (spool + dicom.instance.received), every series with one complete derived series
            in the destination within --bar of its last acknowledged instance, no duplicate or partial derived series,
            no job left REQUESTED/RUNNING. Everything on loopback: its own Kafka broker, gateway and storescp.""";

    /** The campaign's settings; {@link #toArgs()} is the command line that runs the same campaign. */
    public record Options(
            int kills,
            int series,
            int slices,
            int size,
            long seed,
            Duration minKillGap,
            Duration maxKillGap,
            Duration seriesInterval,
            Duration arrival,
            Duration quietPeriod,
            Duration bar,
            Duration linger,
            Duration maxTime,
            Map<String, String> gatewayProperties) {
        static final double THICKNESS_MM = 5.0;

        /** The full campaign of the issue: 20 kills, 20 series. */
        public static Options full(long seed) {
            return new Options(
                    20,
                    20,
                    12,
                    64,
                    seed,
                    Duration.ofSeconds(3),
                    Duration.ofSeconds(20),
                    Duration.ofSeconds(15),
                    Duration.ofSeconds(6),
                    Duration.ofSeconds(10),
                    Duration.ofMinutes(4),
                    Duration.ofSeconds(15),
                    Duration.ofMinutes(25),
                    Map.of());
        }

        public Options withKills(int n) {
            return new Options(
                    n,
                    series,
                    slices,
                    size,
                    seed,
                    minKillGap,
                    maxKillGap,
                    seriesInterval,
                    arrival,
                    quietPeriod,
                    bar,
                    linger,
                    maxTime,
                    gatewayProperties);
        }

        public Options withSeries(int n, Duration interval, Duration arrivalTime) {
            return new Options(
                    kills,
                    n,
                    slices,
                    size,
                    seed,
                    minKillGap,
                    maxKillGap,
                    interval,
                    arrivalTime,
                    quietPeriod,
                    bar,
                    linger,
                    maxTime,
                    gatewayProperties);
        }

        public Options withKillGaps(Duration min, Duration max) {
            return new Options(
                    kills,
                    series,
                    slices,
                    size,
                    seed,
                    min,
                    max,
                    seriesInterval,
                    arrival,
                    quietPeriod,
                    bar,
                    linger,
                    maxTime,
                    gatewayProperties);
        }

        public Options withTiming(Duration quiet, Duration lingerAfter, Duration max) {
            return new Options(
                    kills,
                    series,
                    slices,
                    size,
                    seed,
                    minKillGap,
                    maxKillGap,
                    seriesInterval,
                    arrival,
                    quiet,
                    bar,
                    lingerAfter,
                    max,
                    gatewayProperties);
        }

        /** Derived instances a complete cubic series has: floor((slices - 1) x 5 mm / thin spacing) + 1. */
        int expectedDerivedInstances() {
            double spacing =
                    Double.parseDouble(gatewayProperties.getOrDefault("gateway.infer.thin-slice-spacing-mm", "1.0"));
            return (int) Math.floor((slices - 1) * THICKNESS_MM / spacing + 1e-6) + 1;
        }

        List<String> toArgs() {
            List<String> a = new ArrayList<>(List.of(
                    "--kills",
                    "" + kills,
                    "--series",
                    "" + series,
                    "--slices",
                    "" + slices,
                    "--size",
                    "" + size,
                    "--seed",
                    "" + seed,
                    "--min-kill-gap",
                    CampaignArgs.format(minKillGap),
                    "--max-kill-gap",
                    CampaignArgs.format(maxKillGap),
                    "--series-interval",
                    CampaignArgs.format(seriesInterval),
                    "--arrival",
                    CampaignArgs.format(arrival),
                    "--quiet-period",
                    CampaignArgs.format(quietPeriod),
                    "--bar",
                    CampaignArgs.format(bar),
                    "--linger",
                    CampaignArgs.format(linger),
                    "--max-minutes",
                    "" + Math.max(1, maxTime.toMinutes())));
            gatewayProperties.forEach((k, v) -> a.addAll(List.of("--gateway-property", k + "=" + v)));
            return a;
        }
    }

    private CrashCampaign() {}

    public static void main(String[] argv) {
        CampaignArgs args = CampaignCommand.withCommonOptions(
                new CampaignArgs("crash", SUMMARY)
                        .option("kills", "N", "20", "SIGKILLs of the gateway JVM (each followed by a restart)")
                        .option("series", "N", "20", "thick-slice series to send, one after another")
                        .option("slices", "N", "12", "slices per series (5 mm thick)")
                        .option("size", "N", "64", "rows = columns of each slice")
                        .option(
                                "seed",
                                "S",
                                "random",
                                "seed of the series UIDs and kill moments (printed; the same seed replays a run)")
                        .option(
                                "min-kill-gap",
                                "DURATION",
                                "3s",
                                "shortest time from a restart being ready to the next kill")
                        .option("max-kill-gap", "DURATION", "20s", "longest such time (uniform between the two)")
                        .option("series-interval", "DURATION", "15s", "time between the starts of two series")
                        .option(
                                "arrival",
                                "DURATION",
                                "6s",
                                "each series arrives in four parts (associations) spread over this time, as from a reconstructing scanner; 0s = at once")
                        .option(
                                "quiet-period",
                                "DURATION",
                                "10s",
                                "gateway.assemble.series-quiet-period (the gateway's default)")
                        .option(
                                "bar",
                                "DURATION",
                                "4m",
                                "each series must be complete in the destination this soon after its last instance")
                        .option(
                                "linger",
                                "DURATION",
                                "15s",
                                "wait after the last series is complete, to see late duplicates"),
                "25");
        System.exit(CampaignCommand.main(args, argv, a -> run(fromArgs(a))));
    }

    static Options fromArgs(CampaignArgs a) {
        String seedText = a.string("seed");
        long seed = seedText.equals("random") ? new Random().nextLong() & 0xffffffffL : a.longValue("seed");
        Duration min = a.duration("min-kill-gap", Duration.ofMillis(100), Duration.ofMinutes(30));
        Duration max = a.duration("max-kill-gap", min, Duration.ofMinutes(30));
        return new Options(
                a.integer("kills", 0, 1000),
                a.integer("series", 1, 1000),
                a.integer("slices", 2, 500),
                a.integer("size", 16, 512),
                seed,
                min,
                max,
                a.duration("series-interval", Duration.ZERO, Duration.ofHours(1)),
                a.duration("arrival", Duration.ZERO, Duration.ofHours(1)),
                a.duration("quiet-period", Duration.ofMillis(500), Duration.ofMinutes(10)),
                a.duration("bar", Duration.ofSeconds(1), Duration.ofHours(1)),
                a.duration("linger", Duration.ZERO, Duration.ofMinutes(30)),
                Duration.ofMinutes(a.integer("max-minutes", 1, 24 * 60)),
                a.keyValues("gateway-property"));
    }

    /** One kill: when, what the sender was doing, how long the gateway had been up, how long the restart took. */
    record Kill(
            int index,
            double atSeconds,
            String senderActivity,
            double upSeconds,
            double restartSeconds,
            String restartError) {}

    public static CampaignReport run(Options o) {
        CampaignReport report = new CampaignReport("crash", CampaignCommand.commandLine("crash", o.toArgs()), o.seed());
        String name =
                "crash-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT));
        Deadline deadline = Deadline.after(o.maxTime());
        long t0 = System.currentTimeMillis();
        Path work = Processes.workDir(name);
        report.file("work folder (series, received files, spool)", work);
        KafkaBrokerProcess kafka = null;
        StorescpProcess pacs = null;
        GatewayProcess gateway = null;
        ExecutorService threads = Executors.newFixedThreadPool(
                2, r -> Thread.ofPlatform().daemon(true).name("crash-campaign").unstarted(r));
        List<ModalitySender.Delivery> deliveries = new CopyOnWriteArrayList<>();
        List<Kill> kills = new CopyOnWriteArrayList<>();
        List<SourceSeries> series = new ArrayList<>();
        Teardown teardown = new Teardown();
        try {
            Random seeds = new Random(o.seed());
            for (int i = 0; i < o.series(); i++) {
                SyntheticCtSeries.Params p =
                        SyntheticCtSeries.Params.thick(o.size(), o.slices()).withSeed(seeds.nextLong());
                series.add(SourceSeries.write("series " + (i + 1), work.resolve("series-" + (i + 1)), p));
            }
            // registered before it starts: a broker that never gets ready is still stopped
            kafka = teardown.add(new KafkaBrokerProcess(name, Processes.workDir("kafka-" + name)))
                    .startProcess();
            pacs = teardown.add(new StorescpProcess(name, "STORESCP", work.resolve("received")))
                    .start();
            Map<String, String> props = new LinkedHashMap<>();
            props.put("kafka.bootstrap.servers", kafka.bootstrapServers());
            props.put("gateway.spool.dir", work.resolve("spool").toString());
            props.put(
                    "gateway.route.rules[1].enabled",
                    "false"); // the classical task only: jobs take well under a second
            props.put("gateway.dispatch.destinations", pacs.destination());
            props.put("gateway.assemble.series-quiet-period", CampaignArgs.format(o.quietPeriod()));
            props.putAll(o.gatewayProperties());
            gateway = teardown.add(new GatewayProcess(name, props));
            gateway.start().awaitReady(Duration.ofSeconds(120));
            report.file("gateway log", gateway.logFile());
            report.file("storescp log", pacs.logFile());
            report.file("kafka log", kafka.logFile());

            GatewayProcess gw = gateway;
            ModalitySender sender = new ModalitySender("SCANNER", gw.aeTitle(), gw::dicomPort, Duration.ofSeconds(1));
            CompletableFuture<Void> sending = CompletableFuture.runAsync(
                    () -> {
                        long start = System.nanoTime();
                        for (int i = 0; i < series.size() && !deadline.expired(); i++) {
                            long due = start + i * o.seriesInterval().toNanos();
                            deadline.sleepAtMost(Duration.ofNanos(Math.max(0, due - System.nanoTime())));
                            deliveries.add(sender.send(series.get(i), o.arrival(), deadline));
                        }
                    },
                    threads);
            Random killMoments = new Random(o.seed() ^ 0x5DEECE66DL);
            CompletableFuture<Void> killing = CompletableFuture.runAsync(
                    () -> {
                        long readyAt = System.currentTimeMillis();
                        for (int k = 1; k <= o.kills() && !deadline.expired(); k++) {
                            long gap = o.minKillGap().toMillis()
                                    + (long) (killMoments.nextDouble()
                                            * (o.maxKillGap().toMillis()
                                                    - o.minKillGap().toMillis()));
                            deadline.sleepAtMost(Duration.ofMillis(gap));
                            if (deadline.expired()) {
                                break;
                            }
                            String activity = sender.activity();
                            long killedAt = System.currentTimeMillis();
                            gw.kill();
                            String error = null;
                            try {
                                gw.start().awaitReady(Duration.ofSeconds(120));
                            } catch (RuntimeException first) {
                                error = first.getMessage().lines().findFirst().orElse("?");
                                gw.kill();
                                gw.start().awaitReady(Duration.ofSeconds(120)); // a second failure ends the campaign
                            }
                            long ready = System.currentTimeMillis();
                            kills.add(new Kill(
                                    k,
                                    (killedAt - t0) / 1000.0,
                                    activity,
                                    (killedAt - readyAt) / 1000.0,
                                    (ready - killedAt) / 1000.0,
                                    error));
                            readyAt = ready;
                        }
                    },
                    threads);
            Duration margin = Duration.ofMinutes(3); // the futures end by the deadline; this only guards against a hang
            killing.get(deadline.remaining().plus(margin).toMillis(), TimeUnit.MILLISECONDS);
            sending.get(deadline.remaining().plus(margin).toMillis(), TimeUnit.MILLISECONDS);

            // Wait until every series is complete in the destination, but no longer than the bar allows the last one.
            ReceivedInstances received = new ReceivedInstances(pacs.receiveDir());
            long lastAck = deliveries.stream()
                    .mapToLong(d -> d.allAcknowledgedAtMillis)
                    .max()
                    .orElse(0);
            Duration untilBar =
                    Duration.ofMillis(Math.max(0, lastAck + o.bar().toMillis() + 10_000 - System.currentTimeMillis()));
            Deadline settle = deadline.orSooner(untilBar);
            int expected = o.expectedDerivedInstances();
            boolean allComplete = settle.await(
                    () -> DestinationAudit.audit(
                                    series,
                                    StorescpAudit.lastAcknowledged(deliveries),
                                    received.scan(),
                                    expected,
                                    Map.of())
                            .stream()
                            .allMatch(DestinationAudit.SeriesOutcome::complete),
                    Duration.ofSeconds(3));
            if (allComplete) {
                deadline.sleepAtMost(o.linger());
            }
            audit(report, o, kafka, pacs, gateway, received, series, deliveries, kills);
        } catch (Exception e) {
            report.check("the campaign ran to its end", false, rootMessage(e));
            if (gateway != null && kafka != null && pacs != null) {
                try {
                    audit(
                            report,
                            o,
                            kafka,
                            pacs,
                            gateway,
                            new ReceivedInstances(pacs.receiveDir()),
                            series,
                            deliveries,
                            kills);
                } catch (RuntimeException again) {
                    report.check("audit after the broken-off run", false, rootMessage(again));
                }
            }
        } finally {
            threads.shutdownNow();
            report.check(
                    "finished within --max-minutes " + o.maxTime().toMinutes(),
                    !deadline.expired(),
                    "wall time " + CampaignReport.human(Duration.ofMillis(System.currentTimeMillis() - t0)));
            teardown.close();
            report.finish();
        }
        return report;
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
            List<Kill> kills) {
        StorescpAudit a =
                new StorescpAudit(kafka, gateway, pacs, received, series, deliveries, o.expectedDerivedInstances());
        List<Double> restarts =
                kills.stream().map(Kill::restartSeconds).sorted().toList();
        long withinBar = a.outcomes.stream()
                .filter(s -> s.latencyMillis() != null
                        && s.latencyMillis() <= o.bar().toMillis())
                .count();

        report.figure("kills done / planned", kills.size() + " / " + o.kills());
        report.figure(
                "kills while a series was arriving (part of it acknowledged) / while storescu was sending",
                kills.stream()
                                .filter(k -> k.senderActivity().contains("arriving")
                                        || k.senderActivity().contains("resend"))
                                .count()
                        + " / "
                        + kills.stream()
                                .filter(k -> k.senderActivity().startsWith("sending"))
                                .count());
        report.figure(
                "restart time (kill to ready)",
                restarts.isEmpty()
                        ? "-"
                        : String.format(
                                Locale.ROOT,
                                "median %.1f s, max %.1f s",
                                restarts.get(restarts.size() / 2),
                                restarts.get(restarts.size() - 1)));
        a.figures(report);
        report.figure("series complete within the bar (" + CampaignArgs.format(o.bar()) + ")", withinBar);

        report.check(
                "all " + o.kills() + " kills done, each followed by a restart",
                kills.size() == o.kills(),
                kills.size() + " done");
        report.check(
                "every restart came up at the first try",
                kills.stream().allMatch(k -> k.restartError() == null),
                kills.stream()
                        .filter(k -> k.restartError() != null)
                        .map(k -> "kill " + k.index() + ": " + k.restartError())
                        .toList()
                        .toString());
        a.checkAcknowledgedAndLost(report);
        report.check(
                "every series complete in the destination within " + CampaignArgs.format(o.bar())
                        + " of its last instance",
                withinBar == series.size(),
                withinBar + " of " + series.size() + " within the bar; " + a.complete() + " complete at all"
                        + notComplete(a.outcomes, o.bar()));
        a.checkNoDuplicateOrPartial(report);
        a.checkNoStuckJobs(report);
        a.checkLogNotFlooded(report);

        report.table(
                "Kills",
                List.of("#", "at (s)", "sender was", "gateway up (s)", "restart (s)"),
                kills.stream()
                        .map(k -> List.of(
                                "" + k.index(),
                                fmt(k.atSeconds()),
                                k.senderActivity(),
                                fmt(k.upSeconds()),
                                fmt(k.restartSeconds())
                                        + (k.restartError() == null ? "" : " (2nd try: " + k.restartError() + ")")))
                        .toList());
        a.seriesTable(report);
        a.quotes(report);
    }

    private static String notComplete(List<DestinationAudit.SeriesOutcome> outcomes, Duration bar) {
        List<String> late = outcomes.stream()
                .filter(s -> s.latencyMillis() == null || s.latencyMillis() > bar.toMillis())
                .map(s -> s.label()
                        + (s.latencyMillis() == null ? " (never)" : " (" + fmt(s.latencyMillis() / 1000.0) + " s)"))
                .toList();
        return late.isEmpty() ? "" : "; late or missing: " + String.join(", ", late);
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while ((t instanceof ExecutionException || t instanceof CompletionException) && t.getCause() != null) {
            t = t.getCause();
        }
        String m = t.getClass().getSimpleName() + ": " + t.getMessage();
        return m.length() > 600 ? m.substring(0, 600) + "..." : m;
    }
}
