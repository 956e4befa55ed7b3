package org.meddiff.gateway.track;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.GatewayEvent;
import org.meddiff.gateway.events.InstanceReceived;
import org.meddiff.gateway.events.JobCompleted;
import org.meddiff.gateway.events.JobFailed;
import org.meddiff.gateway.events.JobProgress;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.SeriesAttributes;
import org.meddiff.gateway.events.SeriesReady;
import org.meddiff.gateway.events.StoreCompleted;
import org.meddiff.gateway.events.StoreDeadLettered;
import org.meddiff.gateway.events.Topics;
import org.meddiff.gateway.events.TriageFinding;

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
        JobState state = JobState.REQUESTED;
        int attempt = 1;
        List<String> previousFailures = List.of();
        StudyStatus.Progress progress = new StudyStatus.Progress(null, null, null, null);
        String derivedSeriesUid;
        Integer derivedInstances;
        List<String> companionSeriesUids = List.of();
        String error;
        String failureCause;
        StudyStatus.Triage triage = new StudyStatus.Triage(null, null);
        final Map<String, StudyStatus.DispatchStatus> dispatch = new LinkedHashMap<>();

        StudyStatus.JobStatus status(String jobId) {
            return new StudyStatus.JobStatus(
                    jobId,
                    task,
                    rule,
                    state,
                    attempt,
                    previousFailures,
                    progress,
                    new StudyStatus.Outcome(
                            derivedSeriesUid, derivedInstances, companionSeriesUids, error, failureCause),
                    triage,
                    Map.copyOf(dispatch));
        }
    }

    @Incoming("track-all")
    public void onEvent(String json) {
        try {
            String type = Events.JSON.readTree(json).path("type").asText(null);
            Class<? extends GatewayEvent> record = type == null ? null : Topics.RECORDS.get(type);
            if (record != null) {
                apply(Events.fromJson(json, record));
            }
        } catch (RuntimeException | IOException e) {
            // an event the view cannot take (not JSON, a foreign one without the fields it keys on) must not stop it
            LOG.warnf("track: skipping an event the status view cannot take: %s", e.getMessage());
        }
    }

    synchronized void apply(GatewayEvent event) {
        // the correlation id is the StudyInstanceUID in every event the gateway writes; a foreign one may lack it
        String studyUid = event.correlationId() != null ? event.correlationId() : event.studyInstanceUid();
        if (studyUid == null) {
            return;
        }
        Study study = studies.computeIfAbsent(studyUid, k -> new Study());
        switch (event) {
            case InstanceReceived e ->
                series(study, e.seriesInstanceUid(), e.series()).instances.add(e.sopInstanceUid());
            case SeriesReady e -> {
                Series s = series(study, e.seriesInstanceUid(), e.series());
                if (s.readyGeneration == null || e.generation() >= s.readyGeneration) {
                    s.readyGeneration = e.generation();
                    s.readyCount = e.instanceCount();
                    s.recovered = e.recovered();
                }
            }
            case JobRequested e -> {
                Job job = job(study, e.seriesInstanceUid(), e.jobId());
                job.task = e.task();
                job.rule = e.rule();
                if (e.attempt() >= job.attempt) {
                    job.attempt = e.attempt();
                    job.previousFailures = e.previousFailures();
                }
            }
            case JobProgress e -> {
                Job job = job(study, e.seriesInstanceUid(), e.jobId());
                job.state = job.state.advance(JobState.RUNNING);
                job.progress = new StudyStatus.Progress(e.step(), e.steps(), e.message(), e.itemsPerSecond());
            }
            case JobCompleted e -> {
                Job job = job(study, e.seriesInstanceUid(), e.jobId());
                job.state = job.state.advance(JobState.COMPLETED);
                job.derivedSeriesUid = e.derivedSeriesInstanceUid();
                job.derivedInstances = e.instanceCount();
                job.companionSeriesUids = e.companionSeriesInstanceUids();
            }
            case JobFailed e -> {
                Job job = job(study, e.seriesInstanceUid(), e.jobId());
                job.state = job.state.advance(JobState.FAILED);
                job.error = e.reason();
                job.failureCause = e.cause();
            }
            case TriageFinding e ->
                job(study, e.seriesInstanceUid(), e.jobId()).triage = new StudyStatus.Triage(e.score(), e.priority());
            case StoreCompleted e ->
                dispatched(
                                job(study, e.seriesInstanceUid(), e.jobId()),
                                e.derivedSeriesInstanceUid(),
                                e.instancesStored())
                        .dispatch
                        .put(
                                e.destination(),
                                new StudyStatus.DispatchStatus(
                                        DispatchState.DELIVERED, e.instancesStored(), e.attempts(), null));
            case StoreDeadLettered e ->
                dispatched(job(study, e.seriesInstanceUid(), e.jobId()), e.derivedSeriesInstanceUid(), null)
                        .dispatch
                        .put(
                                e.destination(),
                                new StudyStatus.DispatchStatus(
                                        DispatchState.DEAD_LETTERED, null, e.attempts(), e.lastError()));
            default -> {
                /* other events are not part of the study view */
            }
        }
    }

    /** A dispatch event can be read before its job's completion event: it implies the completion. */
    private static Job dispatched(Job job, String derivedSeriesUid, Integer instancesStored) {
        job.state = job.state.advance(JobState.COMPLETED);
        if (job.derivedSeriesUid == null) {
            job.derivedSeriesUid = derivedSeriesUid;
        }
        if (job.derivedInstances == null && instancesStored != null) {
            job.derivedInstances = instancesStored;
        }
        return job;
    }

    private static Series series(Study study, String seriesUid, SeriesAttributes attributes) {
        Series s = study.series.computeIfAbsent(seriesUid, k -> new Series());
        if (attributes != null && s.modality == null) {
            s.modality = attributes.modality();
            s.description = attributes.seriesDescription();
            s.thickness = attributes.sliceThicknessMm();
            s.derived = attributes.derivedByGateway();
        }
        return s;
    }

    /** Jobs hang under their source series; events name it as seriesInstanceUid. */
    private static Job job(Study study, String seriesUid, String jobId) {
        return series(study, seriesUid, null).jobs.computeIfAbsent(jobId, k -> new Job());
    }

    public synchronized Optional<StudyStatus> status(String studyUid) {
        Study study = studies.get(studyUid);
        if (study == null) {
            return Optional.empty();
        }
        List<StudyStatus.SeriesStatus> series = new ArrayList<>();
        study.series.forEach((uid, s) -> {
            List<StudyStatus.JobStatus> jobs = new ArrayList<>();
            s.jobs.forEach((id, j) -> jobs.add(j.status(id)));
            series.add(new StudyStatus.SeriesStatus(
                    uid,
                    s.modality,
                    s.description,
                    s.thickness,
                    s.instances.size(),
                    s.readyGeneration,
                    s.readyCount,
                    s.recovered,
                    s.derived,
                    jobs));
        });
        return Optional.of(new StudyStatus(studyUid, series));
    }

    public synchronized List<String> studyUids() {
        return List.copyOf(studies.keySet());
    }
}
