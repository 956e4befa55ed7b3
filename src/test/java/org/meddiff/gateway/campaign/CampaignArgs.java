package org.meddiff.gateway.campaign;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The command line of a campaign: {@code --name value} options and {@code --flag}s, each declared with its default and
 * a help line, so that {@code --help} and the parser cannot disagree. Every value is checked when it is read; a bad one
 * is a {@link UsageException} (exit status 2), never a silent default.
 */
final class CampaignArgs {
    /** A command line the campaign cannot run: unknown option, missing or malformed value. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    private record Option(
            String name, String valueName, String defaultValue, String help, boolean flag, boolean repeatable) {}

    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)?");

    private final String command;
    private final String summary;
    private final Map<String, Option> options = new LinkedHashMap<>();
    private final Map<String, List<String>> given = new LinkedHashMap<>();

    CampaignArgs(String command, String summary) {
        this.command = command;
        this.summary = summary;
    }

    /** An option taking a value; {@code defaultValue} null = none (then read it with {@link #optional}). */
    CampaignArgs option(String name, String valueName, String defaultValue, String help) {
        options.put(name, new Option(name, valueName, defaultValue, help, false, false));
        return this;
    }

    /** An option that may be given any number of times (e.g. --gateway-property key=value). */
    CampaignArgs repeatable(String name, String valueName, String help) {
        options.put(name, new Option(name, valueName, null, help, false, true));
        return this;
    }

    CampaignArgs flag(String name, String help) {
        options.put(name, new Option(name, null, null, help, true, false));
        return this;
    }

    /** Parses {@code args}; false when --help was asked for (print {@link #usage()} and exit 0). */
    boolean parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                return false;
            }
            String name = a;
            String inlineValue = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 2) {
                name = a.substring(0, eq);
                inlineValue = a.substring(eq + 1);
            }
            Option o = name.startsWith("--") ? options.get(name.substring(2)) : null;
            if (o == null) {
                throw new UsageException("unknown argument '" + a + "'");
            }
            String value;
            if (o.flag()) {
                if (inlineValue != null) {
                    throw new UsageException("--" + o.name() + " takes no value");
                }
                value = "true";
            } else if (inlineValue != null) {
                value = inlineValue;
            } else if (i + 1 < args.length) {
                value = args[++i];
            } else {
                throw new UsageException("--" + o.name() + " needs a value (" + o.valueName() + ")");
            }
            List<String> values = given.computeIfAbsent(o.name(), k -> new ArrayList<>());
            if (!o.repeatable() && !values.isEmpty()) {
                throw new UsageException("--" + o.name() + " given twice");
            }
            values.add(value);
        }
        return true;
    }

    String usage() {
        StringBuilder b = new StringBuilder();
        b.append("usage: bin/campaign ")
                .append(command)
                .append(" [options]\n\n")
                .append(summary)
                .append("\n\noptions:\n");
        for (Option o : options.values()) {
            String left = "  --" + o.name() + (o.flag() ? "" : " " + o.valueName());
            b.append(String.format(Locale.ROOT, "%-30s %s", left, o.help()));
            if (o.defaultValue() != null) {
                b.append(" (default ").append(o.defaultValue()).append(')');
            }
            if (o.repeatable()) {
                b.append(" (repeatable)");
            }
            b.append('\n');
        }
        b.append(String.format(Locale.ROOT, "%-30s %s%n", "  --help", "this text"));
        b.append("\nExit status: 0 every check passed, 1 a check failed (or the run broke off), 2 usage error.\n");
        return b.toString();
    }

    private Option declared(String name) {
        Option o = options.get(name);
        if (o == null) {
            throw new IllegalArgumentException("option --" + name + " is not declared");
        }
        return o;
    }

    String string(String name) {
        Option o = declared(name);
        List<String> v = given.get(name);
        String s = v == null ? o.defaultValue() : v.get(v.size() - 1);
        if (s == null) {
            throw new UsageException("--" + name + " is required");
        }
        return s;
    }

    Optional<String> optional(String name) {
        declared(name);
        List<String> v = given.get(name);
        return v == null ? Optional.ofNullable(declared(name).defaultValue()) : Optional.of(v.get(v.size() - 1));
    }

    boolean flag(String name) {
        declared(name);
        return given.containsKey(name);
    }

    List<String> all(String name) {
        declared(name);
        return List.copyOf(given.getOrDefault(name, List.of()));
    }

    int integer(String name, int min, int max) {
        String s = string(name);
        try {
            int v = Integer.parseInt(s.trim());
            if (v < min || v > max) {
                throw new UsageException("--" + name + " must be in [" + min + ", " + max + "]: " + s);
            }
            return v;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer: " + s);
        }
    }

    long longValue(String name) {
        String s = string(name);
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer: " + s);
        }
    }

    double decimal(String name, double min, double max) {
        String s = string(name);
        try {
            double v = Double.parseDouble(s.trim());
            if (!(v >= min && v <= max)) {
                throw new UsageException("--" + name + " must be in [" + min + ", " + max + "]: " + s);
            }
            return v;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number: " + s);
        }
    }

    Duration duration(String name, Duration min, Duration max) {
        Duration d = parseDuration(name, string(name));
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw new UsageException(
                    "--" + name + " must be between " + format(min) + " and " + format(max) + ": " + string(name));
        }
        return d;
    }

    /** {@code key=value} pairs of a repeatable option, in order. */
    Map<String, String> keyValues(String name) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String kv : all(name)) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new UsageException("--" + name + " wants key=value: " + kv);
            }
            out.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
        }
        return out;
    }

    /** "500ms", "60s", "10m", "1h"; a bare number is seconds. */
    static Duration parseDuration(String name, String text) {
        Matcher m = DURATION.matcher(text.trim());
        if (!m.matches()) {
            throw new UsageException("--" + name + " must look like 500ms, 60s, 10m or 1h: " + text);
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
    }

    /** The shortest exact text {@link #parseDuration} reads back: 10m, 90s, 1500ms. */
    static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 3_600_000 == 0 && ms > 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0 && ms > 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
