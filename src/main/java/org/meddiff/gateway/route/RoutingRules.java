package org.meddiff.gateway.route;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

import org.meddiff.gateway.events.SeriesAttributes;

/**
 * Declarative routing: each rule names a task and the conditions a series must meet (all present
 * conditions must hold). Pure logic, so it is tested without Kafka.
 */
public final class RoutingRules {

    /** One rule: a series that meets its criteria gets a job of its task. */
    public record Rule(String name, String task, Criteria when) {
        boolean matches(SeriesAttributes s) {
            return when.matches(s);
        }
    }

    /**
     * What a series must meet; every empty condition is "don't care", so {@link #ANY} matches everything. Built up with
     * the withers: {@code Criteria.ANY.modality("CT").minSliceThicknessMm(3.0)}.
     */
    public record Criteria(
            Optional<String> modality,
            Optional<Double> minSliceThicknessMm,
            Optional<Double> maxSliceThicknessMm,
            Optional<Pattern> seriesDescription,
            Optional<List<String>> bodyParts,
            Optional<String> imageTypeContains,
            Optional<List<String>> callingAes,
            Optional<List<String>> calledAes) {
        public static final Criteria ANY = new Criteria(
                Optional.empty(),
                Optional.empty(),
                Optional.empty(),
                Optional.empty(),
                Optional.empty(),
                Optional.empty(),
                Optional.empty(),
                Optional.empty());

        public Criteria modality(String value) {
            return new Criteria(
                    Optional.of(value),
                    minSliceThicknessMm,
                    maxSliceThicknessMm,
                    seriesDescription,
                    bodyParts,
                    imageTypeContains,
                    callingAes,
                    calledAes);
        }

        public Criteria minSliceThicknessMm(double mm) {
            return new Criteria(
                    modality,
                    Optional.of(mm),
                    maxSliceThicknessMm,
                    seriesDescription,
                    bodyParts,
                    imageTypeContains,
                    callingAes,
                    calledAes);
        }

        public Criteria maxSliceThicknessMm(double mm) {
            return new Criteria(
                    modality,
                    minSliceThicknessMm,
                    Optional.of(mm),
                    seriesDescription,
                    bodyParts,
                    imageTypeContains,
                    callingAes,
                    calledAes);
        }

        /** A regular expression the whole SeriesDescription must match, ignoring case. */
        public Criteria seriesDescription(String regex) {
            return new Criteria(
                    modality,
                    minSliceThicknessMm,
                    maxSliceThicknessMm,
                    Optional.of(descriptionPattern(regex)),
                    bodyParts,
                    imageTypeContains,
                    callingAes,
                    calledAes);
        }

        public Criteria bodyParts(List<String> anyOf) {
            return new Criteria(
                    modality,
                    minSliceThicknessMm,
                    maxSliceThicknessMm,
                    seriesDescription,
                    Optional.of(anyOf),
                    imageTypeContains,
                    callingAes,
                    calledAes);
        }

        public Criteria imageTypeContains(String value) {
            return new Criteria(
                    modality,
                    minSliceThicknessMm,
                    maxSliceThicknessMm,
                    seriesDescription,
                    bodyParts,
                    Optional.of(value),
                    callingAes,
                    calledAes);
        }

        public Criteria callingAes(List<String> anyOf) {
            return new Criteria(
                    modality,
                    minSliceThicknessMm,
                    maxSliceThicknessMm,
                    seriesDescription,
                    bodyParts,
                    imageTypeContains,
                    Optional.of(anyOf),
                    calledAes);
        }

        public Criteria calledAes(List<String> anyOf) {
            return new Criteria(
                    modality,
                    minSliceThicknessMm,
                    maxSliceThicknessMm,
                    seriesDescription,
                    bodyParts,
                    imageTypeContains,
                    callingAes,
                    Optional.of(anyOf));
        }

        boolean matches(SeriesAttributes s) {
            if (modality.isPresent() && !modality.get().equalsIgnoreCase(nullToEmpty(s.modality()))) {
                return false;
            }
            if (minSliceThicknessMm.isPresent()
                    && (s.sliceThicknessMm() == null || s.sliceThicknessMm() < minSliceThicknessMm.get())) {
                return false;
            }
            if (maxSliceThicknessMm.isPresent()
                    && (s.sliceThicknessMm() == null || s.sliceThicknessMm() > maxSliceThicknessMm.get())) {
                return false;
            }
            if (seriesDescription.isPresent()
                    && !seriesDescription
                            .get()
                            .matcher(nullToEmpty(s.seriesDescription()))
                            .matches()) {
                return false;
            }
            if (bodyParts.isPresent()
                    && bodyParts.get().stream().noneMatch(b -> b.equalsIgnoreCase(nullToEmpty(s.bodyPartExamined())))) {
                return false;
            }
            if (imageTypeContains.isPresent()
                    && (s.imageType() == null
                            || s.imageType().stream().noneMatch(v -> v.equalsIgnoreCase(imageTypeContains.get())))) {
                return false;
            }
            if (callingAes.isPresent() && !callingAes.get().contains(nullToEmpty(s.callingAe()))) {
                return false;
            }
            return calledAes.isEmpty() || calledAes.get().contains(nullToEmpty(s.calledAe()));
        }
    }

    /** A rule that fired, with the task it asks for. */
    public record Decision(String rule, String task) {}

    private final List<Rule> rules;

    public RoutingRules(List<Rule> rules) {
        this.rules = List.copyOf(rules);
    }

    /** Every matching rule's task, once per task, in rule order; nothing for the gateway's own output. */
    public List<Decision> decide(SeriesAttributes series) {
        List<Decision> decisions = new ArrayList<>();
        if (series.derivedByGateway()) {
            return decisions;
        }
        for (Rule rule : rules) {
            if (rule.matches(series)
                    && decisions.stream().noneMatch(d -> d.task().equals(rule.task()))) {
                decisions.add(new Decision(rule.name(), rule.task()));
            }
        }
        return decisions;
    }

    public List<Rule> rules() {
        return rules;
    }

    public static Pattern descriptionPattern(String regex) {
        return Pattern.compile(regex, Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s.trim();
    }
}
