package org.meddiff.gateway.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.dicom.DerivedSeriesResult;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.OutboxFiles;
import org.meddiff.gateway.events.ProcessedEvents;
import org.meddiff.gateway.events.SeriesReady;
import org.meddiff.gateway.events.Topics;
import org.meddiff.gateway.events.TriageFinding;
import org.meddiff.gateway.events.TriagePriority;
import org.meddiff.gateway.spool.Spool;
import org.meddiff.gateway.track.StageProgress;

/**
 * The worker's promises, one test each: a result that cannot be recorded is not dropped, a torn completion marker is
 * recomputed, failures of the machine are retried and failures of the input are not, a job over its time limit is
 * stopped, and a duplicate request does no second piece of work. The task is a stand-in whose behaviour each test
 * scripts; spool, outbox and markers are real files.
 */
class JobRunnerTest {
    static final String STUDY = "1.2.826.0.1.3680043.8.498.7";
    static final String SERIES = STUDY + ".1";
    static final String JOB = "0123456789abcdef0123456789abcdef";
    /** Three attempts, no wait between them, a minute each. */
    static final JobRunner.Attempts QUICK = new JobRunner.Attempts(3, Duration.ZERO, Duration.ofMinutes(1));

    @TempDir
    Path root;

    Spool spool;
    JobRequested job;
    final StageProgress progress = new StageProgress();

    static JobRunner runner(InferenceTask task, Spool spool, Outbox outbox, JobRunner.Attempts attempts) {
        return runner(task, spool, outbox, attempts, new StageProgress());
    }

    static JobRunner runner(
            InferenceTask task, Spool spool, Outbox outbox, JobRunner.Attempts attempts, StageProgress progress) {
        return new JobRunner(
                List.of(task),
                spool,
                outbox,
                new SimpleMeterRegistry(),
                attempts,
                OutboxFiles.quickRetry(progress),
                new ProcessedEvents(spool.processed()),
                progress);
    }

    /** A task that plays its script, one step per attempt; a null step writes a one-file derived series. */
    static class Scripted implements InferenceTask {
        final List<Step> script;
        final AtomicInteger runs = new AtomicInteger();

        interface Step {
            void play() throws Exception;
        }

        Scripted(Step... steps) {
            this.script = new ArrayList<>(List.of(steps));
        }

        @Override
        public String name() {
            return "stand-in";
        }

        @Override
        public String method() {
            return "stand-in/1";
        }

        @Override
        public TaskResult run(JobRequested job, List<Path> sources, Path outputDir, TaskProgress p)
                throws TaskFailedException {
            int n = runs.getAndIncrement();
            Step step = n < script.size() ? script.get(n) : null;
            if (step != null) {
                try {
                    step.play();
                } catch (TaskFailedException | RuntimeException | Error e) {
                    throw e;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
            p.step(1, 1, "writing", null);
            try {
                return TaskResult.of(new DerivedSeriesResult(
                        "2.25.1", List.of(Files.writeString(outputDir.resolve("0001.dcm"), "x"))));
            } catch (IOException e) {
                throw new TaskFailedException(e.getMessage(), e);
            }
        }
    }

    @BeforeEach
    void series() throws IOException {
        spool = new Spool(root, 0);
        Path seriesDir = spool.seriesDir(STUDY, SERIES);
        Files.createDirectories(seriesDir);
        Files.write(seriesDir.resolve(SERIES + ".1.dcm"), new byte[] {1});
        job = JobRequested.of(
                JOB,
                "stand-in",
                "test",
                SeriesReady.of(STUDY, SERIES, 1, 1, spool.relative(seriesDir), null),
                Map.of());
    }

    List<JsonNode> events(String topic) {
        return OutboxFiles.events(spool.outbox(), topic);
    }

    /** The next attempt, as the outbox holds it. */
    JobRequested requested(int attempt) {
        return events(Topics.JOB_REQUESTED).stream()
                .map(e -> Events.fromJson(e.toString(), JobRequested.class))
                .filter(r -> r.attempt() == attempt)
                .findFirst()
                .orElseThrow(() -> new AssertionError(
                        "no request of attempt " + attempt + " in the outbox: " + OutboxFiles.events(spool.outbox())));
    }

    /** A task that returns a triage finding (as the anomaly task does): the runner, not the task, publishes it. */
    static final class WithFinding extends Scripted {
        @Override
        public TaskResult run(JobRequested job, List<Path> sources, Path outputDir, TaskProgress p)
                throws TaskFailedException {
            DerivedSeriesResult map = super.run(job, sources, outputDir, p).derived();
            return new TaskResult(
                    map,
                    Optional.of(TriageFinding.of(
                            job, map.seriesInstanceUid(), 0.2, "abdomen", TriagePriority.STAT, 0.09, method())));
        }
    }

    @Test
    void aTasksFindingIsPublishedByTheRunner_andARefusedAppendIsRetried_notLost() {
        OutboxFiles.Failing outbox = new OutboxFiles.Failing(spool.outbox(), 3, Topics.TRIAGE_FINDING::equals);
        runner(new WithFinding(), spool, outbox, QUICK, progress).run(job);
        assertEquals(3, outbox.refused());
        List<JsonNode> findings = events(Topics.TRIAGE_FINDING);
        assertEquals(1, findings.size());
        assertEquals("STAT", findings.get(0).path("priority").asText());
        assertEquals("2.25.1", findings.get(0).path("derivedSeriesInstanceUid").asText());
        assertEquals(1, events(Topics.JOB_COMPLETED).size());
    }

    @Test
    void aCompletionTheOutboxCannotTakeIsRetriedUntilItCan_notLoggedAndDropped() throws Exception {
        OutboxFiles.Failing outbox = new OutboxFiles.Failing(spool.outbox(), 5, Topics.JOB_COMPLETED::equals);
        JobRunner runner = runner(new Scripted(), spool, outbox, QUICK, progress);
        Thread worker = Thread.ofPlatform().start(() -> runner.run(job));
        outbox.awaitRefused(2, Duration.ofSeconds(10));
        assertTrue(worker.isAlive() || outbox.refused() >= 5, "the record is held while the outbox refuses");
        worker.join(30_000);
        assertFalse(worker.isAlive());
        assertEquals(5, outbox.refused());
        List<JsonNode> completed = events(Topics.JOB_COMPLETED);
        assertEquals(1, completed.size(), "the completion reached the outbox once the disk took it");
        assertEquals(JOB, completed.get(0).path("jobId").asText());
        assertTrue(progress.stalls().isEmpty(), "and the stage is no longer stalled: " + progress.stalls());
    }

    /** The failure of a job must reach Kafka too: before the fix its append error was logged and the job stayed RUNNING. */
    @Test
    void aFailureTheOutboxCannotTakeIsRetriedUntilItCan_notLoggedAndDropped() throws Exception {
        OutboxFiles.Failing outbox = new OutboxFiles.Failing(spool.outbox(), 4, Topics.JOB_FAILED::equals);
        Scripted task = new Scripted(() -> {
            throw new TaskFailedException("modality MR is not CT: stand-in needs a CT series");
        });
        runner(task, spool, outbox, QUICK, progress).run(job);
        assertEquals(4, outbox.refused());
        List<JsonNode> failed = events(Topics.JOB_FAILED);
        assertEquals(1, failed.size(), "the failure reached the outbox once the disk took it");
        assertEquals(JOB, failed.get(0).path("jobId").asText());
        assertEquals(1, task.runs.get(), "the job was not run again for it");
        assertTrue(progress.stalls().isEmpty(), progress.stalls().toString());
    }

    /** A machine failure's next attempt is a job request of its own: it must not be lost to a full disk either. */
    @Test
    void theNextAttemptTheOutboxCannotTakeIsRetriedUntilItCan_notLost() throws Exception {
        OutboxFiles.Failing outbox = new OutboxFiles.Failing(spool.outbox(), 4, Topics.JOB_REQUESTED::equals);
        Scripted task = new Scripted(() -> {
            throw new UncheckedIOException(new IOException("Input/output error"));
        });
        runner(task, spool, outbox, QUICK, progress).run(job);
        assertEquals(4, outbox.refused());
        assertEquals(JOB, requested(2).jobId(), "the second attempt was requested once the disk took it");
        assertTrue(events(Topics.JOB_FAILED).isEmpty());
        assertTrue(progress.stalls().isEmpty(), progress.stalls().toString());
    }

    @Test
    void theStageShowsAsStalledWhileItsResultCannotBeRecorded() throws Exception {
        OutboxFiles.Failing outbox =
                new OutboxFiles.Failing(spool.outbox(), Integer.MAX_VALUE, Topics.JOB_COMPLETED::equals);
        JobRunner runner = runner(new Scripted(), spool, outbox, QUICK, progress);
        Thread worker = Thread.ofPlatform().daemon(true).start(() -> runner.run(job));
        outbox.awaitRefused(3, Duration.ofSeconds(10));
        assertTrue(worker.isAlive());
        assertEquals("infer", progress.stalls().get(0).stage());
        assertTrue(
                progress.stalls().get(0).reason().contains("No space left"),
                progress.stalls().toString());
        assertEquals(HealthCheckResponse.Status.DOWN, progress.health().getStatus());
        worker.interrupt(); // a shutdown ends the wait; the record stays uncommitted
        worker.join(10_000);
        assertFalse(worker.isAlive());
        assertTrue(progress.stalls().isEmpty(), "no longer waiting");
        assertTrue(events(Topics.JOB_COMPLETED).isEmpty());
        assertFalse(new ProcessedEvents(spool.processed()).handled("infer", job.eventId()), "not recorded as handled");
    }

    @Test
    void aTornCompletionMarkerIsRecomputed_notAPermanentFailure() throws Exception {
        Path marker = spool.derivedDir(JOB).resolve(Spool.COMPLETE_MARKER);
        Files.createDirectories(marker.getParent());
        Files.writeString(
                marker, "{\"eventId\":\"0d8c2a7e-1f0b-4c39-9a51-3b4e5f6a7b8c\",\"type\":\"inference.job.compl");
        Scripted task = new Scripted();
        runner(task, spool, new Outbox(spool.outbox()), QUICK).run(job);
        assertEquals(1, task.runs.get(), "the job ran again");
        assertTrue(events(Topics.JOB_FAILED).isEmpty(), "no failure: " + events(Topics.JOB_FAILED));
        assertEquals(1, events(Topics.JOB_COMPLETED).size());
        assertEquals(
                "2.25.1",
                Events.JSON
                        .readTree(Files.readString(marker))
                        .path("derivedSeriesInstanceUid")
                        .asText(),
                "and the marker is whole again");
    }

    @Test
    void anOnnxRuntimeErrorIsRetried_andTheNextAttemptCompletes() throws Exception {
        Scripted task = new Scripted(() -> {
            throw new IllegalStateException(
                    "ONNX Runtime failed on model meddiff-fm-base", new OrtException("CUDA error: out of memory"));
        });
        JobRunner runner = runner(task, spool, new Outbox(spool.outbox()), QUICK);
        runner.run(job);
        assertTrue(events(Topics.JOB_FAILED).isEmpty(), "not a permanent failure");
        JobRequested second = requested(2);
        assertEquals(JOB, second.jobId());
        assertTrue(
                second.previousFailures().get(0).startsWith("ONNX Runtime error"),
                second.previousFailures().toString());
        runner.run(second);
        assertEquals(2, task.runs.get());
        assertEquals(1, events(Topics.JOB_COMPLETED).size());
    }

    @Test
    void aJobFailingForTheMachineEveryTime_failsAfterMaxAttemptsWithEveryReason() throws Exception {
        Scripted task = new Scripted(
                () -> {
                    throw new UncheckedIOException(new IOException("Input/output error"));
                },
                () -> {
                    throw new OutOfMemoryError("Java heap space");
                },
                () -> {
                    throw new TaskFailedException(
                            "cannot write derived series", new IOException("No space left on device"));
                });
        JobRunner runner = runner(task, spool, new Outbox(spool.outbox()), QUICK);
        runner.run(job);
        runner.run(requested(2));
        runner.run(requested(3));
        assertEquals(3, task.runs.get());
        List<JsonNode> failed = events(Topics.JOB_FAILED);
        assertEquals(1, failed.size());
        assertEquals("machine", failed.get(0).path("cause").asText());
        assertEquals(3, failed.get(0).path("attempts").asInt());
        String reason = failed.get(0).path("reason").asText();
        assertTrue(reason.contains("attempt 1: I/O error") && reason.contains("Input/output error"), reason);
        assertTrue(reason.contains("attempt 2: out of memory (Java heap space)"), reason);
        assertTrue(reason.contains("attempt 3: cannot write derived series"), reason);
        assertTrue(events(Topics.JOB_REQUESTED).stream()
                .noneMatch(e -> e.path("attempt").asInt() == 4));
    }

    @Test
    void aFailureOfTheInputFailsAtOnce() throws Exception {
        Scripted task = new Scripted(() -> {
            throw new TaskFailedException("modality MR is not CT: stand-in needs a CT series");
        });
        runner(task, spool, new Outbox(spool.outbox()), QUICK).run(job);
        assertEquals(1, task.runs.get());
        List<JsonNode> failed = events(Topics.JOB_FAILED);
        assertEquals(1, failed.size());
        assertEquals("input", failed.get(0).path("cause").asText());
        assertEquals(
                "modality MR is not CT: stand-in needs a CT series",
                failed.get(0).path("reason").asText());
        assertTrue(events(Topics.JOB_REQUESTED).isEmpty(), "no second attempt");
    }

    @Test
    void aJobOverItsTimeLimitIsStopped_andTriedAgain() throws Exception {
        AtomicInteger interrupted = new AtomicInteger();
        Scripted task = new Scripted(() -> {
            try {
                Thread.sleep(600_000); // a hung attempt
            } catch (InterruptedException e) {
                interrupted.incrementAndGet();
                throw e;
            }
        });
        JobRunner.Attempts limited = new JobRunner.Attempts(3, Duration.ZERO, Duration.ofMillis(300));
        long t0 = System.nanoTime();
        runner(task, spool, new Outbox(spool.outbox()), limited).run(job);
        assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(10).toNanos(), "the worker does not hang on the job");
        assertEquals(1, interrupted.get(), "the attempt's thread was stopped");
        assertTrue(
                requested(2).previousFailures().get(0).contains("over its time limit of PT0.3S"),
                requested(2).previousFailures().toString());
    }

    @Test
    void aFailedAttemptHandledTwice_requestsTheNextAttemptOnce() throws Exception {
        Scripted task = new Scripted(
                () -> {
                    throw new IllegalStateException("ONNX Runtime failed", new OrtException("CUDA error"));
                },
                () -> {
                    throw new IllegalStateException("ONNX Runtime failed", new OrtException("CUDA error"));
                });
        JobRunner runner = runner(task, spool, new Outbox(spool.outbox()), QUICK);
        runner.run(job);
        // the same request handled again on another worker (a crash before it was recorded as handled)
        JobRunner other = runner(task, spool, new Outbox(spool.outbox()), QUICK);
        other.run(JobRequested.of(
                JOB, "stand-in", "test", SeriesReady.of(STUDY, SERIES, 1, 1, job.seriesRef(), null), Map.of()));
        List<JsonNode> seconds = events(Topics.JOB_REQUESTED).stream()
                .filter(e -> e.path("attempt").asInt() == 2)
                .toList();
        assertEquals(2, seconds.size(), "each copy asks for attempt 2");
        assertEquals(
                seconds.get(0).path("eventId").asText(),
                seconds.get(1).path("eventId").asText(),
                "with the same event id, so attempt 2 runs once");
        runner.run(requested(2));
        runner.run(Events.fromJson(seconds.get(1).toString(), JobRequested.class));
        assertEquals(1, events(Topics.JOB_COMPLETED).size());
        assertEquals(JOB + "/2", requested(2).key(), "keyed by job and attempt: it may land on another worker");
    }

    @Test
    void aFailedJobRequestedAgain_announcesItsFailureAgain_notRunAgain() throws Exception {
        Scripted task = new Scripted(() -> {
            throw new TaskFailedException("modality MR is not CT");
        });
        JobRunner runner = runner(task, spool, new Outbox(spool.outbox()), QUICK);
        runner.run(job);
        runner.run(JobRequested.of(
                JOB, "stand-in", "test", SeriesReady.of(STUDY, SERIES, 1, 1, job.seriesRef(), null), Map.of()));
        assertEquals(1, task.runs.get());
        List<JsonNode> failed = events(Topics.JOB_FAILED);
        assertEquals(2, failed.size());
        assertEquals(
                failed.get(0).path("eventId").asText(),
                failed.get(1).path("eventId").asText());
    }

    @Test
    void aModelNotInstalledIsTheMachinesFault_andAGeometryTheCodeCannotTakeIsTheInputs() throws Exception {
        Scripted missingModel = new Scripted(() -> {
            throw TaskFailedException.ofMachine("model meddiff-fm-base is not installed in models");
        });
        runner(missingModel, spool, new Outbox(spool.outbox()), QUICK).run(job);
        assertTrue(events(Topics.JOB_FAILED).isEmpty(), "tried again, maybe on a worker that has it");
        assertEquals(2, requested(2).attempt());
        assertEquals(
                "input",
                JobFailure.of(new IllegalArgumentException("need at least 4 slices for the cubic kernel"))
                        .cause());
        assertEquals(
                "input",
                JobFailure.of(new TaskFailedException(
                                "x.dcm: unreadable DICOM (IOException: bad tag)", new IOException("bad tag")))
                        .cause(),
                "PixelMed reports a malformed data set as an IOException");
        assertEquals(
                "machine",
                JobFailure.of(new TaskFailedException("x.dcm: cannot read", new AccessDeniedException("x.dcm")))
                        .cause());
    }

    @Test
    void theSameRequestTwice_runsTheJobOnce() throws Exception {
        Scripted task = new Scripted();
        JobRunner runner = runner(task, spool, new Outbox(spool.outbox()), QUICK);
        runner.run(job);
        runner.run(job); // a redelivery of the very same record
        assertEquals(1, task.runs.get());
        assertEquals(1, events(Topics.JOB_COMPLETED).size(), "one completion announced");
    }

    @Test
    void aCompletedJobRequestedAgain_isAnnouncedAgainWithTheSameEventId_notRecomputed() throws Exception {
        Scripted task = new Scripted();
        JobRunner runner = runner(task, spool, new Outbox(spool.outbox()), QUICK);
        runner.run(job);
        JobRequested again = JobRequested.of(
                JOB,
                "stand-in",
                "test",
                SeriesReady.of(STUDY, SERIES, 1, 1, job.seriesRef(), null),
                Map.of()); // a second readiness event for the same series: same job id, new event id
        runner.run(again);
        assertEquals(1, task.runs.get());
        List<JsonNode> completed = events(Topics.JOB_COMPLETED);
        assertEquals(2, completed.size());
        assertEquals(
                completed.get(0).path("eventId").asText(),
                completed.get(1).path("eventId").asText(),
                "dispatch sees the same completion event and does not send the series twice");
    }
}
