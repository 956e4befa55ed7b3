package org.meddiff.gateway.campaign;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * What a fuzz campaign run found: per category the cases, the answers seen and the failures, and the totals the
 * issue asks for (crashes, partial files, escapes, echo failures, heap). {@link #passed()} is the verdict.
 */
public final class FuzzReport {
    /** Failure kinds, so the totals line up with the checks. */
    public enum Kind {
        CRASH,
        PARTIAL_FILE,
        ESCAPE,
        ECHO_FAILURE,
        HANG,
        LOST_INSTANCE,
        WRONG_ANSWER,
        HEAP,
        LOG,
        INCOMPLETE
    }

    public static final class CategoryStats {
        public int cases;
        public final Map<String, Integer> answers = new TreeMap<>();
        public int failures;
        public final Map<String, Integer> variants = new TreeMap<>();
    }

    public long seed;
    public int casesPlanned;
    public int casesRun;
    public String command;
    public String gatewayLog;
    public final Map<Category, CategoryStats> categories = new EnumMap<>(Category.class);
    public final Map<Kind, Integer> failureCounts = new EnumMap<>(Kind.class);
    /** The first failures in detail (all are counted). */
    public final List<String> failureDetails = new ArrayList<>();

    public int echoes;
    public int storesAnsweredSuccess;
    public int storesRefused;
    public int storesUnanswered;
    public long heapLimitBytes;
    public long maxHeapUsedBytes;
    /** Heap in use right after a full GC, at the checkpoints (start, each quarter, end). */
    public final List<Long> heapAfterGcBytes = new ArrayList<>();

    public final List<Integer> liveThreads = new ArrayList<>();
    public final List<Integer> openFiles = new ArrayList<>();
    public double wallSeconds;
    public String finalStoreOutput;

    FuzzReport() {
        for (Category c : Category.values()) {
            categories.put(c, new CategoryStats());
        }
        for (Kind k : Kind.values()) {
            failureCounts.put(k, 0);
        }
    }

    void fail(Kind kind, String detail) {
        failureCounts.merge(kind, 1, Integer::sum);
        if (failureDetails.size() < 500) {
            failureDetails.add(kind + ": " + detail);
        }
    }

    void record(FuzzCase c) {
        CategoryStats s = categories.get(c.category);
        s.cases++;
        for (String a : c.answers) {
            s.answers.merge(a, 1, Integer::sum);
        }
        s.variants.merge(c.variant, 1, Integer::sum);
        s.failures += c.failures.size();
        for (String f : c.failures) {
            Kind kind = f.contains("did not end the connection")
                            || f.contains("still open after")
                            || f.contains("never ended")
                            || f.contains("still served the association")
                    ? Kind.HANG
                    : Kind.WRONG_ANSWER;
            fail(kind, "case " + c.index + " " + c.category + " [" + c.variant + "]: " + f);
        }
    }

    public int failures(Kind kind) {
        return failureCounts.get(kind);
    }

    public int totalFailures() {
        return failureCounts.values().stream().mapToInt(Integer::intValue).sum();
    }

    public boolean passed() {
        return totalFailures() == 0;
    }

    /** The Markdown table and totals for docs/RELIABILITY.md. */
    public String markdown() {
        StringBuilder b = new StringBuilder();
        b.append("| category | cases | answers seen | failures |\n| --- | ---: | --- | ---: |\n");
        for (Map.Entry<Category, CategoryStats> e : categories.entrySet()) {
            CategoryStats s = e.getValue();
            if (s.cases == 0) {
                continue;
            }
            b.append("| ")
                    .append(e.getKey().description)
                    .append(" | ")
                    .append(s.cases)
                    .append(" | ")
                    .append(answerSummary(s.answers))
                    .append(" | ")
                    .append(s.failures)
                    .append(" |\n");
        }
        b.append('\n');
        b.append(String.format(
                Locale.ROOT,
                "* cases: %d of %d%s%n",
                casesRun,
                casesPlanned,
                casesRun < casesPlanned ? " (stopped by the time bound)" : ""));
        b.append(String.format(
                Locale.ROOT,
                "* crashes: %d; partial files: %d; escapes: %d; echo failures: %d of %d echoes%n",
                failures(Kind.CRASH),
                failures(Kind.PARTIAL_FILE),
                failures(Kind.ESCAPE),
                failures(Kind.ECHO_FAILURE),
                echoes));
        b.append(String.format(
                Locale.ROOT,
                "* hangs: %d; lost instances: %d; wrong answers: %d; heap: %d; log: %d%n",
                failures(Kind.HANG),
                failures(Kind.LOST_INSTANCE),
                failures(Kind.WRONG_ANSWER),
                failures(Kind.HEAP),
                failures(Kind.LOG)));
        b.append(String.format(
                Locale.ROOT,
                "* C-STOREs: %d answered Success (each found byte-identical in the spool and announced), "
                        + "%d refused (none in the spool), %d unanswered (connection cut on purpose)%n",
                storesAnsweredSuccess,
                storesRefused,
                storesUnanswered));
        b.append(String.format(
                Locale.ROOT,
                "* heap: max %.0f MiB in use of %.0f MiB (-Xmx); after a full GC at start/quarters/end: %s MiB%n",
                mib(maxHeapUsedBytes),
                mib(heapLimitBytes),
                String.join(
                        " / ",
                        heapAfterGcBytes.stream()
                                .map(v -> String.format(Locale.ROOT, "%.0f", mib(v)))
                                .toList())));
        b.append(String.format(
                Locale.ROOT, "* live threads at the checkpoints: %s; open files: %s%n", liveThreads, openFiles));
        b.append(String.format(Locale.ROOT, "* wall time: %.0f s; seed: %d%n", wallSeconds, seed));
        b.append("* command: `").append(command).append("`\n");
        return b.toString();
    }

    private static String answerSummary(Map<String, Integer> answers) {
        List<Map.Entry<String, Integer>> sorted = new ArrayList<>(answers.entrySet());
        sorted.sort((x, y) -> y.getValue() - x.getValue());
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, Integer> e : sorted) {
            parts.add(e.getKey() + " " + e.getValue());
        }
        return String.join(", ", parts);
    }

    private static double mib(long bytes) {
        return bytes / 1024.0 / 1024.0;
    }

    public String json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("passed", passed());
        m.put("seed", seed);
        m.put("casesPlanned", casesPlanned);
        m.put("casesRun", casesRun);
        m.put("command", command);
        m.put("wallSeconds", wallSeconds);
        m.put("failureCounts", failureCounts);
        m.put("failureDetails", failureDetails);
        m.put("echoes", echoes);
        m.put("storesAnsweredSuccess", storesAnsweredSuccess);
        m.put("storesRefused", storesRefused);
        m.put("storesUnanswered", storesUnanswered);
        m.put("heapLimitBytes", heapLimitBytes);
        m.put("maxHeapUsedBytes", maxHeapUsedBytes);
        m.put("heapAfterGcBytes", heapAfterGcBytes);
        m.put("liveThreads", liveThreads);
        m.put("openFiles", openFiles);
        m.put("gatewayLog", gatewayLog);
        Map<String, Object> cats = new LinkedHashMap<>();
        categories.forEach((k, v) -> cats.put(
                k.name(),
                Map.of(
                        "description",
                        k.description,
                        "cases",
                        v.cases,
                        "answers",
                        v.answers,
                        "variants",
                        v.variants,
                        "failures",
                        v.failures)));
        m.put("categories", cats);
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(m);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
