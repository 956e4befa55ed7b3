package org.meddiff.gateway.campaign;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.meddiff.gateway.it.support.Processes;

/**
 * What a campaign run measured: its figures (named values, in the order they were taken), its checks (each passed or
 * failed, with the evidence), tables (one row per kill, per series...), quoted log lines, and how it was run (exact
 * command, seed, wall time, {@code uptime} at start and end). Printed as Markdown, written as JSON with --report.
 * A run passes only when it has checks and all of them passed.
 */
public final class CampaignReport {
    /** One pass/fail statement with the numbers behind it. */
    public record Check(String name, boolean passed, String detail) {}

    /** A small table: headers and rows of cells. */
    public record Table(String title, List<String> headers, List<List<String>> rows) {}

    private final String campaign;
    private final String command;
    private final Long seed;
    private final Instant started = Instant.now();
    private final long startedNanos = System.nanoTime();
    private final String loadAtStart = uptime();
    private Duration wallTime;
    private String loadAtEnd;
    private final Map<String, Object> figures = new LinkedHashMap<>();
    private final List<Check> checks = new ArrayList<>();
    private final List<Table> tables = new ArrayList<>();
    private final List<String> quotes = new ArrayList<>();
    private final Map<String, String> files = new LinkedHashMap<>();

    CampaignReport(String campaign, String command, Long seed) {
        this.campaign = campaign;
        this.command = command;
        this.seed = seed;
    }

    CampaignReport figure(String name, Object value) {
        figures.put(name, value);
        return this;
    }

    /** Records a check; returns whether it passed. */
    boolean check(String name, boolean passed, String detail) {
        checks.add(new Check(name, passed, detail));
        return passed;
    }

    void table(String title, List<String> headers, List<List<String>> rows) {
        tables.add(new Table(
                title, List.copyOf(headers), rows.stream().map(List::copyOf).toList()));
    }

    /** A log line quoted as evidence ("where: line"). */
    void quote(String line) {
        quotes.add(line);
    }

    /** Where a log or a data folder of the run is. */
    void file(String what, Path path) {
        files.put(what, path.toAbsolutePath().toString());
    }

    /** Stops the clock and takes the load again. */
    void finish() {
        if (wallTime == null) {
            wallTime = Duration.ofNanos(System.nanoTime() - startedNanos);
            loadAtEnd = uptime();
        }
    }

    public boolean passed() {
        return !checks.isEmpty() && checks.stream().allMatch(Check::passed);
    }

    public List<Check> checks() {
        return List.copyOf(checks);
    }

    public List<Check> failedChecks() {
        return checks.stream().filter(c -> !c.passed()).toList();
    }

    public Map<String, Object> figures() {
        return Collections.unmodifiableMap(figures);
    }

    /** A figure as a number (fails loudly when it is missing or not a number: a test must not read a typo as 0). */
    public long number(String figure) {
        Object v = figures.get(figure);
        if (!(v instanceof Number n)) {
            throw new IllegalArgumentException("no numeric figure '" + figure + "' in " + figures.keySet());
        }
        return n.longValue();
    }

    public String command() {
        return command;
    }

    public String markdown() {
        finish();
        StringBuilder b = new StringBuilder();
        b.append("### ")
                .append(campaign)
                .append(" campaign: ")
                .append(passed() ? "PASSED" : "FAILED")
                .append(" (")
                .append(DateTimeFormatter.ISO_LOCAL_DATE_TIME.format(
                        started.atOffset(ZoneOffset.UTC).withNano(0)))
                .append(" UTC)\n\n");
        b.append("Command: `").append(command).append("`\n");
        if (seed != null) {
            b.append("Seed: ")
                    .append(seed)
                    .append(" (--seed ")
                    .append(seed)
                    .append(" replays the same series and, in crash, the same kill gaps)\n");
        }
        b.append("Wall time: ")
                .append(human(wallTime))
                .append("; machine: ")
                .append(Runtime.getRuntime().availableProcessors())
                .append(" cores\n");
        b.append("Load (`uptime`) at start: `")
                .append(loadAtStart)
                .append("`; at end: `")
                .append(loadAtEnd)
                .append("`\n\n");
        b.append("| figure | value |\n| --- | --- |\n");
        figures.forEach((k, v) -> b.append("| ")
                .append(cell(k))
                .append(" | ")
                .append(cell(String.valueOf(v)))
                .append(" |\n"));
        b.append("\n| check | result | evidence |\n| --- | --- | --- |\n");
        for (Check c : checks) {
            b.append("| ")
                    .append(cell(c.name()))
                    .append(" | ")
                    .append(c.passed() ? "pass" : "**FAIL**")
                    .append(" | ")
                    .append(cell(c.detail()))
                    .append(" |\n");
        }
        for (Table t : tables) {
            b.append("\n")
                    .append(t.title())
                    .append("\n\n| ")
                    .append(String.join(" | ", t.headers()))
                    .append(" |\n|");
            t.headers().forEach(h -> b.append(" --- |"));
            b.append('\n');
            for (List<String> row : t.rows()) {
                b.append("| ")
                        .append(String.join(
                                " | ", row.stream().map(CampaignReport::cell).toList()))
                        .append(" |\n");
            }
        }
        if (!quotes.isEmpty()) {
            b.append("\nLog lines:\n\n");
            quotes.forEach(q -> b.append("    ").append(q).append('\n'));
        }
        if (!files.isEmpty()) {
            b.append("\nFiles:\n\n");
            files.forEach(
                    (k, v) -> b.append("* ").append(k).append(": ").append(v).append('\n'));
        }
        return b.toString();
    }

    public String json() {
        finish();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("campaign", campaign);
        m.put("passed", passed());
        m.put("command", command);
        m.put("seed", seed);
        m.put("started", started.toString());
        m.put("wallTimeSeconds", wallTime.toMillis() / 1000.0);
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("uptimeAtStart", loadAtStart);
        m.put("uptimeAtEnd", loadAtEnd);
        m.put("figures", figures);
        m.put("checks", checks);
        m.put("tables", tables);
        m.put("logLines", quotes);
        m.put("files", files);
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(m);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void writeJson(Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(file, json());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    static String human(Duration d) {
        long s = d.toSeconds();
        return s >= 60 ? (s / 60) + " min " + (s % 60) + " s" : (d.toMillis() / 100) / 10.0 + " s";
    }

    private static String cell(String s) {
        return s == null ? "" : s.replace("|", "\\|").replace("\n", " ");
    }

    /** The output of {@code uptime} (load averages), or /proc/loadavg where uptime is missing. */
    static String uptime() {
        try {
            Processes.Result r = Processes.run(Duration.ofSeconds(5), "uptime");
            if (r.ok()) {
                return r.output().trim();
            }
        } catch (RuntimeException ignored) {
            // fall through
        }
        try {
            return "loadavg " + Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "(load unknown)";
        }
    }
}
