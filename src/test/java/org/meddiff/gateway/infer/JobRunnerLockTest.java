package org.meddiff.gateway.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.SeriesReady;
import org.meddiff.gateway.spool.Spool;

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
        JobRunnerTest.Scripted task = new JobRunnerTest.Scripted(); // writes a one-file derived series, counts its runs
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
            assertEquals(0, task.runs.get(), "and has not touched the job meanwhile");
            other.getOutputStream().close(); // the other worker is done (or died): its lock goes
            worker.join(30_000);
            assertEquals(1, task.runs.get(), "then the job runs here, once");
            assertTrue(Files.exists(spool.derivedDir(JOB).resolve(Spool.COMPLETE_MARKER)));
        } finally {
            other.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
