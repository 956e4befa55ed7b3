package org.meddiff.gateway.campaign;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.common.utils.Utils;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.it.support.Dcmtk;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;
import org.meddiff.gateway.it.support.OrthancProcess;
import org.meddiff.gateway.it.support.Processes;
import org.meddiff.gateway.it.support.StatusApiPoller;

/**
 * Failover campaign: the cluster split of deploy/ on one machine. A gateway node (ingest, assemble, route, dispatch;
 * infer off) and two infer-only workers in the consumer group meddiff-infer share one spool, each worker with its own
 * outbox; the destination is Orthanc. Denoising jobs (routed by the called AE title MEDDIFF_DN, few DiffPIR steps on a
 * small volume, so one lasts tens of seconds on a CPU) are spread over the workers, and the worker running a job is
 * SIGKILLed in its middle (the job's step from the status API, the worker from its log). The other worker must complete
 * the job, and Orthanc must hold one derived series per job with every instance.
 *
 * <p>How jobs spread: inference.job.requested is keyed by StudyInstanceUID and has as many partitions as
 * kafka/topics.json says (6); a partition is consumed by one member of the group, so one topic feeds at most that many
 * workers, and all jobs of one study go to one worker. The campaign gives every job its own study and picks the studies
 * so that their keys hash (murmur2, as the producer's partitioner) to distinct partitions, then reports which partitions
 * each worker was assigned and which jobs it ran.
 */
public final class FailoverCampaign {
    static final String SUMMARY = """
            Runs a gateway node and two infer-only workers (consumer group meddiff-infer) on one shared spool, sends
            --jobs low-dose series to MEDDIFF_DN (denoise, --denoise-steps DiffPIR steps on a small volume), SIGKILLs the
            worker running a job once the job is a third done (--kills times, the killed worker restarted after its job
            completed elsewhere). Checks: the other worker completed each killed job, every job completed and delivered,
            Orthanc holds exactly one derived series per job with all its instances, jobs ran on both workers, none
            failed or stuck. Everything on loopback: its own broker, three gateway processes and Orthanc.""";

    static final String JOB_TOPIC = "inference.job.requested";

    public record Options(
            int jobs,
            int kills,
            int denoiseSteps,
            int slices,
            int size,
            long seed,
            Duration jobTimeout,
            Duration maxTime,
            Map<String, String> gatewayProperties) {
        public static Options full(long seed) {
            return new Options(6, 2, 30, 24, 48, seed, Duration.ofMinutes(6), Duration.ofMinutes(25), Map.of());
        }

        public Options with(int jobCount, int killCount, int steps) {
            return new Options(jobCount, killCount, steps, slices, size, seed, jobTimeout, maxTime, gatewayProperties);
        }

        public Options withMaxTime(Duration max) {
            return new Options(jobs, kills, denoiseSteps, slices, size, seed, jobTimeout, max, gatewayProperties);
        }

        List<String> toArgs() {
            List<String> a = new ArrayList<>(List.of(
                    "--jobs",
                    "" + jobs,
                    "--kills",
                    "" + kills,
                    "--denoise-steps",
                    "" + denoiseSteps,
                    "--slices",
                    "" + slices,
                    "--size",
                    "" + size,
                    "--seed",
                    "" + seed,
                    "--job-timeout",
                    CampaignArgs.format(jobTimeout),
                    "--max-minutes",
                    "" + Math.max(1, maxTime.toMinutes())));
            gatewayProperties.forEach((k, v) -> a.addAll(List.of("--gateway-property", k + "=" + v)));
            return a;
        }
    }

    private static final Pattern STARTED = Pattern.compile("job (\\p{XDigit}+): denoise on series");
    private static final Pattern COMPLETED = Pattern.compile("job (\\p{XDigit}+) completed in");
    private static final Pattern REANNOUNCED = Pattern.compile("job (\\p{XDigit}+) already completed: announcing");
    private static final Pattern PARTITION =
            Pattern.compile("topic-partition '" + Pattern.quote(JOB_TOPIC) + "-(\\d+)'");

    private FailoverCampaign() {}

    public static void main(String[] argv) {
        CampaignArgs args = CampaignCommand.withCommonOptions(
                new CampaignArgs("failover", SUMMARY)
                        .option(
                                "jobs",
                                "N",
                                "6",
                                "denoising jobs, each its own study (spread over the partitions of " + JOB_TOPIC + ")")
                        .option("kills", "N", "2", "workers SIGKILLed in the middle of a job (each a different job)")
                        .option(
                                "denoise-steps",
                                "N",
                                "30",
                                "gateway.diffusion.denoise.steps on the workers (how long a job lasts)")
                        .option("slices", "N", "24", "slices per series (1 mm)")
                        .option("size", "N", "48", "rows = columns (1 mm pixels)")
                        .option("seed", "S", "random", "seed of the series (printed)")
                        .option(
                                "job-timeout",
                                "DURATION",
                                "6m",
                                "how long a killed job may take to complete on the other worker"),
                "25");
        System.exit(CampaignCommand.main(args, argv, a -> run(fromArgs(a))));
    }

    static Options fromArgs(CampaignArgs a) {
        String seedText = a.string("seed");
        long seed = seedText.equals("random") ? new Random().nextLong() & 0xffffffffL : a.longValue("seed");
        Options o = new Options(
                a.integer("jobs", 1, 120),
                a.integer("kills", 0, 120),
                a.integer("denoise-steps", 1, 1000),
                a.integer("slices", 8, 200),
                a.integer("size", 16, 256),
                seed,
                a.duration("job-timeout", Duration.ofSeconds(10), Duration.ofHours(2)),
                Duration.ofMinutes(a.integer("max-minutes", 1, 24 * 60)),
                a.keyValues("gateway-property"));
        if (o.kills() > o.jobs()) {
            throw new CampaignArgs.UsageException(
                    "--kills " + o.kills() + " needs at least as many --jobs (each kill hits another job)");
        }
        return o;
    }

    /** A worker process and what its log says it did. */
    record Worker(String name, GatewayProcess process) {
        String log() {
            return Processes.read(process.logFile());
        }

        /** The log since the process's latest start (GatewayProcess marks each start in the file). */
        String sinceLastStart() {
            String log = log();
            int at = log.lastIndexOf("start gateway ");
            return at < 0 ? log : log.substring(at);
        }
    }

    /** One kill: which worker, which job, at which step, and what happened to the job afterwards. */
    record Kill(
            int index,
            String worker,
            String jobId,
            String step,
            String survivor,
            Double takenOverAfterSeconds,
            Double completedAfterSeconds,
            boolean completedByKilledWorker) {}

    public static CampaignReport run(Options o) {
        CampaignReport report =
                new CampaignReport("failover", CampaignCommand.commandLine("failover", o.toArgs()), o.seed());
        String name =
                "failover-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT));
        Deadline deadline = Deadline.after(o.maxTime());
        long t0 = System.currentTimeMillis();
        Path work = Processes.workDir(name);
        report.file("work folder (series, shared spool)", work);
        KafkaBrokerProcess kafka = null;
        OrthancProcess orthanc = null;
        GatewayProcess node = null;
        List<Worker> workers = new ArrayList<>();
        List<Kill> kills = new ArrayList<>();
        Teardown teardown = new Teardown();
        try {
            // registered before it starts: a broker that never gets ready is still stopped
            kafka = teardown.add(new KafkaBrokerProcess(name, Processes.workDir("kafka-" + name)))
                    .startProcess();
            orthanc = teardown.add(new OrthancProcess(name)).start();
            Path spool = work.resolve("spool");
            Map<String, String> common = new LinkedHashMap<>();
            common.put("kafka.bootstrap.servers", kafka.bootstrapServers());
            common.put("gateway.spool.dir", spool.toString());
            common.put("gateway.assemble.series-quiet-period", "2s");
            common.put("gateway.diffusion.denoise.steps", String.valueOf(o.denoiseSteps()));
            common.putAll(o.gatewayProperties());
            Map<String, String> nodeProps = new LinkedHashMap<>(common);
            nodeProps.put("gateway.stages.infer", "false");
            nodeProps.put("gateway.dispatch.destinations", orthanc.destination());
            node = teardown.add(new GatewayProcess(name + "-node", nodeProps));
            node.start().awaitReady(Duration.ofSeconds(120));
            report.file("gateway node log", node.logFile());
            for (int w = 0; w < 2; w++) {
                Map<String, String> p = new LinkedHashMap<>(common);
                p.put("gateway.spool.outbox", "outbox-worker-" + w);
                p.put("gateway.stages.ingest", "false");
                p.put("gateway.stages.assemble", "false");
                p.put("gateway.stages.route", "false");
                p.put("gateway.stages.dispatch", "false");
                // names the worker's member in the group, so the broker's assignment can be told apart per worker
                p.put("mp.messaging.incoming.infer-jobs.client.id", name + "-worker-" + w);
                GatewayProcess g = teardown.add(new GatewayProcess(name + "-worker-" + w, p));
                workers.add(new Worker("worker-" + w, g));
                g.start();
            }
            for (Worker w : workers) {
                w.process().awaitReady(Duration.ofSeconds(120));
                report.file(w.name() + " log", w.process().logFile());
            }
            report.file("orthanc log", orthanc.logFile());

            int partitions = partitions(kafka, JOB_TOPIC);
            KafkaBrokerProcess broker = kafka;
            AtomicReference<Map<String, Set<Integer>>> assigned = new AtomicReference<>(Map.of());
            boolean settled = deadline.orSooner(Duration.ofSeconds(90))
                    .await(
                            () -> {
                                assigned.set(assignment(broker, workers));
                                return assigned.get().size() == workers.size()
                                        && assigned.get().values().stream().noneMatch(Set::isEmpty);
                            },
                            Duration.ofSeconds(1));
            report.figure(
                    "group meddiff-infer assignment of " + JOB_TOPIC + " before the jobs"
                            + (settled ? "" : " (not settled in 90 s)"),
                    assigned.get().toString());
            List<SourceSeries> series = new ArrayList<>();
            Map<String, Integer> partitionOfStudy = new LinkedHashMap<>();
            Random seeds = new Random(o.seed());
            for (int j = 0; j < o.jobs(); j++) {
                SyntheticCtSeries.Params p;
                int wanted = spreadPartition(j, o.jobs(), partitions);
                do { // a study whose key lands on the partition wanted, so the jobs cover the partitions evenly
                    p = SyntheticCtSeries.Params.thick(o.size(), o.slices())
                            .withSeed(seeds.nextLong())
                            .withPixelSpacing(1.0)
                            .withThickness(1.0)
                            .withNoise(40)
                            .withDescription("Abdomen LOW DOSE 1.0");
                } while (partitionOf(p.resolvedStudyUid(), partitions) != wanted);
                series.add(SourceSeries.write("job " + (j + 1), work.resolve("series-" + (j + 1)), p));
                partitionOfStudy.put(p.resolvedStudyUid(), wanted);
            }
            for (SourceSeries s : series) {
                Processes.Result r = Dcmtk.storeFast("PACS", "MEDDIFF_DN", "127.0.0.1", node.dicomPort(), s.files());
                if (Dcmtk.storeSuccesses(r) != s.size()) {
                    throw new IllegalStateException(s.label() + ": only " + Dcmtk.storeSuccesses(r) + " of " + s.size()
                            + " stored:\n" + r.output());
                }
            }

            for (int k = 1; k <= o.kills() && !deadline.expired(); k++) {
                Kill kill = killOneMidJob(k, o, node, workers, series, kills, deadline);
                if (kill == null) {
                    break;
                }
                kills.add(kill);
            }
            GatewayProcess n = node;
            boolean allDone = deadline.orSooner(o.jobTimeout().multipliedBy(2))
                    .await(
                            () -> allCompletedAndDelivered(n, series, orthancDestination(nodeProps)),
                            Duration.ofSeconds(2));
            report.figure("every job completed and delivered (waited)", allDone);
            // the restarted worker's join is a rebalance that may still be under way: give it 30 s to settle
            boolean settledAtEnd = deadline.orSooner(Duration.ofSeconds(30))
                    .await(
                            () -> {
                                assigned.set(assignment(broker, workers));
                                return assigned.get().size() == workers.size()
                                        && assigned.get().values().stream().noneMatch(Set::isEmpty);
                            },
                            Duration.ofSeconds(1));
            report.figure(
                    "group meddiff-infer assignment of " + JOB_TOPIC + " at the end"
                            + (settledAtEnd ? "" : " (a worker without partitions 30 s on)"),
                    assigned.get().toString());
            deadline.sleepAtMost(Duration.ofSeconds(10)); // let any late re-announcement and its delivery arrive
            audit(report, o, kafka, orthanc, node, workers, series, partitionOfStudy, partitions, kills);
        } catch (Exception e) {
            report.check("the campaign ran to its end", false, CrashCampaign.rootMessage(e));
        } finally {
            report.check(
                    "finished within --max-minutes " + o.maxTime().toMinutes(),
                    !deadline.expired(),
                    "wall time " + CampaignReport.human(Duration.ofMillis(System.currentTimeMillis() - t0)));
            teardown.close();
            report.finish();
        }
        return report;
    }

    private static String orthancDestination(Map<String, String> nodeProps) {
        return nodeProps.get("gateway.dispatch.destinations");
    }

    /**
     * Waits for a worker to be a third into a job not hit before, SIGKILLs it, follows the job to its completion on the
     * other worker, then restarts the killed worker. Null when no job could be caught running in time.
     */
    private static Kill killOneMidJob(
            int index,
            Options o,
            GatewayProcess node,
            List<Worker> workers,
            List<SourceSeries> series,
            List<Kill> earlier,
            Deadline deadline) {
        Set<String> hit = new TreeSet<>();
        earlier.forEach(k -> hit.add(k.jobId()));
        Worker[] victim = new Worker[1];
        String[] job = new String[1];
        String[] step = new String[1];
        Deadline catchIt = deadline.orSooner(o.jobTimeout());
        boolean caught = catchIt.await(
                () -> {
                    Map<String, JsonNode> running = runningJobs(node, series);
                    for (Worker w : workers) {
                        if (!w.process().isRunning()) {
                            continue;
                        }
                        String log = w.sinceLastStart();
                        for (String id : matches(STARTED, log)) {
                            JsonNode j = running.get(id);
                            if (hit.contains(id) || j == null || log.contains("job " + id + " completed")) {
                                continue;
                            }
                            int s = j.path("step").asInt(0);
                            int n = j.path("steps").asInt(0);
                            if (n > 0 && s >= Math.max(1, (n + 2) / 3) && s < n) {
                                victim[0] = w;
                                job[0] = id;
                                step[0] = s + " of " + n;
                                return true;
                            }
                        }
                    }
                    return false;
                },
                Duration.ofMillis(300));
        if (!caught) {
            return null;
        }
        Worker killed = victim[0];
        Worker survivor = workers.stream().filter(w -> w != killed).findFirst().orElseThrow();
        long killedAt = System.currentTimeMillis();
        killed.process().kill();
        String killedLog = killed.log();
        Long[] takenOver = {null};
        boolean completed = deadline.orSooner(o.jobTimeout())
                .await(
                        () -> {
                            if (takenOver[0] == null
                                    && survivor.log().contains("job " + job[0] + ": denoise on series")) {
                                takenOver[0] = System.currentTimeMillis();
                            }
                            JsonNode j = jobById(node, series, job[0]);
                            return j != null
                                    && "COMPLETED".equals(j.path("state").asText());
                        },
                        Duration.ofMillis(500));
        Double completedAfter = completed ? (System.currentTimeMillis() - killedAt) / 1000.0 : null;
        killed.process().start().awaitReady(Duration.ofSeconds(120));
        return new Kill(
                index,
                killed.name(),
                job[0],
                step[0],
                survivor.name(),
                takenOver[0] == null ? null : (takenOver[0] - killedAt) / 1000.0,
                completedAfter,
                killedLog.contains("job " + job[0] + " completed"));
    }

    /** Jobs of the campaign's studies that the status API shows RUNNING, by job id. */
    private static Map<String, JsonNode> runningJobs(GatewayProcess node, List<SourceSeries> series) {
        Map<String, JsonNode> out = new HashMap<>();
        for (JsonNode j : allJobs(node, series)) {
            if ("RUNNING".equals(j.path("state").asText())) {
                out.put(j.path("jobId").asText(), j);
            }
        }
        return out;
    }

    private static JsonNode jobById(GatewayProcess node, List<SourceSeries> series, String jobId) {
        return allJobs(node, series).stream()
                .filter(j -> jobId.equals(j.path("jobId").asText()))
                .findFirst()
                .orElse(null);
    }

    private static List<JsonNode> allJobs(GatewayProcess node, List<SourceSeries> series) {
        List<JsonNode> jobs = new ArrayList<>();
        for (SourceSeries s : series) {
            try {
                GatewayProcess.HttpResult r = node.http("/api/studies/" + s.studyUid());
                if (r.status() == 200) {
                    r.json().path("series").forEach(x -> x.path("jobs").forEach(jobs::add));
                }
            } catch (RuntimeException e) {
                // not answering this instant: the next poll asks again
            }
        }
        return jobs;
    }

    private static boolean allCompletedAndDelivered(
            GatewayProcess node, List<SourceSeries> series, String destination) {
        List<JsonNode> jobs = allJobs(node, series);
        return jobs.size() >= series.size()
                && jobs.stream()
                        .allMatch(j -> "COMPLETED".equals(j.path("state").asText())
                                && StatusApiPoller.deliveredTo(j, destination));
    }

    private static void audit(
            CampaignReport report,
            Options o,
            KafkaBrokerProcess kafka,
            OrthancProcess orthanc,
            GatewayProcess node,
            List<Worker> workers,
            List<SourceSeries> series,
            Map<String, Integer> partitionOfStudy,
            int partitions,
            List<Kill> kills) {
        Duration read = Duration.ofSeconds(60);
        List<TopicSnapshot.Event> requested = TopicSnapshot.read(kafka.bootstrapServers(), JOB_TOPIC, read);
        List<JsonNode> completed = TopicSnapshot.values(kafka.bootstrapServers(), "inference.job.completed", read);
        List<JsonNode> failed = TopicSnapshot.values(kafka.bootstrapServers(), "inference.job.failed", read);
        List<JsonNode> stored = TopicSnapshot.values(kafka.bootstrapServers(), "pacs.store.completed", read);
        GatewayEvidence.Jobs jobs = GatewayEvidence.jobs(
                node, series.stream().map(SourceSeries::studyUid).toList(), Duration.ofSeconds(30));

        // Orthanc: every series it holds, by SeriesInstanceUID -> instance count
        Map<String, Integer> inOrthanc = new LinkedHashMap<>();
        for (String id : orthanc.seriesIds()) {
            JsonNode s = orthanc.seriesJson(id);
            inOrthanc.put(
                    s.path("MainDicomTags").path("SeriesInstanceUID").asText(),
                    s.path("Instances").size());
        }
        Map<String, List<String>> startedBy = new LinkedHashMap<>();
        Map<String, List<String>> completedBy = new LinkedHashMap<>();
        Map<String, List<String>> reannouncedBy = new LinkedHashMap<>();
        Map<String, Set<Integer>> partitionsOf = new LinkedHashMap<>();
        for (Worker w : workers) {
            String log = w.log();
            matches(STARTED, log)
                    .forEach(id -> startedBy
                            .computeIfAbsent(id, x -> new ArrayList<>())
                            .add(w.name()));
            matches(COMPLETED, log)
                    .forEach(id -> completedBy
                            .computeIfAbsent(id, x -> new ArrayList<>())
                            .add(w.name()));
            matches(REANNOUNCED, log)
                    .forEach(id -> reannouncedBy
                            .computeIfAbsent(id, x -> new ArrayList<>())
                            .add(w.name()));
            Set<Integer> ps = new TreeSet<>();
            matches(PARTITION, log).forEach(p -> ps.add(Integer.parseInt(p)));
            partitionsOf.put(w.name(), ps);
        }
        Map<String, Integer> actualPartition = new HashMap<>();
        Map<String, String> studyOfJob = new HashMap<>();
        for (TopicSnapshot.Event e : requested) {
            actualPartition.putIfAbsent(e.value().path("jobId").asText(), e.partition());
            studyOfJob.putIfAbsent(
                    e.value().path("jobId").asText(),
                    e.value().path("studyInstanceUid").asText());
        }
        String destination = orthanc.destination();
        List<List<String>> rows = new ArrayList<>();
        int oneCompleteSeries = 0;
        Map<String, Integer> jobsPerWorker = new LinkedHashMap<>();
        workers.forEach(w -> jobsPerWorker.put(w.name(), 0));
        for (JsonNode j : jobs.jobs()) {
            String id = j.path("jobId").asText();
            String derived = j.path("derivedSeriesInstanceUid").asText("");
            int expected = j.path("derivedInstances").asInt(-1);
            Integer got = inOrthanc.get(derived);
            if (got != null && got == expected && expected == o.slices()) {
                oneCompleteSeries++;
            }
            List<String> by = completedBy.getOrDefault(id, List.of());
            by.forEach(w -> jobsPerWorker.merge(w, 1, Integer::sum));
            long completions = completed.stream()
                    .filter(e -> id.equals(e.path("jobId").asText()))
                    .count();
            long deliveries = stored.stream()
                    .filter(e -> id.equals(e.path("jobId").asText()))
                    .count();
            String study = studyOfJob.getOrDefault(id, "?");
            rows.add(List.of(
                    id.substring(0, Math.min(8, id.length())),
                    "" + actualPartition.getOrDefault(id, -1)
                            + (partitionOfStudy.containsKey(study)
                                    ? " (picked " + partitionOfStudy.get(study) + ")"
                                    : ""),
                    String.join(", ", startedBy.getOrDefault(id, List.of())),
                    String.join(", ", by),
                    kills.stream().anyMatch(k -> k.jobId().equals(id)) ? "yes" : "",
                    j.path("state").asText(),
                    "" + completions,
                    "" + deliveries,
                    got == null ? "none" : got + "/" + expected));
        }
        long derivedInOrthanc = inOrthanc.size();
        Map<String, Integer> runsPerWorker = new LinkedHashMap<>();
        workers.forEach(w -> runsPerWorker.put(w.name(), 0));
        startedBy.values().forEach(ws -> ws.forEach(w -> runsPerWorker.merge(w, 1, Integer::sum)));
        long workersThatRanJobs =
                runsPerWorker.values().stream().filter(v -> v > 0).count();
        List<String> deliveredMoreThanOnce = jobs.jobs().stream()
                .map(j -> j.path("jobId").asText())
                .filter(id -> stored.stream()
                                .filter(e -> id.equals(e.path("jobId").asText()))
                                .count()
                        > 1)
                .map(id -> id.substring(0, 8))
                .toList();

        report.figure("jobs / kills done (planned)", o.jobs() + " / " + kills.size() + " (" + o.kills() + ")");
        report.figure(JOB_TOPIC + " partitions (key StudyInstanceUID): workers one topic can feed", partitions);
        partitionsOf.forEach((w, ps) ->
                report.figure("partitions of " + JOB_TOPIC + " " + w + " received jobs from", ps.toString()));
        report.figure("job runs started per worker (from the worker logs)", runsPerWorker.toString());
        report.figure("jobs completed per worker (from the worker logs)", jobsPerWorker.toString());
        report.figure(
                "job runs started (all workers) / jobs",
                startedBy.values().stream().mapToInt(List::size).sum() + " / " + o.jobs());
        report.figure(
                "re-announced completions (job already completed in the spool)",
                reannouncedBy.values().stream().mapToInt(List::size).sum());
        report.figure(
                "inference.job.completed events / distinct jobs",
                completed.size() + " / "
                        + completed.stream()
                                .map(e -> e.path("jobId").asText())
                                .distinct()
                                .count());
        report.figure("pacs.store.completed events", stored.size());
        report.figure("inference.job.failed events", failed.size());
        report.figure("series in Orthanc (all derived) / jobs", derivedInOrthanc + " / " + o.jobs());
        report.figure("jobs with exactly their derived series, complete, in Orthanc", oneCompleteSeries);
        report.figure(
                "uncommitted records per stage group at the end (lag / records)",
                ConsumerLag.ofStages(kafka).toString());
        report.figure(
                "jobs by state (status API)", jobs.answered() ? jobs.byState().toString() : jobs.error());
        report.figure(
                "deliveries by state (status API)",
                jobs.answered() ? jobs.deliveries(destination).toString() : "-");
        for (Kill k : kills) {
            report.figure(
                    "kill " + k.index() + ": " + k.worker() + " at step " + k.step() + " of job "
                            + k.jobId().substring(0, 8),
                    "taken over by " + k.survivor()
                            + (k.takenOverAfterSeconds() == null
                                    ? " (never seen starting)"
                                    : " after " + CrashCampaign.fmt(k.takenOverAfterSeconds()) + " s")
                            + "; completed "
                            + (k.completedAfterSeconds() == null
                                    ? "never"
                                    : CrashCampaign.fmt(k.completedAfterSeconds()) + " s after the kill"));
        }

        report.check(
                "every planned kill hit a worker in the middle of a job",
                kills.size() == o.kills() && kills.stream().noneMatch(Kill::completedByKilledWorker),
                kills.size() + " of " + o.kills() + " kills; jobs the killed worker had completed anyway: "
                        + kills.stream()
                                .filter(Kill::completedByKilledWorker)
                                .map(Kill::jobId)
                                .toList());
        List<String> notTakenOver = kills.stream()
                .filter(k -> !completedBy.getOrDefault(k.jobId(), List.of()).contains(k.survivor())
                        || k.completedAfterSeconds() == null)
                .map(k -> k.jobId() + " (completed by " + completedBy.getOrDefault(k.jobId(), List.of()) + ")")
                .toList();
        report.check(
                "the other worker completed every killed job",
                notTakenOver.isEmpty(),
                notTakenOver.isEmpty()
                        ? kills.stream()
                                .map(k -> k.jobId().substring(0, 8) + " by " + k.survivor())
                                .toList()
                                .toString()
                        : "not taken over: " + notTakenOver);
        long completedJobs = jobs.jobs().stream()
                .filter(j -> "COMPLETED".equals(j.path("state").asText()))
                .count();
        long deliveredJobs = jobs.jobs().stream()
                .filter(j -> StatusApiPoller.deliveredTo(j, destination))
                .count();
        report.check(
                "every job completed and delivered",
                jobs.answered()
                        && jobs.jobs().size() == o.jobs()
                        && completedJobs == o.jobs()
                        && deliveredJobs == o.jobs(),
                jobs.jobs().size() + " jobs seen, " + completedJobs + " completed, " + deliveredJobs + " delivered");
        report.check(
                "one derived series per job in Orthanc, with all its instances",
                oneCompleteSeries == o.jobs() && derivedInOrthanc == o.jobs(),
                oneCompleteSeries + " of " + o.jobs() + " jobs have their series complete; Orthanc holds "
                        + derivedInOrthanc + " series");
        report.check(
                "jobs spread over both workers (each started at least one)",
                workersThatRanJobs == workers.size(),
                "runs started per worker: " + runsPerWorker + ", completed: " + jobsPerWorker);
        report.check(
                "each job delivered once (one pacs.store.completed per job)",
                deliveredMoreThanOnce.isEmpty(),
                stored.size() + " deliveries for " + o.jobs() + " jobs"
                        + (deliveredMoreThanOnce.isEmpty()
                                ? ""
                                : "; delivered more than once: " + deliveredMoreThanOnce));
        report.check(
                "no job failed",
                failed.isEmpty(),
                failed.size() + " inference.job.failed event(s)"
                        + (failed.isEmpty()
                                ? ""
                                : ": "
                                        + failed.get(0)
                                                .path("error")
                                                .asText(failed.get(0).toString())));
        report.check(
                "no stuck jobs",
                jobs.answered() && jobs.stuck().isEmpty(),
                jobs.answered() ? jobs.stuck().toString() : jobs.error());
        report.check(
                "no stuck series (every source series ready with all its instances)",
                jobs.answered() && jobs.notReady().isEmpty(),
                jobs.answered() ? jobs.notReady().size() + " " + jobs.notReady() : jobs.error());

        report.table(
                "Jobs",
                List.of(
                        "job",
                        "partition",
                        "started on",
                        "completed on",
                        "killed",
                        "state",
                        "job.completed events",
                        "deliveries",
                        "Orthanc instances / derived"),
                rows);
        for (Worker w : workers) {
            GatewayEvidence.firstLines(w.process().logFile(), "is running in another worker", 2)
                    .forEach(report::quote);
            GatewayEvidence.firstLines(w.process().logFile(), "already completed: announcing", 2)
                    .forEach(report::quote);
            GatewayEvidence.firstLines(w.process().logFile(), "failed:", 2).forEach(report::quote);
            GatewayEvidence.firstLines(w.process().logFile(), "Error caught while processing", 2)
                    .forEach(report::quote);
        }
        for (Kill k : kills) {
            Worker s = workers.stream()
                    .filter(w -> w.name().equals(k.survivor()))
                    .findFirst()
                    .orElseThrow();
            GatewayEvidence.firstLines(s.process().logFile(), "job " + k.jobId() + " completed", 1)
                    .forEach(report::quote);
        }
    }

    /**
     * The partition job {@code j} of {@code jobs} should land on: evenly over the partitions (0 and 3 for two jobs on six
     * partitions), because the group's assignor hands each member a contiguous range, so adjacent partitions would
     * usually feed one worker; round robin once there are more jobs than partitions.
     */
    static int spreadPartition(int j, int jobs, int partitions) {
        return jobs >= partitions ? j % partitions : (int) ((long) j * partitions / jobs);
    }

    /** Worker name -> partitions of the job topic the broker has assigned to its member of meddiff-infer now. */
    static Map<String, Set<Integer>> assignment(KafkaBrokerProcess kafka, List<Worker> workers) {
        Map<String, Set<Integer>> out = new TreeMap<>();
        try (Admin admin = kafka.admin()) {
            ConsumerGroupDescription group = admin.describeConsumerGroups(List.of("meddiff-infer"))
                    .all()
                    .get(30, TimeUnit.SECONDS)
                    .get("meddiff-infer");
            for (MemberDescription m : group.members()) {
                for (Worker w : workers) {
                    if (m.clientId()
                            .startsWith(w.process().properties().get("mp.messaging.incoming.infer-jobs.client.id"))) {
                        Set<Integer> ps = out.computeIfAbsent(w.name(), x -> new TreeSet<>());
                        m.assignment().topicPartitions().stream()
                                .filter(tp -> tp.topic().equals(JOB_TOPIC))
                                .forEach(tp -> ps.add(tp.partition()));
                    }
                }
            }
        } catch (Exception e) {
            out.put("(cannot describe the group: " + e.getMessage() + ")", Set.of());
        }
        return out;
    }

    /** Partitions of a topic on the live broker. */
    static int partitions(KafkaBrokerProcess kafka, String topic) throws Exception {
        try (Admin admin = kafka.admin()) {
            return admin.describeTopics(List.of(topic))
                    .allTopicNames()
                    .get(30, TimeUnit.SECONDS)
                    .get(topic)
                    .partitions()
                    .size();
        }
    }

    /** The partition the producer's default partitioner picks for a record key: murmur2 of its bytes. */
    static int partitionOf(String key, int partitions) {
        return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitions;
    }

    private static List<String> matches(Pattern p, String text) {
        List<String> out = new ArrayList<>();
        Matcher m = p.matcher(text);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }
}
