package org.meddiff.gateway.tools;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.it.support.Dcmtk;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;
import org.meddiff.gateway.it.support.OrthancProcess;
import org.meddiff.gateway.it.support.Ports;
import org.meddiff.gateway.it.support.Processes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * DICOM ingest, side by side in one run: the same storescu command sends the same CT slices, over 1 and more parallel
 * associations (the slices dealt out among them), to DCMTK storescp (writes files, no fsync; serves one association at
 * a time), to Orthanc (an indexed PACS) and to the gateway (durable: on disk and in the outbox before Success, then
 * Kafka). Reports instances/s and the gateway's ratios to each peer, the gateway's per-instance answer latency
 * (p50/p99 of gateway_ingest_answer: last fragment to answer), the series-ready latency (dicom.series.ready's
 * timestamp minus the last acknowledgement minus the quiet period) and the gateway's heap high-water mark.
 */
@Command(
        name = "benchmark-ingest",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description =
                "DICOM ingest: gateway vs DCMTK storescp and Orthanc, 1 and more associations; Markdown on stdout.")
public final class IngestBenchmark implements Callable<Integer> {
    @Option(names = "--slices", defaultValue = "324", description = "CT slices sent")
    int slices;

    @Option(names = "--size", defaultValue = "512", description = "rows and columns of each slice")
    int size;

    @Option(
            names = "--associations",
            defaultValue = "1,4,8",
            split = ",",
            description = "numbers of parallel associations, each a row group")
    List<Integer> associations;

    @Option(names = "--repeats", defaultValue = "3", description = "runs per number of associations (median shown)")
    int repeats;

    @Option(
            names = "--nagle",
            description = "leave Nagle on at the DCMTK ends (as modalities ship); default: forced off")
    boolean nagle;

    @Option(names = "--quiet-period", defaultValue = "2s", description = "the gateway's series quiet period")
    String quietPeriod;

    @Option(names = "--heap", defaultValue = "1g", description = "the gateway's -Xmx")
    String heap;

    @Option(
            names = "--peers",
            defaultValue = "storescp,orthanc",
            split = ",",
            description = "peers measured beside the gateway: storescp, orthanc")
    List<String> peers;

    private static final int WARM_UP_SLICES = 60;

    @Option(
            names = "--gateway-jar",
            description =
                    "another build of the gateway (its quarkus-run.jar), e.g. to measure before and after a change")
    Path gatewayJar;

    /** One run's figures; NaN where not measured. */
    record Run(
            double storescp,
            double orthanc,
            double gateway,
            double p50Ms,
            double p99Ms,
            double readyMs,
            double heapMb) {}

    public static void main(String[] args) {
        ToolMain.run(new IngestBenchmark(), args);
    }

    @Override
    public Integer call() throws Exception {
        KafkaBrokerProcess.quietKafkaClientLogs();
        if (gatewayJar != null) {
            System.setProperty("gateway.app.jar", gatewayJar.toAbsolutePath().toString());
        }
        List<Path> files = series(
                "ct-" + slices + "x" + size,
                SyntheticCtSeries.Params.thick(size, slices).withThickness(1.0).withDescription("Synthetic CT 1 mm"));
        long bytes = 0;
        for (Path f : files) {
            bytes += Files.size(f);
        }
        String load = Files.readString(Path.of("/proc/loadavg")).trim();
        System.out.printf(
                Locale.ROOT,
                "### Ingest: gateway vs storescp and Orthanc (%s, %d cores, load at start %s)%n%n",
                LocalDate.now(),
                Runtime.getRuntime().availableProcessors(),
                load.substring(0, load.indexOf(' ', load.indexOf(' ', load.indexOf(' ') + 1) + 1)));
        System.out.printf(
                Locale.ROOT,
                "%d CT instances of %dx%d (%.0f MB) on loopback; Nagle %s at the DCMTK ends; the gateway (%s) with -Xmx%s, "
                        + "quiet period %s, its own Kafka broker, warmed up with %d slices of another study.%n",
                files.size(),
                size,
                size,
                bytes / 1e6,
                nagle ? "left on" : "forced off (TCP_NODELAY shim)",
                GatewayProcess.appJar(),
                heap,
                quietPeriod,
                WARM_UP_SLICES);
        for (int k : associations) {
            List<Run> runs = new ArrayList<>();
            for (int r = 1; r <= repeats; r++) {
                runs.add(run(files, k, r));
                System.err.printf(
                        Locale.ROOT, "benchmark-ingest: %d association(s), run %d: %s%n", k, r, runs.getLast());
            }
            table(k, runs, files.size());
        }
        return 0;
    }

    private Run run(List<Path> files, int k, int index) throws Exception {
        List<List<Path>> parts = deal(files, k);
        double storescp = peers.contains("storescp") ? storescp(parts, files.size(), k, index) : Double.NaN;
        double orthanc = peers.contains("orthanc") ? orthanc(parts, files.size(), k, index) : Double.NaN;
        return gateway(parts, files, k, index, storescp, orthanc);
    }

    private double storescp(List<List<Path>> parts, int n, int k, int index) throws Exception {
        Path out = Processes.mkdirs(Processes.workDir("bench-storescp-" + k + "-" + index));
        int port = Ports.free(1)[0];
        List<String> cmd = List.of("storescp", "-aet", "STORESCP", "-od", out.toString(), String.valueOf(port));
        ProcessBuilder builder = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(Processes.logDir().resolve("bench-storescp.log").toFile());
        if (!nagle) {
            builder.environment().putAll(shim()); // the peer's delayed ACKs would otherwise decide the result
        }
        Process scp = builder.start();
        try {
            if (!Ports.awaitAccepting(port, Duration.ofSeconds(10))) {
                throw new IllegalStateException("storescp does not listen on " + port);
            }
            double rate = send(parts, "STORESCP", port, n);
            try (Stream<Path> received = Files.list(out)) {
                long got = received.count();
                if (got != n) {
                    throw new IllegalStateException("storescp wrote " + got + " of " + n + " files");
                }
            }
            return rate;
        } finally {
            scp.destroy();
            scp.waitFor();
            deleteTree(out);
        }
    }

    private double orthanc(List<List<Path>> parts, int n, int k, int index) throws Exception {
        OrthancProcess peer = new OrthancProcess("bench-" + k + "-" + index);
        if (!nagle) {
            shim().forEach(peer::environment); // as for storescp: its delayed ACKs would decide the result
        }
        try (OrthancProcess orthanc = peer.start()) {
            return send(parts, orthanc.aeTitle(), orthanc.dicomPort(), n);
        }
    }

    private Run gateway(List<List<Path>> parts, List<Path> files, int k, int index, double storescp, double orthanc)
            throws Exception {
        try (KafkaBrokerProcess kafka = KafkaBrokerProcess.start("bench-" + k + "-" + index);
                GatewayProcess gw = new GatewayProcess(
                        "bench-" + k + "-" + index,
                        Map.of(
                                "kafka.bootstrap.servers",
                                kafka.bootstrapServers(),
                                "gateway.assemble.series-quiet-period",
                                quietPeriod,
                                "gateway.stages.infer",
                                "false",
                                "gateway.stages.dispatch",
                                "false"))) {
            gw.jvmOption("-Xmx" + heap).start().awaitReady();
            warmUp(gw);
            double rate = send(parts, gw.aeTitle(), gw.dicomPort(), files.size());
            long lastAck = System.currentTimeMillis();
            String series = Dcmtk.tagValue(files.get(0), "0020,000e");
            long readyAt = seriesReadyTime(kafka.bootstrapServers(), series, Duration.ofSeconds(120));
            double ready = readyAt < 0
                    ? Double.NaN
                    : readyAt
                            - lastAck
                            - Duration.parse("PT" + quietPeriod.toUpperCase(Locale.ROOT))
                                    .toMillis();
            String metrics = gw.http("/q/metrics").body();
            double p50 = metric(metrics, "gateway_ingest_answer_seconds\\{[^}]*quantile=\"0.5\"[^}]*\\}") * 1000;
            double p99 = metric(metrics, "gateway_ingest_answer_seconds\\{[^}]*quantile=\"0.99\"[^}]*\\}") * 1000;
            double heapMb = metric(metrics, "gateway_heap_high_water_bytes(\\{[^}]*\\})?") / 1e6;
            deleteTree(gw.spoolDir());
            return new Run(storescp, orthanc, rate, p50, p99, ready, heapMb);
        }
    }

    /**
     * A JVM that has not run the ingest path yet compiles it while it works: a short series of its own first (another
     * study), as a running gateway would have had, so the figures are of the compiled code.
     */
    private void warmUp(GatewayProcess gw) throws IOException {
        List<Path> warm = series(
                "ct-warmup-" + WARM_UP_SLICES + "x" + size,
                SyntheticCtSeries.Params.thick(size, WARM_UP_SLICES)
                        .withSeed(99)
                        .withThickness(1.0));
        Processes.Result r = Dcmtk.store(
                "BENCH", gw.aeTitle(), "127.0.0.1", gw.dicomPort(), warm, List.of(), nagle ? Map.of() : shim());
        if (Dcmtk.storeSuccesses(r) != warm.size()) {
            throw new IllegalStateException("warm-up not stored: " + r.output());
        }
    }

    /** Sends part i over association i, all at once; returns instances per second from first start to last end. */
    private double send(List<List<Path>> parts, String aet, int port, int n) throws Exception {
        Map<String, String> env = nagle ? Map.of() : shim();
        long t0 = System.nanoTime();
        long stored = 0;
        // a thread per association: the common pool has fewer threads than associations on most machines, and would
        // send some of them one after another
        try (ExecutorService senders =
                Executors.newThreadPerTaskExecutor(Thread.ofPlatform().factory())) {
            List<Future<Processes.Result>> runs = new ArrayList<>();
            for (List<Path> part : parts) {
                runs.add(senders.submit(() -> Dcmtk.store("BENCH", aet, "127.0.0.1", port, part, List.of(), env)));
            }
            for (Future<Processes.Result> r : runs) {
                stored += Dcmtk.storeSuccesses(r.get());
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (stored != n) {
            throw new IllegalStateException(aet + ": " + stored + " of " + n + " instances stored with Success");
        }
        return n / seconds;
    }

    /** The timestamp (ms) of the dicom.series.ready of {@code series}, or -1 when none came in time. */
    private static long seriesReadyTime(String bootstrap, String series, Duration timeout) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-" + System.nanoTime());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<String, String> c =
                new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            c.subscribe(List.of("dicom.series.ready"));
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    if (r.value().contains(series)) {
                        return r.timestamp();
                    }
                }
            }
        }
        return -1;
    }

    private static double metric(String text, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + " ([0-9.eE+-]+)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(m.groupCount())) : Double.NaN;
    }

    /** The slices dealt out round-robin, so every association sends slices from the whole series. */
    static List<List<Path>> deal(List<Path> files, int k) {
        List<List<Path>> parts = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            parts.add(new ArrayList<>());
        }
        for (int i = 0; i < files.size(); i++) {
            parts.get(i % k).add(files.get(i));
        }
        return parts;
    }

    private Map<String, String> shim() {
        if (!Files.isRegularFile(Dcmtk.NODELAY_SHIM)) {
            throw new IllegalStateException(Dcmtk.NODELAY_SHIM + " is missing (bin/benchmark-ingest builds it)");
        }
        return Map.of("LD_PRELOAD", Dcmtk.NODELAY_SHIM.toString());
    }

    /** The series under data/bench/{@code name}, written once and reused by every later run. */
    private static List<Path> series(String name, SyntheticCtSeries.Params params) throws IOException {
        Path dir = Processes.projectRoot().resolve("data/bench").resolve(name);
        if (!Files.isDirectory(dir)) {
            Path tmp = dir.resolveSibling(name + ".tmp");
            deleteTree(tmp);
            SyntheticCtSeries.write(tmp, params);
            Files.move(tmp, dir);
        }
        try (Stream<Path> list = Files.list(dir)) {
            return list.filter(f -> f.toString().endsWith(".dcm")).sorted().toList();
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private void table(int k, List<Run> runs, int n) {
        System.out.printf(Locale.ROOT, "%n%d association%s in parallel:%n%n", k, k == 1 ? "" : "s");
        System.out.println("| run | storescp /s | Orthanc /s | gateway /s | gateway / storescp | gateway / Orthanc "
                + "| answer p50 / p99 ms | series ready ms | heap high-water MB |");
        System.out.println("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (int i = 0; i < runs.size(); i++) {
            row(String.valueOf(i + 1), runs.get(i));
        }
        row(
                "**median**",
                new Run(
                        median(runs, Run::storescp),
                        median(runs, Run::orthanc),
                        median(runs, Run::gateway),
                        median(runs, Run::p50Ms),
                        median(runs, Run::p99Ms),
                        median(runs, Run::readyMs),
                        median(runs, Run::heapMb)));
    }

    private static void row(String label, Run r) {
        System.out.printf(
                Locale.ROOT,
                "| %s | %s | %s | %s | %s | %s | %s / %s | %s | %s |%n",
                label,
                num(r.storescp(), "%.0f"),
                num(r.orthanc(), "%.0f"),
                num(r.gateway(), "%.0f"),
                num(r.gateway() / r.storescp(), "%.2f"),
                num(r.gateway() / r.orthanc(), "%.2f"),
                num(r.p50Ms(), "%.1f"),
                num(r.p99Ms(), "%.1f"),
                num(r.readyMs(), "%.0f"),
                num(r.heapMb(), "%.0f"));
    }

    private static String num(double v, String format) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "-" : String.format(Locale.ROOT, format, v);
    }

    private static double median(List<Run> runs, ToDoubleFunction<Run> f) {
        double[] v = runs.stream()
                .mapToDouble(f)
                .filter(x -> !Double.isNaN(x))
                .sorted()
                .toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
