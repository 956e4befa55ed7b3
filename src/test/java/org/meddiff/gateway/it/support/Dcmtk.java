package org.meddiff.gateway.it.support;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * DCMTK command-line tools (Debian dcmtk 3.6.7) as a test peer. Every call returns the exit code
 * and the combined stdout+stderr ({@link Processes.Result}).
 *
 * <p>{@link #store} runs {@code storescu -v}, so the output has one "Received Store Response"
 * line per file ({@link #storeSuccesses}). If {@link #NODELAY_SHIM} has been built (src/bench/nodelay, see
 * bin/benchmark-ingest) {@link #storeFast} preloads it so storescu does not wait on Nagle.
 */
public final class Dcmtk {
    /** The TCP_NODELAY LD_PRELOAD shim built by bin/benchmark-ingest. */
    public static final Path NODELAY_SHIM = Processes.projectRoot().resolve("data/bench/libnodelay.so");

    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);

    private Dcmtk() {}

    /** C-ECHO to {@code calledAet}@host:port (calling AE "ECHOSCU"). */
    public static Processes.Result echo(String calledAet, String host, int port) {
        return Processes.run(
                List.of("echoscu", "-v", "-to", "10", "-aet", "ECHOSCU", "-aec", calledAet, host, String.valueOf(port)),
                null,
                null,
                Duration.ofSeconds(60));
    }

    /** C-STORE of {@code files} in one association ({@code storescu -v -aet calling -aec called}). */
    public static Processes.Result store(String callingAet, String calledAet, String host, int port, List<Path> files) {
        return store(callingAet, calledAet, host, port, files, List.of(), Map.of());
    }

    /** Like {@link #store} with TCP_NODELAY forced by the LD_PRELOAD shim, if it is built. */
    public static Processes.Result storeFast(
            String callingAet, String calledAet, String host, int port, List<Path> files) {
        Map<String, String> env =
                Files.isRegularFile(NODELAY_SHIM) ? Map.of("LD_PRELOAD", NODELAY_SHIM.toString()) : Map.of();
        return store(callingAet, calledAet, host, port, files, List.of(), env);
    }

    /** storescu with extra options (e.g. "+sd" + a folder, "-xs" for a transfer syntax) and environment. */
    public static Processes.Result store(
            String callingAet,
            String calledAet,
            String host,
            int port,
            List<Path> files,
            List<String> extraOptions,
            Map<String, String> env) {
        List<String> cmd = new ArrayList<>(List.of(
                "storescu", "-v", "-to", "30", "-ta", "30", "-td", "120", "-aet", callingAet, "-aec", calledAet));
        cmd.addAll(extraOptions);
        cmd.add(host);
        cmd.add(String.valueOf(port));
        files.forEach(f -> cmd.add(f.toString()));
        return Processes.run(cmd, null, env, DEFAULT_TIMEOUT);
    }

    /** Number of "Received Store Response (Success)" lines in a {@link #store} result. */
    public static long storeSuccesses(Processes.Result r) {
        return r.output()
                .lines()
                .filter(l -> l.contains("Received Store Response (Success)"))
                .count();
    }

    /** {@code dcmdump file} (add options such as "+P", "0020,000e" through {@link #dcmdump(Path, String...)}). */
    public static Processes.Result dcmdump(Path file) {
        return dcmdump(file, new String[0]);
    }

    public static Processes.Result dcmdump(Path file, String... options) {
        List<String> cmd = new ArrayList<>(List.of("dcmdump"));
        cmd.addAll(List.of(options));
        cmd.add(file.toString());
        return Processes.run(cmd, null, null, Duration.ofSeconds(60));
    }

    /** The value of one tag (e.g. "0020,000e") as dcmdump prints it between [ ], or null. */
    public static String tagValue(Path file, String tag) {
        Processes.Result r = dcmdump(file, "+P", tag);
        for (String line : r.output().lines().toList()) {
            int a = line.indexOf('[');
            int b = line.indexOf(']', a + 1);
            if (line.startsWith("(" + tag.toLowerCase()) && a >= 0 && b > a) {
                return line.substring(a + 1, b);
            }
        }
        return null;
    }

    /** {@code dump2dcm +te dump out} run in the dump's folder (so "=file" pixel references resolve). */
    public static Processes.Result dump2dcm(Path dump, Path out) {
        Path dir = dump.toAbsolutePath().getParent();
        return Processes.run(
                List.of(
                        "dump2dcm",
                        "+te",
                        dump.toAbsolutePath().toString(),
                        out.toAbsolutePath().toString()),
                dir,
                null,
                Duration.ofSeconds(60));
    }
}
