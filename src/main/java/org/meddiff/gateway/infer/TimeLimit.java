package org.meddiff.gateway.infer;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a job's work in a thread of its own and waits at most its time limit: past it, the thread is interrupted (the
 * samplers and the progress reports check for that between network calls), given {@link #STOP_GRACE} to end, and
 * the caller goes on either way, so a worker never hangs on one job.
 */
final class TimeLimit {
    static final Duration STOP_GRACE = Duration.ofSeconds(30);

    /** The work of one attempt. */
    @FunctionalInterface
    interface Work<T> {
        T run() throws Exception;
    }

    private TimeLimit() {}

    /** The work's result; what it threw (an Error too) is thrown as is; {@link JobFailure.OverTimeLimit} past the limit. */
    static <T> T run(String threadName, Duration limit, Work<T> work) throws Throwable {
        FutureTask<T> task = new FutureTask<>(work::run);
        Thread thread = Thread.ofPlatform().name(threadName).daemon(true).start(task);
        try {
            return task.get(limit.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw e.getCause();
        } catch (TimeoutException e) {
            thread.interrupt();
            thread.join(STOP_GRACE.toMillis());
            throw new JobFailure.OverTimeLimit(limit, !thread.isAlive());
        } catch (InterruptedException e) {
            thread.interrupt(); // shutdown: the job is not finished and its record stays uncommitted
            throw e;
        }
    }
}
