package org.meddiff.gateway.infer;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.common.annotation.Blocking;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;
import org.meddiff.gateway.Failures;
import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.dicom.DerivedSeriesResult;
import org.meddiff.gateway.events.DurableRetry;
import org.meddiff.gateway.events.EventReader;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.GatewayEvent;
import org.meddiff.gateway.events.JobCompleted;
import org.meddiff.gateway.events.JobFailed;
import org.meddiff.gateway.events.JobProgress;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.ProcessedEvents;
import org.meddiff.gateway.events.Topics;
import org.meddiff.gateway.spool.AtomicFiles;
import org.meddiff.gateway.spool.Spool;
import org.meddiff.gateway.track.StageProgress;

/**
 * The worker side of the job contract: consumes inference.job.requested (one consumer group, so jobs spread over
 * workers by partition), runs the task under a time limit, reports progress, and announces the derived series or the
 * failure. A job whose input cannot be processed fails at once; one that fails for a reason of the machine is requested
 * again after a backoff (on this or another worker) up to {@code gateway.infer.max-attempts}, then fails with every
 * attempt's reason. A job that already completed (redelivery after a crash) is announced again from its marker,
 * without being recomputed; a request already handled is skipped. The record is committed only once the outcome is in
 * the outbox.
 */
@ApplicationScoped
public class JobRunner {
    private static final Logger LOG = Logger.getLogger(JobRunner.class);
    static final String COMPLETE_MARKER = Spool.COMPLETE_MARKER;
    /** Beside the completion marker: the inference.job.failed event of a job that ended without a derived series. */
    static final String FAILED_MARKER = ".failed.json";

    static final String STAGE = "infer";

    /** How often and how long a job is tried. */
    public record Attempts(int max, Duration backoff, Duration timeLimit) {
        static Attempts of(GatewayConfig.Infer infer) {
            return new Attempts(infer.maxAttempts(), infer.retryBackoff(), infer.jobTimeout());
        }

        /** The wait before attempt {@code next}: the backoff, doubled for each attempt after the second. */
        Duration before(int next) {
            return backoff.multipliedBy(1L << Math.min(10, Math.max(0, next - 2)));
        }
    }

    private final Map<String, InferenceTask> tasks;
    private final Spool spool;
    private final Outbox outbox;
    private final MeterRegistry metrics;
    private final Attempts attempts;
    private final DurableRetry retry;
    private final ProcessedEvents processed;
    private final StageProgress progress;
    private final EventReader reader;

    @Inject
    public JobRunner(
            Instance<InferenceTask> tasks,
            Spool spool,
            Outbox outbox,
            MeterRegistry metrics,
            GatewayConfig config,
            DurableRetry retry,
            ProcessedEvents processed,
            StageProgress progress) {
        this(tasks.stream().toList(), spool, outbox, metrics, Attempts.of(config.infer()), retry, processed, progress);
    }

    public JobRunner(
            Collection<InferenceTask> tasks,
            Spool spool,
            Outbox outbox,
            MeterRegistry metrics,
            Attempts attempts,
            DurableRetry retry,
            ProcessedEvents processed,
            StageProgress progress) {
        this.tasks = tasks.stream().collect(Collectors.toMap(InferenceTask::name, Function.identity()));
        this.spool = spool;
        this.outbox = outbox;
        this.metrics = metrics;
        this.attempts = attempts;
        this.retry = retry;
        this.processed = processed;
        this.progress = progress;
        this.reader = new EventReader(metrics);
    }

    @Incoming("infer-jobs")
    @Blocking
    public void onJob(String json) {
        reader.read(Topics.JOB_REQUESTED, json, JobRequested.class).ifPresent(this::run);
    }

    /** Runs one request unless this or another worker sharing the spool has handled it (the same eventId) already. */
    void run(JobRequested job) {
        if (!processed.once(STAGE, job.eventId(), retry, () -> runLocked(job))) {
            LOG.infof(
                    "job %s: request %s (attempt %d) already handled: skipped",
                    job.jobId(), job.eventId(), job.attempt());
        }
    }

    /**
     * Workers sharing a spool could both get one job (a redelivery after a rebalance while the first still runs): a
     * file lock beside its directory lets only one run it at a time; the other waits, then finds the completed
     * marker and re-announces, or runs the job itself if the first died.
     */
    private void runLocked(JobRequested job) {
        Path lockFile;
        try {
            lockFile = spool.jobLockFile(job.jobId());
        } catch (IllegalArgumentException e) {
            publish(failed(job, JobFailure.input("invalid job: " + e.getMessage())));
            return;
        }
        FileChannel channel = retry.call(
                STAGE,
                "open the lock file " + lockFile + " of job " + job.jobId(),
                () -> FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE));
        try (channel) {
            FileLock lock = retry.call(STAGE, "lock job " + job.jobId(), () -> {
                FileLock held = channel.tryLock();
                if (held == null) {
                    LOG.infof("job %s is running in another worker sharing the spool: waiting for it", job.jobId());
                    held = channel.lock();
                }
                return held;
            });
            GatewayEvent outcome;
            try {
                outcome = attempt(job);
                if (!(outcome instanceof JobRequested)) {
                    publish(outcome);
                }
            } finally {
                lock.release();
            }
            if (outcome instanceof JobRequested next) {
                // the backoff is waited out without the job's lock, then the next attempt may go to any worker
                waitBefore(next);
                publish(next);
            }
        } catch (IOException e) {
            // releasing or closing the lock failed: the outcome is in the outbox, and the lock goes with the channel
            LOG.warnf("job %s: releasing its lock %s: %s", job.jobId(), lockFile, Failures.reason(e));
        }
    }

    private void waitBefore(JobRequested next) {
        try {
            Thread.sleep(attempts.before(next.attempt()).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DurableRetry.Interrupted("wait before retrying job " + next.jobId());
        }
    }

    /** One attempt; returns what to announce: the completion, the failure, or the request of the next attempt. */
    private GatewayEvent attempt(JobRequested job) {
        long start = System.nanoTime();
        InferenceTask task = tasks.get(job.task());
        if (task == null) {
            return failed(job, JobFailure.input("no worker here implements task '" + job.task() + "'"));
        }
        Path outputDir;
        List<Path> sources;
        try {
            outputDir = spool.derivedDir(job.jobId());
            JobCompleted previous = completedBefore(job, outputDir.resolve(COMPLETE_MARKER));
            if (previous != null) {
                return previous;
            }
            JobFailed failedBefore = failedBefore(job, outputDir.resolve(FAILED_MARKER));
            if (failedBefore != null) {
                return failedBefore;
            }
            sources = spool.seriesFiles(spool.resolve(job.seriesRef()));
            if (sources.isEmpty()) {
                return failed(
                        job,
                        JobFailure.input(
                                "source series " + job.seriesInstanceUid() + " has no instances in the spool"));
            }
            clear(outputDir);
        } catch (IllegalArgumentException e) {
            return failed(job, JobFailure.input("cannot prepare job: " + e.getMessage()));
        } catch (IOException e) {
            return failedAttempt(job, JobFailure.machine("cannot prepare job: " + Failures.reason(e)));
        }
        LOG.infof(
                "job %s: %s on series %s (%d instances, attempt %d of %d)",
                job.jobId(), job.task(), job.seriesInstanceUid(), sources.size(), job.attempt(), attempts.max());
        TaskResult outcome;
        try {
            outcome = TimeLimit.run(
                    "job-" + job.jobId(),
                    attempts.timeLimit(),
                    () -> task.run(
                            job,
                            sources,
                            outputDir,
                            (step, steps, message, rate) -> progress(job, step, steps, message, rate)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DurableRetry.Interrupted("run job " + job.jobId());
        } catch (Throwable t) {
            if (t instanceof JobFailure.OverTimeLimit over && over.abandoned()) {
                LOG.errorf(
                        "job %s: its thread did not stop after the time limit and still runs: restart this worker to "
                                + "free what it holds (liveness check abandoned-work is DOWN)",
                        job.jobId());
                progress.abandoned(
                        STAGE,
                        "job " + job.jobId(),
                        "its thread ran past " + attempts.timeLimit() + " and did not stop");
            }
            JobFailure failure = JobFailure.of(t);
            if (failure.reason().startsWith("internal error")) {
                LOG.errorf(t, "job %s crashed", job.jobId());
            }
            return failure.retryable() ? failedAttempt(job, failure) : failed(job, failure);
        }
        DerivedSeriesResult result = outcome.derived();
        // the finding before the completion: a consumer that sees the job completed can look its finding up
        outcome.finding()
                .ifPresent(finding -> retry.run(
                        STAGE, "record the triage finding of job " + job.jobId(), () -> outbox.append(finding)));
        long millis = (System.nanoTime() - start) / 1_000_000;
        JobCompleted completed = JobCompleted.of(
                job,
                task.method(),
                result.seriesInstanceUid(),
                result.companionSeriesUids(),
                result.files().size(),
                spool.relative(outputDir),
                millis);
        retry.run(
                STAGE,
                "write the completion marker of job " + job.jobId(),
                () -> AtomicFiles.writeString(outputDir.resolve(COMPLETE_MARKER), Events.toJson(completed)));
        metrics.timer("gateway_job_duration", "task", job.task()).record(Duration.ofMillis(millis));
        LOG.infof(
                "job %s completed in %d ms: derived series %s, %d instances",
                job.jobId(), millis, result.seriesInstanceUid(), result.files().size());
        return completed;
    }

    /** The completion recorded by an earlier run, or null; a torn or corrupt marker is reported and the job recomputed. */
    private JobCompleted completedBefore(JobRequested job, Path marker) throws IOException {
        if (!Files.exists(marker)) {
            return null;
        }
        try {
            JobCompleted previous = Events.fromJson(Files.readString(marker), JobCompleted.class);
            if (previous.derivedSeriesInstanceUid() == null || previous.derivedRef() == null) {
                throw new IllegalArgumentException("it names no derived series");
            }
            LOG.infof(
                    "job %s already completed: announcing its derived series %s again",
                    job.jobId(), previous.derivedSeriesInstanceUid());
            return previous;
        } catch (IllegalArgumentException | CharacterCodingException e) {
            LOG.warnf(
                    "job %s: its completion marker %s is unreadable (%s): computing the job again",
                    job.jobId(), marker, e.getMessage());
            Files.delete(marker);
            return null;
        }
    }

    /** Progress goes through the outbox like every event; a job stopped for its time limit ends here. */
    private void progress(JobRequested job, int step, int steps, String message, Double rate) {
        if (Thread.currentThread().isInterrupted()) {
            throw new CancellationException("job " + job.jobId() + " stopped");
        }
        retry.run(
                STAGE,
                "report the progress of job " + job.jobId(),
                () -> outbox.append(JobProgress.of(job, step, steps, message, rate)));
    }

    /** A failure of the machine: the next attempt is requested after the backoff, unless this was the last one. */
    private GatewayEvent failedAttempt(JobRequested job, JobFailure failure) {
        if (job.attempt() >= attempts.max()) {
            StringBuilder all = new StringBuilder("failed " + job.attempt() + " time(s): ");
            for (int i = 0; i < job.previousFailures().size(); i++) {
                all.append("attempt ")
                        .append(i + 1)
                        .append(": ")
                        .append(job.previousFailures().get(i))
                        .append("; ");
            }
            all.append("attempt ").append(job.attempt()).append(": ").append(failure.reason());
            return failed(job, JobFailure.machine(all.toString()));
        }
        LOG.warnf(
                "job %s (%s on series %s): attempt %d of %d failed: %s; requesting attempt %d in %s",
                job.jobId(),
                job.task(),
                job.seriesInstanceUid(),
                job.attempt(),
                attempts.max(),
                failure.reason(),
                job.attempt() + 1,
                attempts.before(job.attempt() + 1));
        metrics.counter("gateway_job_attempts_failed_total", "task", String.valueOf(job.task()))
                .increment();
        return job.retry(failure.reason());
    }

    /**
     * The job's end without a derived series. Recorded beside its directory's completion marker, so a later request
     * of the same job (a repeated readiness) announces the same failure instead of running it again.
     */
    private JobFailed failed(JobRequested job, JobFailure failure) {
        String reason = failure.reason();
        if (failure.retryable() || job.previousFailures().isEmpty()) {
            // a machine failure's reason already lists every attempt
        } else {
            reason = reason + " (after " + job.previousFailures().size() + " earlier attempt(s) failed: "
                    + String.join("; ", job.previousFailures()) + ")";
        }
        LOG.errorf(
                "job %s (%s on series %s) failed (%s): %s",
                job.jobId(), job.task(), job.seriesInstanceUid(), failure.cause(), reason);
        metrics.counter("gateway_jobs_failed_total", "task", String.valueOf(job.task()))
                .increment();
        JobFailed failed = JobFailed.of(job, reason, failure.cause());
        try {
            Path marker = spool.derivedDir(job.jobId()).resolve(FAILED_MARKER);
            retry.run(
                    STAGE,
                    "write the failure marker of job " + job.jobId(),
                    () -> AtomicFiles.writeString(marker, Events.toJson(failed)));
        } catch (IllegalArgumentException e) {
            // no directory for an invalid job id: nothing to record it in
        }
        return failed;
    }

    /** The failure recorded by an earlier run, or null; an unreadable marker is reported and the job run again. */
    private JobFailed failedBefore(JobRequested job, Path marker) throws IOException {
        if (!Files.exists(marker)) {
            return null;
        }
        try {
            JobFailed previous = Events.fromJson(Files.readString(marker), JobFailed.class);
            LOG.infof("job %s failed before (%s): announcing its failure again", job.jobId(), previous.reason());
            return previous;
        } catch (IllegalArgumentException | CharacterCodingException e) {
            LOG.warnf(
                    "job %s: its failure marker %s is unreadable (%s): running the job again",
                    job.jobId(), marker, e.getMessage());
            Files.delete(marker);
            return null;
        }
    }

    private void publish(GatewayEvent event) {
        retry.run(STAGE, "record " + event.type() + " " + event.eventId(), () -> outbox.append(event));
    }

    private static void clear(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> walk = Files.walk(dir)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        Files.createDirectories(dir);
    }
}
