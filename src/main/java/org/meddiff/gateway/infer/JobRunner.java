package org.meddiff.gateway.infer;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
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
import org.meddiff.gateway.dicom.DerivedSeriesResult;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.GatewayEvent;
import org.meddiff.gateway.events.JobCompleted;
import org.meddiff.gateway.events.JobFailed;
import org.meddiff.gateway.events.JobProgress;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.spool.Spool;

/**
 * The worker side of the job contract: consumes inference.job.requested (one consumer group, so jobs
 * spread over workers by partition), runs the task, reports progress, and announces the derived series
 * or the failure. A job that already completed (redelivery after a crash) is announced again from its
 * marker without being recomputed.
 */
@ApplicationScoped
public class JobRunner {
    private static final Logger LOG = Logger.getLogger(JobRunner.class);
    static final String COMPLETE_MARKER = Spool.COMPLETE_MARKER;

    private final Map<String, InferenceTask> tasks;
    private final Spool spool;
    private final Outbox outbox;
    private final MeterRegistry metrics;

    @Inject
    public JobRunner(Instance<InferenceTask> tasks, Spool spool, Outbox outbox, MeterRegistry metrics) {
        this.tasks = tasks.stream().collect(Collectors.toMap(InferenceTask::name, Function.identity()));
        this.spool = spool;
        this.outbox = outbox;
        this.metrics = metrics;
    }

    @Incoming("infer-jobs")
    @Blocking
    public void onJob(String json) {
        JobRequested job;
        try {
            job = Events.fromJson(json, JobRequested.class);
        } catch (IllegalArgumentException e) {
            LOG.errorf("skipping unreadable inference.job.requested record: %s", e.getMessage());
            return;
        }
        run(job);
    }

    /**
     * Workers sharing a spool could both get one job (a redelivery after a rebalance while the first still runs): a
     * file lock beside its directory lets only one run it at a time; the other waits, then finds the completed
     * marker and re-announces, or runs the job itself if the first died.
     */
    void run(JobRequested job) {
        Path lockFile;
        try {
            lockFile = spool.jobLockFile(job.jobId());
        } catch (IllegalArgumentException e) {
            fail(job, "cannot prepare job: " + e.getMessage());
            return;
        }
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock lock = channel.tryLock();
            if (lock == null) {
                LOG.infof("job %s is running in another worker sharing the spool: waiting for it", job.jobId());
                lock = channel.lock();
            }
            try {
                runLocked(job);
            } finally {
                lock.release();
            }
        } catch (IOException | java.nio.channels.OverlappingFileLockException e) {
            fail(job, "cannot lock the job's directory: " + e);
        }
    }

    private void runLocked(JobRequested job) {
        long start = System.nanoTime();
        InferenceTask task = tasks.get(job.task());
        if (task == null) {
            fail(job, "no worker here implements task '" + job.task() + "'");
            return;
        }
        Path outputDir;
        List<Path> sources;
        try {
            outputDir = spool.derivedDir(job.jobId());
            Path marker = outputDir.resolve(COMPLETE_MARKER);
            if (Files.exists(marker)) {
                JobCompleted previous = Events.fromJson(Files.readString(marker), JobCompleted.class);
                LOG.infof("job %s already completed: announcing its derived series %s again", job.jobId(),
                        previous.derivedSeriesInstanceUid());
                publish(previous);
                return;
            }
            sources = spool.seriesFiles(spool.resolve(job.seriesRef()));
            if (sources.isEmpty()) {
                fail(job, "source series " + job.seriesInstanceUid() + " has no instances in the spool");
                return;
            }
            clear(outputDir);
        } catch (IOException | IllegalArgumentException e) {
            fail(job, "cannot prepare job: " + e.getMessage());
            return;
        }
        LOG.infof("job %s: %s on series %s (%d instances)", job.jobId(), job.task(), job.seriesInstanceUid(), sources.size());
        try {
            DerivedSeriesResult result = task.run(job, sources, outputDir,
                    (step, steps, message, rate) -> publish(JobProgress.of(job, step, steps, message, rate)));
            long millis = (System.nanoTime() - start) / 1_000_000;
            JobCompleted completed = JobCompleted.of(job, task.method(), result.seriesInstanceUid(),
                    result.companionSeriesUids(), result.files().size(),
                    spool.relative(outputDir), millis);
            Files.writeString(outputDir.resolve(COMPLETE_MARKER), Events.toJson(completed));
            publish(completed);
            metrics.timer("gateway_job_duration", "task", job.task()).record(java.time.Duration.ofMillis(millis));
            LOG.infof("job %s completed in %d ms: derived series %s, %d instances", job.jobId(), millis,
                    result.seriesInstanceUid(), result.files().size());
        } catch (TaskFailedException e) {
            fail(job, e.getMessage());
        } catch (IOException | RuntimeException e) {
            LOG.errorf(e, "job %s crashed", job.jobId());
            fail(job, "internal error: " + e);
        }
    }

    private void fail(JobRequested job, String reason) {
        LOG.errorf("job %s (%s on series %s) failed: %s", job.jobId(), job.task(), job.seriesInstanceUid(), reason);
        metrics.counter("gateway_jobs_failed_total", "task", String.valueOf(job.task())).increment();
        publish(JobFailed.of(job, reason));
    }

    private void publish(GatewayEvent event) {
        try {
            outbox.append(event);
        } catch (IOException e) {
            LOG.errorf("cannot record %s for job: %s", event.type(), e.getMessage());
        }
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
