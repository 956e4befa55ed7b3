package org.meddiff.gateway.campaign;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.meddiff.gateway.campaign.FuzzCase.Expect;
import org.meddiff.gateway.campaign.FuzzCase.StoreAttempt;
import org.meddiff.gateway.campaign.FuzzReport.Kind;
import org.meddiff.gateway.dicom.net.StoreScu;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.it.support.Dcmtk;
import org.meddiff.gateway.it.support.EventLog;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;
import org.meddiff.gateway.it.support.Processes;

/**
 * The fuzz campaign of the reliability issue: N hostile cases (default 10,000) against the packaged gateway's DICOM
 * listener, on loopback, with a real Kafka broker, then the checks: C-ECHO answered throughout, the JVM alive after
 * every case, heap bounded, every Success-acknowledged instance byte-identical in the spool and announced, nothing
 * refused in the spool, nothing written outside it, incoming/ empty, a valid instance still stored at the end.
 *
 * <pre>
 * bin/campaign fuzz --cases 10000 --seed 42 --max-minutes 30 --report target/fuzz-report.json
 * </pre>
 * Exit status 0: every check passed; 1: a check failed (or the time bound stopped the run); 2: usage error.
 */
public final class FuzzCampaign {
    /** Run settings; {@link #parse} reads them from the command line. */
    public record Options(
            int cases,
            long seed,
            double maxMinutes,
            Path report,
            int maxAssociations,
            int idleTimeoutSeconds,
            int heapMegabytes,
            String command) {
        public static Options of(int cases, long seed, double maxMinutes) {
            return new Options(
                    cases,
                    seed,
                    maxMinutes,
                    null,
                    8,
                    3,
                    512,
                    "FuzzCampaign.run(cases=" + cases + ", seed=" + seed + ", maxMinutes=" + maxMinutes + ")");
        }
    }

    /** A command-line mistake: the message is printed with the usage, exit status 2. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    static final String USAGE = """
            Usage: bin/campaign fuzz [--cases N] [--seed S] [--max-minutes M] [--report FILE]
                                       [--max-associations A] [--idle-timeout-seconds T] [--heap-mb H]

            Hostile DICOM upper-layer cases against the packaged gateway (target/quarkus-app), started for the run
            as a child JVM (-XmxHm, gateway.dicom.max-associations=A, gateway.dicom.idle-timeout=Ts) with its own
            Kafka broker (bin/kafka-broker) and a fresh spool under target/it-work/. Loopback only.

              --cases N               hostile cases (default 10000); categories in a fixed weighted cycle of 100,
                                      so N >= 100 covers all of them
              --seed S                seed of every mutation (default: random); printed, so a run can be replayed
              --max-minutes M         hard bound on the cases' wall time (default 30); when it stops a run early,
                                      the run fails as incomplete
              --report FILE           also write the report as JSON
              --max-associations A    the gateway's association limit (default 8; floods go past it)
              --idle-timeout-seconds T  the gateway's idle timeout (default 3)
              --heap-mb H             the gateway's -Xmx in MiB (default 512)
              --help                  this text

            Checks: C-ECHO answered every 100 cases; the gateway JVM alive after every case; heap in use below -Xmx
            and, after a full GC, not growing; every C-STORE answered Success byte-identical at
            instances/<study>/<series>/<sop>.dcm and announced on dicom.instance.received; nothing refused in the
            spool or announced; nothing written outside the spool; incoming/ empty at the end; a valid instance
            stored by DCMTK storescu at the end; every connection ended by the gateway (no hang).
            Prints a Markdown table (category, cases, answers seen, failures) and the totals.
            Exit status: 0 every check passed, 1 a check failed, 2 usage error.
            """;

    private FuzzCampaign() {}

    public static void main(String[] args) {
        Options options;
        try {
            options = parse(args);
        } catch (UsageException e) {
            System.err.println("fuzz-campaign: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
            return;
        }
        if (options == null) {
            System.out.print(USAGE);
            System.exit(0);
            return;
        }
        KafkaBrokerProcess.quietKafkaClientLogs();
        FuzzReport report = run(options);
        System.out.println();
        System.out.print(report.markdown());
        if (!report.failureDetails.isEmpty()) {
            System.out.println("\nFirst failures:");
            report.failureDetails.stream().limit(60).forEach(f -> System.out.println("  " + f));
        }
        System.out.println(
                report.passed()
                        ? "\nfuzz-campaign: PASSED"
                        : "\nfuzz-campaign: FAILED (" + report.totalFailures() + " failures)");
        System.exit(report.passed() ? 0 : 1);
    }

    /** The options, or null for --help. */
    static Options parse(String[] args) throws UsageException {
        int cases = 10_000;
        Long seed = null;
        double maxMinutes = 30;
        Path report = null;
        int maxAssociations = 8;
        int idle = 3;
        int heap = 512;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                return null;
            }
            if (i + 1 >= args.length) {
                throw new UsageException(a.startsWith("--") ? a + " needs a value" : "unknown argument " + a);
            }
            String v = args[++i];
            try {
                switch (a) {
                    case "--cases" -> cases = Integer.parseInt(v);
                    case "--seed" -> seed = Long.parseLong(v);
                    case "--max-minutes" -> maxMinutes = Double.parseDouble(v);
                    case "--report" -> report = Paths.get(v);
                    case "--max-associations" -> maxAssociations = Integer.parseInt(v);
                    case "--idle-timeout-seconds" -> idle = Integer.parseInt(v);
                    case "--heap-mb" -> heap = Integer.parseInt(v);
                    default -> throw new UsageException("unknown argument " + a);
                }
            } catch (NumberFormatException e) {
                throw new UsageException(a + " needs a number, got '" + v + "'");
            }
        }
        if (cases < 1 || cases > 1_000_000) {
            throw new UsageException("--cases must be 1 .. 1000000");
        }
        if (!(maxMinutes > 0) || maxMinutes > 24 * 60) {
            throw new UsageException("--max-minutes must be > 0 and at most 1440");
        }
        if (maxAssociations < 1 || maxAssociations > 64) {
            throw new UsageException("--max-associations must be 1 .. 64");
        }
        if (idle < 1 || idle > 60) {
            throw new UsageException("--idle-timeout-seconds must be 1 .. 60");
        }
        if (heap < 128) {
            throw new UsageException("--heap-mb must be at least 128");
        }
        long s = seed != null ? seed : new Random().nextLong() & Long.MAX_VALUE;
        String command = "bin/campaign fuzz --cases " + cases + " --seed " + s + " --max-minutes " + fmt(maxMinutes)
                + (report == null ? "" : " --report " + report)
                + (maxAssociations == 8 ? "" : " --max-associations " + maxAssociations)
                + (idle == 3 ? "" : " --idle-timeout-seconds " + idle) + (heap == 512 ? "" : " --heap-mb " + heap);
        return new Options(cases, s, maxMinutes, report, maxAssociations, idle, heap, command);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    // ================================================================== the run

    /** Starts a broker and a gateway, runs the cases and the checks, stops both; the report says what was found. */
    public static FuzzReport run(Options o) {
        long t0 = System.nanoTime();
        FuzzReport report = new FuzzReport();
        report.seed = o.seed();
        report.casesPlanned = o.cases();
        report.command = o.command();
        report.heapLimitBytes = o.heapMegabytes() * 1024L * 1024L;
        String runId = String.valueOf(Math.floorMod(o.seed() * 31 + System.nanoTime(), 1_000_000_000L) + 1);
        say(
                "fuzz-campaign: seed %d, %d cases, at most %s minutes; replay with: %s",
                o.seed(), o.cases(), fmt(o.maxMinutes()), o.command());
        try (KafkaBrokerProcess kafka = KafkaBrokerProcess.start("fuzz-" + runId)) {
            Path work = Processes.workDir("fuzz-" + runId);
            Path spool = work.resolve("spool");
            Map<String, String> props = new LinkedHashMap<>();
            props.put("kafka.bootstrap.servers", kafka.bootstrapServers());
            props.put("gateway.spool.dir", spool.toString());
            props.put("gateway.dicom.max-associations", String.valueOf(o.maxAssociations()));
            props.put("gateway.dicom.idle-timeout", o.idleTimeoutSeconds() + "s");
            props.put("gateway.assemble.series-quiet-period", "2s");
            props.put("gateway.spool.min-free-megabytes", "64");
            try (GatewayProcess gateway =
                    new GatewayProcess("fuzz-" + runId, props).jvmOption("-Xmx" + o.heapMegabytes() + "m")) {
                gateway.start().awaitReady();
                report.gatewayLog = gateway.logFile().toString();
                new Run(o, report, kafka, gateway, work, spool, runId).execute();
            }
        } catch (RuntimeException | IOException e) {
            report.fail(Kind.CRASH, "the campaign could not run: " + e);
            e.printStackTrace();
        }
        report.wallSeconds = (System.nanoTime() - t0) / 1e9;
        if (o.report() != null) {
            try {
                Files.createDirectories(o.report().toAbsolutePath().getParent());
                Files.writeString(o.report(), report.json());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + o.report(), e);
            }
        }
        return report;
    }

    static void say(String format, Object... args) {
        System.out.println(String.format(Locale.ROOT, format, args));
        System.out.flush();
    }

    /** One run's state: the gateway, the cases' store attempts, the snapshots taken before. */
    private static final class Run {
        static final int ECHO_EVERY = 100;
        static final int METRICS_EVERY = 200;
        static final int MAX_IDLE_IN_FLIGHT = 3;
        static final Pattern UID = Pattern.compile("[0-9]+(\\.[0-9]+)*");

        final Options o;
        final FuzzReport report;
        final KafkaBrokerProcess kafka;
        final GatewayProcess gateway;
        final Path work;
        final Path spool;
        final FuzzTarget target;
        final List<StoreAttempt> stores = new ArrayList<>();
        final List<FuzzCase> aborted = new ArrayList<>();
        final Deque<Future<FuzzCase>> idleInFlight = new ArrayDeque<>();
        final ExecutorService background = Executors.newVirtualThreadPerTaskExecutor();
        final List<String> markers = new ArrayList<>();
        Map<String, String> projectBefore;
        Map<String, String> workBefore;
        Set<String> spoolTopBefore;

        Run(
                Options o,
                FuzzReport report,
                KafkaBrokerProcess kafka,
                GatewayProcess gateway,
                Path work,
                Path spool,
                String runId) {
            this.o = o;
            this.report = report;
            this.kafka = kafka;
            this.gateway = gateway;
            this.work = work;
            this.spool = spool.toAbsolutePath().normalize();
            this.target = new FuzzTarget(
                    gateway.dicomPort(),
                    gateway.aeTitle(),
                    runId,
                    o.idleTimeoutSeconds() * 1000,
                    o.maxAssociations(),
                    this.spool);
        }

        void execute() throws IOException {
            projectBefore = snapshot(Processes.projectRoot(), projectExclusions());
            workBefore = snapshot(work.getParent(), workExclusions());
            spoolTopBefore = list(spool);
            if (!echo("before the first case")) {
                report.fail(Kind.ECHO_FAILURE, "no C-ECHO before the first case: the gateway does not serve");
            }
            checkpoint("start", true);
            long started = System.nanoTime();
            long deadline = started + (long) (o.maxMinutes() * 60e9);
            List<Category> cycle = new ArrayList<>();
            int n = 0;
            for (; n < o.cases(); n++) {
                if (System.nanoTime() > deadline) {
                    report.fail(
                            Kind.INCOMPLETE,
                            "the time bound of " + fmt(o.maxMinutes()) + " minutes stopped the run after " + n + " of "
                                    + o.cases() + " cases");
                    break;
                }
                if (n % Category.cycleLength() == 0) {
                    cycle = schedule(n / Category.cycleLength());
                }
                Category category = cycle.get(n % Category.cycleLength());
                FuzzCase c = new FuzzCase(n, category, o.seed(), target);
                if (category == Category.IDLE) {
                    while (idleInFlight.size() >= MAX_IDLE_IN_FLIGHT) {
                        collect(idleInFlight.removeFirst());
                    }
                    idleInFlight.add(background.submit(() -> runCase(c)));
                } else {
                    if (category == Category.FLOOD) {
                        drainIdle(); // a flood counts the free slots exactly
                    }
                    collect(runCase(c));
                }
                if (!gateway.isRunning()) {
                    report.fail(
                            Kind.CRASH,
                            "the gateway JVM died during case " + n + " (" + category + " [" + c.variant + "]); exit "
                                    + exitCode());
                    n++;
                    break;
                }
                if ((n + 1) % ECHO_EVERY == 0 && !echo("after case " + n)) {
                    report.fail(Kind.ECHO_FAILURE, "C-ECHO not answered after case " + n + " (" + category + ")");
                }
                if ((n + 1) % METRICS_EVERY == 0) {
                    sample();
                }
                if (o.cases() >= 8 && (n + 1) % (o.cases() / 4) == 0 && n + 1 < o.cases()) {
                    checkpoint("after " + (n + 1) + " cases", true);
                }
                if ((n + 1) % 500 == 0) {
                    say(
                            "fuzz-campaign: %d cases, %d failures so far, %.0f s",
                            n + 1, report.totalFailures(), (System.nanoTime() - started) / 1e9);
                }
            }
            report.casesRun = n;
            drainIdle();
            background.shutdown();
            if (gateway.isRunning()) {
                finalChecks();
            }
        }

        /** The categories of one cycle of 100 cases in a seeded order. */
        List<Category> schedule(int cycleIndex) {
            List<Category> cycle = new ArrayList<>();
            for (Category c : Category.values()) {
                for (int i = 0; i < c.weight; i++) {
                    cycle.add(c);
                }
            }
            Collections.shuffle(cycle, new Random(o.seed() ^ (cycleIndex * 0x2545F4914F6CDD1DL)));
            return cycle;
        }

        FuzzCase runCase(FuzzCase c) {
            try {
                FuzzCases.run(c);
            } catch (IOException | RuntimeException e) {
                c.fail("the case could not talk to the gateway: " + e);
            } finally {
                c.closeAll();
            }
            return c;
        }

        void collect(Future<FuzzCase> f) {
            try {
                collect(f.get(5, TimeUnit.MINUTES));
            } catch (Exception e) {
                report.fail(Kind.HANG, "an idle case did not finish within 5 minutes: " + e);
            }
        }

        void collect(FuzzCase c) {
            report.record(c);
            c.stores.forEach(s -> s.variant = c.category + " [" + c.variant + "]");
            stores.addAll(c.stores);
            if (!c.abortedPorts.isEmpty()) {
                aborted.add(c);
            }
            if (c.category == Category.UID_ESCAPE) {
                markers.add(c.marker());
            }
        }

        void drainIdle() {
            while (!idleInFlight.isEmpty()) {
                collect(idleInFlight.removeFirst());
            }
        }

        String exitCode() {
            try {
                return String.valueOf(gateway.stop());
            } catch (RuntimeException e) {
                return "?";
            }
        }

        boolean echo(String when) {
            report.echoes++;
            try {
                return new StoreScu("FUZZ_ECHO", 5_000, 15_000)
                        .echo(new StoreScu.Destination(gateway.aeTitle(), "127.0.0.1", gateway.dicomPort()));
            } catch (IOException e) {
                say("fuzz-campaign: C-ECHO %s failed: %s", when, e.getMessage());
                return false;
            }
        }

        // -------------------------------------------------------------- heap, threads, files

        /** Reads heap in use, live threads and open files from /q/metrics; optionally after a full GC (jcmd). */
        void checkpoint(String when, boolean gc) {
            if (gc) {
                Processes.Result r = Processes.run(
                        Duration.ofSeconds(60),
                        Paths.get(System.getProperty("java.home"), "bin", "jcmd")
                                .toString(),
                        String.valueOf(gateway.pid()),
                        "GC.run");
                if (!r.ok()) {
                    report.fail(Kind.HEAP, "jcmd GC.run failed " + when + ": " + r.output());
                }
            }
            Map<String, Double> m = metrics();
            if (m == null) {
                report.fail(Kind.HEAP, "GET /q/metrics failed " + when);
                return;
            }
            long heap = m.getOrDefault("heap", -1.0).longValue();
            if (heap < 0) {
                report.fail(Kind.HEAP, "no jvm_memory_used_bytes{area=\"heap\"} in /q/metrics " + when);
                return;
            }
            report.maxHeapUsedBytes = Math.max(report.maxHeapUsedBytes, heap);
            if (gc) {
                report.heapAfterGcBytes.add(heap);
                report.liveThreads.add(m.getOrDefault("threads", -1.0).intValue());
                report.openFiles.add(m.getOrDefault("files", -1.0).intValue());
            }
        }

        void sample() {
            checkpoint("periodic", false);
        }

        Map<String, Double> metrics() {
            GatewayProcess.HttpResult r;
            try {
                r = gateway.http("/q/metrics");
            } catch (RuntimeException e) {
                return null;
            }
            if (r.status() != 200) {
                return null;
            }
            Map<String, Double> m = new HashMap<>();
            double heap = 0;
            boolean sawHeap = false;
            for (String line : r.body().lines().toList()) {
                if (line.startsWith("#")) {
                    continue;
                }
                int space = line.lastIndexOf(' ');
                if (space < 0) {
                    continue;
                }
                double value;
                try {
                    value = Double.parseDouble(line.substring(space + 1));
                } catch (NumberFormatException e) {
                    continue;
                }
                if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                    heap += value;
                    sawHeap = true;
                } else if (line.startsWith("jvm_threads_live_threads")) {
                    m.put("threads", value);
                } else if (line.startsWith("process_files_open_files")) {
                    m.put("files", value);
                } else if (line.startsWith("gateway_outbox_pending")) {
                    m.put("outbox", value);
                }
            }
            if (sawHeap) {
                m.put("heap", heap);
            }
            return m;
        }

        // -------------------------------------------------------------- at the end

        void finalChecks() throws IOException {
            // incoming/ must empty once every connection is gone (idle ones end after the idle timeout)
            long until = System.nanoTime() + target.endWithinMillis() * 1_000_000L;
            List<Path> leftovers = list(spool.resolve("incoming")).stream()
                    .map(spool.resolve("incoming")::resolve)
                    .toList();
            while (!leftovers.isEmpty() && System.nanoTime() < until) {
                FuzzCases.pause(200);
                leftovers = list(spool.resolve("incoming")).stream()
                        .map(spool.resolve("incoming")::resolve)
                        .toList();
            }
            for (Path p : leftovers) {
                report.fail(
                        Kind.PARTIAL_FILE, "left in incoming/: " + p.getFileName() + " (" + Files.size(p) + " bytes)");
            }
            if (!echo("after the last case")) {
                report.fail(Kind.ECHO_FAILURE, "C-ECHO not answered after the last case");
            }
            StoreAttempt last = finalValidStore();
            checkSpool(last);
            checkEvents(last);
            checkOutboxDrains();
            checkpoint("end", true);
            checkHeap();
            checkLog();
            checkNothingEscaped();
        }

        /** DCMTK storescu sends one valid CT instance: it must be stored. */
        StoreAttempt finalValidStore() throws IOException {
            Path dir = work.resolve("final-store");
            SyntheticCtSeries.Params params =
                    SyntheticCtSeries.Params.thick(32, 1).withSeed(o.seed()).withThickness(1.0);
            Path file = SyntheticCtSeries.write(dir, params).get(0);
            byte[] all = Files.readAllBytes(file);
            int offset = dataSetOffset(all);
            byte[] dataSet = Arrays.copyOfRange(all, offset, all.length);
            String[] uids = TopLevel.uids(dataSet, true);
            Processes.Result r =
                    Dcmtk.store("FUZZ_FINAL", gateway.aeTitle(), "127.0.0.1", gateway.dicomPort(), List.of(file));
            report.finalStoreOutput = r.output();
            StoreAttempt attempt = new StoreAttempt(
                    -1,
                    uids == null ? "?" : uids[0],
                    uids == null ? null : uids[1],
                    uids == null ? null : uids[2],
                    dataSet,
                    Expect.SUCCESS);
            attempt.status = Dcmtk.storeSuccesses(r) == 1 ? 0 : -1;
            if (attempt.status != 0) {
                report.fail(Kind.WRONG_ANSWER, "the final valid instance (storescu) was not stored: " + r.output());
            }
            return attempt;
        }

        /** Every Success in the spool, byte-identical, where its UIDs say; nothing else in instances/. */
        void checkSpool(StoreAttempt last) throws IOException {
            Path instances = spool.resolve("instances");
            Map<String, Path> dcmFiles = new TreeMap<>();
            try (Stream<Path> all = Files.walk(instances)) {
                for (Path p : all.toList()) {
                    Path rel = instances.relativize(p);
                    boolean dir = Files.isDirectory(p);
                    int depth = rel.toString().isEmpty() ? 0 : rel.getNameCount();
                    if (dir && depth >= 1 && depth <= 2) {
                        if (!UID.matcher(rel.getFileName().toString()).matches()
                                || rel.getFileName().toString().length() > 64) {
                            report.fail(Kind.ESCAPE, "instances/" + rel + ": a directory named after an invalid UID");
                        }
                    } else if (dir && depth > 2) {
                        report.fail(Kind.ESCAPE, "instances/" + rel + ": a directory deeper than <study>/<series>");
                    } else if (!dir) {
                        String name = rel.getFileName().toString();
                        if (depth != 3) {
                            report.fail(Kind.ESCAPE, "instances/" + rel + ": a file outside <study>/<series>/");
                        } else if (name.endsWith(".dcm")) {
                            dcmFiles.put(rel.toString(), p);
                        } else if (!name.startsWith(".")) { // the assembler's .series.json / .ready
                            report.fail(Kind.ESCAPE, "instances/" + rel + ": an unexpected file");
                        }
                    }
                }
            }
            Map<String, List<String>> byName = new HashMap<>();
            dcmFiles.keySet()
                    .forEach(rel -> byName.computeIfAbsent(
                                    Paths.get(rel).getFileName().toString(), k -> new ArrayList<>())
                            .add(rel));
            Set<String> accounted = new HashSet<>();
            List<StoreAttempt> all = new ArrayList<>(stores);
            all.add(last);
            Set<String> successSops = new HashSet<>();
            for (StoreAttempt s : all) {
                if (s.answeredSuccess()) {
                    successSops.add(s.sopInstanceUid);
                }
            }
            for (StoreAttempt s : all) {
                if (s.caseIndex >= 0) {
                    if (s.answeredSuccess()) {
                        report.storesAnsweredSuccess++;
                    } else if (s.status >= 0) {
                        report.storesRefused++;
                    } else {
                        report.storesUnanswered++;
                    }
                }
                List<String> candidates = byName.getOrDefault(s.sopInstanceUid + ".dcm", List.of());
                if (!s.answeredSuccess()) {
                    if (!successSops.contains(s.sopInstanceUid) && !candidates.isEmpty()) {
                        report.fail(
                                Kind.PARTIAL_FILE,
                                "case " + s.caseIndex + " " + s.variant + ": SOP instance " + s.sopInstanceUid + " was "
                                        + (s.status < 0
                                                ? "never answered"
                                                : String.format("refused (0x%04X)", s.status))
                                        + " but is in the spool: " + candidates);
                    }
                    continue;
                }
                String expected =
                        s.studyUid == null ? null : s.studyUid + "/" + s.seriesUid + "/" + s.sopInstanceUid + ".dcm";
                String found = null;
                for (String rel : candidates) {
                    if (FuzzCase.sha256(dataSetOf(dcmFiles.get(rel))).equals(s.sha256)) {
                        found = rel;
                    }
                }
                if (found == null) {
                    report.fail(
                            candidates.isEmpty() ? Kind.LOST_INSTANCE : Kind.PARTIAL_FILE,
                            "case " + s.caseIndex
                                    + " " + s.variant + ": SOP instance " + s.sopInstanceUid
                                    + " was answered Success but "
                                    + (candidates.isEmpty()
                                            ? "is not in the spool"
                                            : "its bytes differ from what was sent: " + candidates));
                    continue;
                }
                accounted.add(found);
                if (expected != null && !expected.equals(found)) {
                    report.fail(
                            Kind.ESCAPE,
                            "case " + s.caseIndex + " " + s.variant + ": stored at instances/" + visible(found)
                                    + ", its UIDs say instances/" + visible(expected));
                }
            }
            for (String rel : dcmFiles.keySet()) {
                if (!accounted.contains(rel)) {
                    report.fail(Kind.PARTIAL_FILE, "instances/" + rel + " was never acknowledged with Success");
                }
            }
        }

        /** Every Success announced on dicom.instance.received (blobRef = its spool path); nothing refused announced. */
        void checkEvents(StoreAttempt last) {
            List<StoreAttempt> all = new ArrayList<>(stores);
            all.add(last);
            long expected = all.stream().filter(StoreAttempt::answeredSuccess).count();
            List<JsonNode> events = EventLog.await(
                    kafka.bootstrapServers(),
                    "dicom.instance.received",
                    e -> true,
                    (int) expected,
                    Duration.ofSeconds(90));
            Set<String> announced = new HashSet<>();
            for (JsonNode e : events) {
                announced.add(e.path("sopInstanceUid").asText());
            }
            Set<String> successSops = new HashSet<>();
            for (StoreAttempt s : all) {
                if (s.answeredSuccess()) {
                    successSops.add(s.sopInstanceUid);
                    if (!announced.contains(s.sopInstanceUid)) {
                        report.fail(
                                Kind.LOST_INSTANCE,
                                "case " + s.caseIndex + ": SOP instance " + s.sopInstanceUid
                                        + " answered Success but never announced on dicom.instance.received");
                    }
                }
            }
            for (StoreAttempt s : all) {
                if (!s.answeredSuccess()
                        && !successSops.contains(s.sopInstanceUid)
                        && announced.contains(s.sopInstanceUid)) {
                    report.fail(
                            Kind.PARTIAL_FILE,
                            "case " + s.caseIndex + ": SOP instance " + s.sopInstanceUid
                                    + " was not acknowledged but was announced");
                }
            }
        }

        void checkOutboxDrains() {
            long until = System.nanoTime() + 60_000_000_000L;
            Double pending = null;
            while (System.nanoTime() < until) {
                Map<String, Double> m = metrics();
                pending = m == null ? null : m.get("outbox");
                if (pending != null && pending == 0) {
                    return;
                }
                FuzzCases.pause(500);
            }
            report.fail(Kind.LOST_INSTANCE, "the event outbox did not drain (gateway_outbox_pending " + pending + ")");
        }

        /**
         * In use always below -Xmx; after a full GC, the end within 64 MiB of the start (the status view keeps every study
         * it has seen, a few KiB each) and not above the mid-run checkpoints by more than that either; threads and open
         * files back near where they started.
         */
        void checkHeap() {
            List<Long> gc = report.heapAfterGcBytes;
            if (report.maxHeapUsedBytes >= report.heapLimitBytes * 0.95) {
                report.fail(
                        Kind.HEAP,
                        String.format(
                                "heap in use reached %d MiB of %d MiB",
                                report.maxHeapUsedBytes >> 20, report.heapLimitBytes >> 20));
            }
            if (gc.size() >= 2) {
                long start = gc.get(0);
                long end = gc.get(gc.size() - 1);
                if (end - start > 64L << 20) {
                    report.fail(
                            Kind.HEAP,
                            String.format(
                                    "heap after a full GC grew from %d to %d MiB over the run",
                                    start >> 20, end >> 20));
                }
            }
            // a leak shows as a rise at every checkpoint; noise and the status view's slow growth do not
            boolean rising = gc.size() >= 4;
            for (int i = 1; i < gc.size() && rising; i++) {
                rising = gc.get(i) - gc.get(i - 1) > 8L << 20;
            }
            if (rising) {
                report.fail(
                        Kind.HEAP,
                        "heap after a full GC rose by more than 8 MiB at every checkpoint (MiB): "
                                + gc.stream().map(v -> v >> 20).toList());
            }
            List<Integer> threads = report.liveThreads;
            if (threads.size() >= 2 && threads.get(threads.size() - 1) > threads.get(0) + 10) {
                report.fail(
                        Kind.HEAP,
                        "live threads grew from " + threads.get(0) + " to " + threads.get(threads.size() - 1)
                                + " (leaked association threads?)");
            }
            List<Integer> files = report.openFiles;
            if (files.size() >= 2 && files.get(files.size() - 1) > files.get(0) + 20) {
                report.fail(
                        Kind.HEAP,
                        "open files grew from " + files.get(0) + " to " + files.get(files.size() - 1)
                                + " (leaked sockets or spool files?)");
            }
        }

        /**
         * The gateway's log: no uncaught error; every A-ABORT the campaign saw has a log line for that peer, and every
         * refused C-STORE of a well-formed SOP Instance UID a line naming it.
         */
        void checkLog() throws IOException {
            String log = Files.readString(gateway.logFile(), StandardCharsets.UTF_8);
            for (String line : log.lines().toList()) {
                if (line.contains("OutOfMemoryError")
                        || line.contains("StackOverflowError")
                        || line.contains("Exception in thread")
                        || line.contains("hs_err_pid")) {
                    report.fail(
                            Kind.CRASH,
                            "gateway log: " + (line.length() > 300 ? line.substring(0, 300) + "..." : line));
                }
            }
            Set<String> abortPorts = new HashSet<>();
            Set<String> namedInRefusals = new HashSet<>();
            Matcher port = Pattern.compile("127\\.0\\.0\\.1:(\\d+)").matcher("");
            Matcher uid = Pattern.compile("[0-9]+(\\.[0-9]+){3,}").matcher("");
            for (String line : log.lines().toList()) {
                if (line.contains("aborting") || line.contains("rejected")) {
                    port.reset(line);
                    while (port.find()) {
                        abortPorts.add(port.group(1));
                    }
                }
                if (line.contains("refused")) {
                    uid.reset(line);
                    while (uid.find()) {
                        namedInRefusals.add(uid.group());
                    }
                }
            }
            for (FuzzCase c : aborted) {
                for (int p : c.abortedPorts) {
                    if (!abortPorts.contains(String.valueOf(p))) {
                        report.fail(
                                Kind.LOG,
                                "case " + c.index + " " + c.category + " [" + c.variant + "]: A-ABORT to port " + p
                                        + " with no log line saying why");
                    }
                }
            }
            for (StoreAttempt s : stores) {
                if (s.status > 0
                        && s.namedInCommand
                        && UID.matcher(s.sopInstanceUid).matches()
                        && !namedInRefusals.contains(s.sopInstanceUid)) {
                    report.fail(
                            Kind.LOG,
                            String.format(
                                    "case %d %s: C-STORE of %s refused with 0x%04X, and no log line names "
                                            + "the instance and the reason",
                                    s.caseIndex, s.variant, s.sopInstanceUid, s.status));
                }
            }
        }

        /** Nothing new or changed outside the spool: the project tree (the gateway's working directory), target/it-work. */
        void checkNothingEscaped() throws IOException {
            diff(
                    "project tree (the gateway's working directory)",
                    projectBefore,
                    snapshot(Processes.projectRoot(), projectExclusions()));
            diff("target/it-work", workBefore, snapshot(work.getParent(), workExclusions()));
            Set<String> top = list(spool);
            for (String name : top) {
                if (!spoolTopBefore.contains(name)) {
                    report.fail(Kind.ESCAPE, "a new entry at the spool's top level: " + name);
                }
            }
            // the hostile UIDs named absolute and relative places with a marker in them: none may exist anywhere near
            List<Path> roots = List.of(
                    Paths.get("/tmp"), Processes.projectRoot(), work.getParent().getParent(), spool);
            for (Path root : roots) {
                try (Stream<Path> walk = Files.walk(root, root.equals(Paths.get("/tmp")) ? 3 : 8)) {
                    walk.filter(p -> {
                                String n = p.getFileName() == null
                                        ? ""
                                        : p.getFileName().toString();
                                return n.contains("fzesc" + target.runId() + "x");
                            })
                            .forEach(p -> report.fail(Kind.ESCAPE, "a file named after a hostile UID: " + p));
                } catch (UncheckedIOException | IOException e) {
                    // unreadable corners of /tmp belong to others
                }
            }
        }

        void diff(String where, Map<String, String> before, Map<String, String> after) {
            for (Map.Entry<String, String> e : after.entrySet()) {
                String was = before.get(e.getKey());
                if (was == null) {
                    report.fail(Kind.ESCAPE, where + ": new file " + e.getKey());
                } else if (!was.equals(e.getValue())) {
                    report.fail(Kind.ESCAPE, where + ": changed " + e.getKey());
                }
            }
        }

        /** The spool itself, the broker's data and the campaign's own final-store folder. */
        Set<Path> workExclusions() {
            return Set.of(
                    spool,
                    kafka.dataDir().toAbsolutePath().normalize(),
                    work.resolve("final-store").toAbsolutePath().normalize());
        }

        Set<Path> projectExclusions() {
            Path root = Processes.projectRoot();
            Set<Path> ex = new HashSet<>();
            for (String p : List.of(
                    ".git",
                    "target/it-logs",
                    "target/it-work",
                    "target/failsafe-reports",
                    "target/surefire-reports",
                    "target/campaign")) {
                ex.add(root.resolve(p).toAbsolutePath().normalize());
            }
            if (o.report() != null) {
                ex.add(o.report().toAbsolutePath().normalize());
            }
            return ex;
        }
    }

    /** Control and non-ASCII characters as \xNN, so two paths that print alike can be told apart. */
    static String visible(String s) {
        StringBuilder b = new StringBuilder();
        for (char ch : s.toCharArray()) {
            if (ch < 0x20 || ch > 0x7e) {
                b.append(String.format("\\x%02X", (int) ch));
            } else {
                b.append(ch);
            }
        }
        return b.toString();
    }

    /** Path -> size and modification time of every regular file under {@code root}, skipping {@code excluded}. */
    static Map<String, String> snapshot(Path root, Set<Path> excluded) throws IOException {
        Map<String, String> files = new TreeMap<>();
        Path base = root.toAbsolutePath().normalize();
        Files.walkFileTree(base, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                return excluded.contains(dir.toAbsolutePath().normalize())
                        ? FileVisitResult.SKIP_SUBTREE
                        : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (!excluded.contains(file.toAbsolutePath().normalize())) {
                    files.put(
                            base.relativize(file).toString(),
                            attrs.size() + "@" + attrs.lastModifiedTime().toMillis());
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
                return FileVisitResult.CONTINUE;
            }
        });
        return files;
    }

    static Set<String> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Set.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return new TreeSet<>(s.map(p -> p.getFileName().toString()).toList());
        }
    }

    /** Where a Part-10 file's data set starts: after the preamble, DICM and the meta group (by its group length). */
    static int dataSetOffset(byte[] part10) {
        // 128 preamble + "DICM" + (0002,0000) UL element of 12 bytes whose value is the rest of the group's length
        return 132 + 12 + (int) HostileBytes.u32le(part10, 140);
    }

    static byte[] dataSetOf(Path part10) {
        try {
            byte[] all = Files.readAllBytes(part10);
            return Arrays.copyOfRange(all, dataSetOffset(all), all.length);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
