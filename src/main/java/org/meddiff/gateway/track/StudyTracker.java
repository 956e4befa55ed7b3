package org.meddiff.gateway.track;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.databind.JsonNode;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.Topics;

/**
 * Folds every topic into a per-study view. Each gateway process reads all topics from the beginning
 * with its own consumer group, so the view is rebuilt after a restart; Kafka retention bounds history, and the
 * view holds the {@link #MAX_STUDIES} most recently first-seen studies.
 */
@ApplicationScoped
public class StudyTracker {
    private static final Logger LOG = Logger.getLogger(StudyTracker.class);

    /** The view keeps at most this many studies, dropping the oldest first: a long-running process stays bounded. */
    static final int MAX_STUDIES = 10_000;

    /** In the order the studies were first seen (the status page lists the newest last); guarded by this. */
    private final Map<String, Study> studies = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Study> eldest) {
            return size() > MAX_STUDIES;
        }
    };

    static final class Study {
        final Map<String, Series> series = new LinkedHashMap<>();
    }

    static final class Series {
        String modality;
        String description;
        Double thickness;
        boolean derived;
        final Set<String> instances = ConcurrentHashMap.newKeySet();
        Integer readyGeneration;
        Integer readyCount;
        boolean recovered;
        final Map<String, Job> jobs = new LinkedHashMap<>();
    }

    static final class Job {
        String task;
        String rule;
        String state = "REQUESTED";

        /** Topics are consumed in no particular order relative to each other: a state never goes back. */
        void advance(String next) {
            if (rank(next) >= rank(state)) {
                state = next;
            }
        }

        private static int rank(String s) {
            return switch (s) {
                case "RUNNING" -> 1;
                case "COMPLETED", "FAILED" -> 2;
                default -> 0;
            };
        }
        Integer step;
        Integer steps;
        String message;
        Double rate;
        String derivedSeriesUid;
        Integer derivedInstances;
        List<String> companionSeriesUids = List.of();
        String error;
        String failureCause;
        int attempt = 1;
        List<String> previousFailures = List.of();
        Double triageScore;
        String triagePriority;
        final Map<String, StudyStatus.DispatchStatus> dispatch = new LinkedHashMap<>();
    }

    @Incoming("track-all")
    public void onEvent(String json) {
        try {
            apply(Events.JSON.readTree(json));
        } catch (Exception e) {
            LOG.warnf("track: skipping unreadable event: %s", e.getMessage());
        }
    }

    synchronized void apply(JsonNode e) {
        String type = text(e, "type");
        String studyUid = text(e, "studyInstanceUid") != null ? text(e, "studyInstanceUid") : text(e, "correlationId");
        if (type == null || studyUid == null) {
            return;
        }
        Study study = studies.computeIfAbsent(studyUid, k -> new Study());
        switch (type) {
            case Topics.INSTANCE_RECEIVED -> {
                Series s = series(study, text(e, "seriesInstanceUid"), e.get("series"));
                s.instances.add(text(e, "sopInstanceUid"));
            }
            case Topics.SERIES_READY -> {
                Series s = series(study, text(e, "seriesInstanceUid"), e.get("series"));
                int generation = e.path("generation").asInt();
                if (s.readyGeneration == null || generation >= s.readyGeneration) {
                    s.readyGeneration = generation;
                    s.readyCount = e.path("instanceCount").asInt();
                    s.recovered = e.path("recovered").asBoolean(false);
                }
            }
            case Topics.JOB_REQUESTED -> {
                Job job = job(study, e);
                job.task = text(e, "task");
                job.rule = text(e, "rule");
                int attempt = e.path("attempt").asInt(1);
                if (attempt >= job.attempt) {
                    job.attempt = attempt;
                    List<String> failures = new ArrayList<>();
                    e.path("previousFailures").forEach(f -> failures.add(f.asText()));
                    job.previousFailures = List.copyOf(failures);
                }
            }
            case Topics.JOB_PROGRESS -> {
                Job job = job(study, e);
                job.advance("RUNNING");
                job.step = e.path("step").asInt();
                job.steps = e.path("steps").asInt();
                job.message = text(e, "message");
                job.rate = e.hasNonNull("itemsPerSecond") ? e.get("itemsPerSecond").asDouble() : null;
            }
            case Topics.JOB_COMPLETED -> {
                Job job = job(study, e);
                job.advance("COMPLETED");
                job.derivedSeriesUid = text(e, "derivedSeriesInstanceUid");
                job.derivedInstances = e.path("instanceCount").asInt();
                List<String> companions = new ArrayList<>();
                e.path("companionSeriesInstanceUids").forEach(u -> companions.add(u.asText()));
                job.companionSeriesUids = List.copyOf(companions);
            }
            case Topics.JOB_FAILED -> {
                Job job = job(study, e);
                job.advance("FAILED");
                job.error = text(e, "reason");
                job.failureCause = text(e, "cause");
            }
            case Topics.TRIAGE_FINDING -> {
                Job job = job(study, e);
                job.triageScore = e.path("score").asDouble();
                job.triagePriority = text(e, "priority");
            }
            case Topics.STORE_COMPLETED -> dispatched(job(study, e), e).dispatch.put(text(e, "destination"),
                    new StudyStatus.DispatchStatus("DELIVERED", e.path("instancesStored").asInt(), e.path("attempts").asInt(), null));
            case Topics.STORE_DLQ -> dispatched(job(study, e), e).dispatch.put(text(e, "destination"),
                    new StudyStatus.DispatchStatus("DEAD_LETTERED", null, e.path("attempts").asInt(), text(e, "lastError")));
            default -> { /* other topics are not part of the study view */ }
        }
    }

    /** A dispatch event can be read before its job's completion event: it implies the completion. */
    private static Job dispatched(Job job, JsonNode e) {
        job.advance("COMPLETED");
        if (job.derivedSeriesUid == null) {
            job.derivedSeriesUid = text(e, "derivedSeriesInstanceUid");
        }
        if (job.derivedInstances == null && e.hasNonNull("instancesStored")) {
            job.derivedInstances = e.get("instancesStored").asInt();
        }
        return job;
    }

    private static Series series(Study study, String seriesUid, JsonNode attributes) {
        Series s = study.series.computeIfAbsent(seriesUid, k -> new Series());
        if (attributes != null && s.modality == null) {
            s.modality = text(attributes, "modality");
            s.description = text(attributes, "seriesDescription");
            s.thickness = attributes.hasNonNull("sliceThicknessMm") ? attributes.get("sliceThicknessMm").asDouble() : null;
            s.derived = attributes.path("derivedByGateway").asBoolean(false);
        }
        return s;
    }

    /** Jobs hang under their source series; events name it as seriesInstanceUid. */
    private static Job job(Study study, JsonNode e) {
        Series s = series(study, text(e, "seriesInstanceUid"), e.get("series"));
        return s.jobs.computeIfAbsent(text(e, "jobId"), k -> new Job());
    }

    public synchronized Optional<StudyStatus> status(String studyUid) {
        Study study = studies.get(studyUid);
        if (study == null) {
            return Optional.empty();
        }
        List<StudyStatus.SeriesStatus> series = new ArrayList<>();
        study.series.forEach((uid, s) -> {
            List<StudyStatus.JobStatus> jobs = new ArrayList<>();
            s.jobs.forEach((id, j) -> jobs.add(new StudyStatus.JobStatus(id, j.task, j.rule, j.state, j.step, j.steps, j.message,
                    j.rate, j.derivedSeriesUid, j.derivedInstances, j.companionSeriesUids, j.error, j.triageScore, j.triagePriority,
                    Map.copyOf(j.dispatch), j.attempt, j.previousFailures, j.failureCause)));
            series.add(new StudyStatus.SeriesStatus(uid, s.modality, s.description, s.thickness, s.instances.size(),
                    s.readyGeneration, s.readyCount, s.recovered, s.derived, jobs));
        });
        return Optional.of(new StudyStatus(studyUid, series));
    }

    public synchronized List<String> studyUids() {
        return List.copyOf(studies.keySet());
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node == null ? null : node.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
