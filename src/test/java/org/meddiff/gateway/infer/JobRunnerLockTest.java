package org.meddiff.gateway.infer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.dicom.DerivedSeriesResult;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.SeriesReady;
import org.meddiff.gateway.spool.Spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two workers sharing a spool and handed the same job (a redelivery after a rebalance): while another process holds
 * the job's lock, this one waits instead of clearing the directory under it, then runs the job once the lock is free.
 * The other process is a real JVM ({@link LockHolder}); the task is a stand-in that records its runs.
 */
class JobRunnerLockTest {
    static final String STUDY = "1.2.826.0.1.3680043.8.498.7";
    static final String SERIES = STUDY + ".1";
    static final String JOB = "0123456789abcdef0123456789abcdef";

    @TempDir
    Path root;

    @Test
    void aJobLockedByAnotherProcessWaitsForItThenRunsOnce() throws Exception {
        Spool spool = new Spool(root, 0);
        Path seriesDir = spool.seriesDir(STUDY, SERIES);
        Files.createDirectories(seriesDir);
        Files.write(seriesDir.resolve(SERIES + ".1.dcm"), new byte[] {1});
        AtomicInteger runs = new AtomicInteger();
        InferenceTask task = new InferenceTask() {
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
                runs.incrementAndGet();
                try {
                    return TaskResult.of(new DerivedSeriesResult(
                            "2.25.1", List.of(Files.writeString(outputDir.resolve("0001.dcm"), "x"))));
                } catch (IOException e) {
                    throw new TaskFailedException(e.getMessage(), e);
                }
            }
        };
        JobRunner runner = JobRunnerTest.runner(task, spool, new Outbox(spool), JobRunnerTest.QUICK);
        JobRequested job = JobRequested.of(
                JOB,
                "stand-in",
                "test",
                SeriesReady.of(STUDY, SERIES, 1, 1, spool.relative(seriesDir), null),
                Map.of());

        Path lock = spool.derivedDir(JOB).resolveSibling(JOB + ".lock");
        Process other = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        LockHolder.class.getName(),
                        lock.toString())
                .start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(other.getInputStream()));
            assertEquals("locked", out.readLine(), "the other process holds the job's lock");
            Thread worker = Thread.ofPlatform().start(() -> runner.run(job));
            worker.join(1500);
            assertTrue(worker.isAlive(), "this worker waits while the other holds the job");
            assertEquals(0, runs.get(), "and has not touched the job meanwhile");
            other.getOutputStream().close(); // the other worker is done (or died): its lock goes
            worker.join(30_000);
            assertEquals(1, runs.get(), "then the job runs here, once");
            assertTrue(Files.exists(spool.derivedDir(JOB).resolve(Spool.COMPLETE_MARKER)));
        } finally {
            other.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
