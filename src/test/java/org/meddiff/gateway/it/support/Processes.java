package org.meddiff.gateway.it.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Shared plumbing for the process wrappers: project paths, log files, running commands. */
public final class Processes {
    private Processes() {}

    /** A finished command: exit code and stdout+stderr together. */
    public record Result(int exitCode, String output) {
        public boolean ok() {
            return exitCode == 0;
        }

        /** Lines of the output that contain {@code text}. */
        public List<String> linesContaining(String text) {
            return output.lines().filter(l -> l.contains(text)).toList();
        }

        @Override
        public String toString() {
            return "exit " + exitCode + ":\n" + output;
        }
    }

    /** The project root: system property {@code project.root} (set by failsafe), else the working dir. */
    public static Path projectRoot() {
        String p = System.getProperty("project.root");
        return (p == null || p.isBlank() ? Paths.get("") : Paths.get(p))
                .toAbsolutePath()
                .normalize();
    }

    /** target/it-logs/ under the project root, created. */
    public static Path logDir() {
        return mkdirs(projectRoot().resolve("target/it-logs"));
    }

    /** A fresh folder under target/it-work/ (never deleted by the harness: look at it after a failure). */
    public static Path workDir(String name) {
        Path base = mkdirs(projectRoot().resolve("target/it-work"));
        try {
            return Files.createTempDirectory(base, name + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path mkdirs(Path p) {
        try {
            return Files.createDirectories(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The java launcher of the running JVM (the Temurin JDK the tests run on). */
    public static String javaExecutable() {
        return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Runs a command to completion (stdout and stderr merged), killing it after {@code timeout}. */
    public static Result run(List<String> command, Path workDir, Map<String, String> env, Duration timeout) {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        if (workDir != null) {
            pb.directory(workDir.toFile());
        }
        if (env != null) {
            pb.environment().putAll(env);
        }
        try {
            Path out = Files.createTempFile("it-cmd-", ".out");
            try {
                pb.redirectOutput(out.toFile());
                Process p = pb.start();
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly().waitFor();
                    return new Result(
                            124,
                            Files.readString(out, StandardCharsets.UTF_8) + "\n[killed after " + timeout + ": "
                                    + String.join(" ", command) + "]");
                }
                return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static Result run(Duration timeout, String... command) {
        return run(List.of(command), null, null, timeout);
    }

    /** Appends a marker line to a log file (so restarts are visible in one file). */
    public static void logMarker(Path log, String text) {
        try {
            Files.writeString(
                    log,
                    "\n===== " + Instant.now() + " " + text + " =====\n",
                    StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last {@code lines} lines of a file, for failure messages. */
    public static String tail(Path file, int lines) {
        try {
            if (!Files.exists(file)) {
                return "(no " + file + ")";
            }
            List<String> all = new String(Files.readAllBytes(file), StandardCharsets.UTF_8)
                    .lines()
                    .toList();
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e + ")";
        }
    }

    public static String read(Path file) {
        try {
            return Files.exists(file) ? new String(Files.readAllBytes(file), StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** SIGTERM, wait up to {@code grace}, then SIGKILL (descendants too). Returns the exit code or -1. */
    public static int terminate(Process p, Duration grace) {
        if (p == null) {
            return -1;
        }
        try {
            if (p.isAlive()) {
                p.destroy();
                if (!p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                    kill(p);
                }
            }
            return p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill(p);
            return -1;
        }
    }

    /** SIGKILL to the process and its descendants; waits until it is gone. */
    public static void kill(Process p) {
        if (p == null) {
            return;
        }
        List<ProcessHandle> children = new ArrayList<>(p.descendants().toList());
        p.destroyForcibly();
        children.forEach(ProcessHandle::destroyForcibly);
        try {
            p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
