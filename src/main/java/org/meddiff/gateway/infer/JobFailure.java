package org.meddiff.gateway.infer;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.ClosedChannelException;
import java.nio.file.FileSystemException;
import java.time.Duration;
import java.util.regex.Pattern;

import org.meddiff.gateway.Failures;
import org.meddiff.gateway.events.JobFailed;

/**
 * Why one attempt of a job failed, sorted by whose fault it is. The input's (not CT, missing slices, unreadable or
 * truncated pixels, a geometry the volume code cannot take): another attempt would fail the same way, so the job fails
 * at once. The machine's (an ONNX Runtime error, out of memory, a file system error, a model not installed, over the
 * time limit, an unexpected exception): another attempt, here or on another worker, may well succeed.
 */
public record JobFailure(String cause, String reason) {
    /** Thrown inside a job's thread when it ran over {@code gateway.infer.job-timeout}. */
    public static final class OverTimeLimit extends Exception {
        private final boolean abandoned;

        public OverTimeLimit(Duration limit, boolean stopped) {
            super("over its time limit of " + limit + " (gateway.infer.job-timeout)"
                    + (stopped ? "" : "; its thread did not stop and was abandoned"));
            this.abandoned = !stopped;
        }

        /** The attempt's thread would not stop: it still runs, holding what it holds. */
        public boolean abandoned() {
            return abandoned;
        }
    }

    /** What the operating system says when the disk, not the data, is the problem. */
    private static final Pattern SYSTEM_ERRORS = Pattern.compile(
            "No space left on device|Input/output error|Read-only file system|Disk quota exceeded|Stale file handle"
                    + "|Too many open files|Permission denied");

    public boolean retryable() {
        return JobFailed.MACHINE.equals(cause);
    }

    public static JobFailure input(String reason) {
        return new JobFailure(JobFailed.INPUT, reason);
    }

    public static JobFailure machine(String reason) {
        return new JobFailure(JobFailed.MACHINE, reason);
    }

    public static JobFailure of(Throwable t) {
        if (t instanceof TaskFailedException f) {
            return f.machine() || machineCause(t.getCause()) != null ? machine(t.getMessage()) : input(t.getMessage());
        }
        if (t instanceof OverTimeLimit) {
            return machine(t.getMessage());
        }
        if (t instanceof OutOfMemoryError) {
            return machine("out of memory (" + Failures.reason(t) + ")");
        }
        if (find(t, "ai.onnxruntime.OrtException") != null) {
            return machine("ONNX Runtime error: " + Failures.reason(t));
        }
        if (t instanceof IOException || t instanceof UncheckedIOException) {
            return machine("I/O error: " + Failures.reason(t));
        }
        if (t instanceof IllegalArgumentException) {
            // what the volume code says about a series it cannot take (too few slices for the kernel, a grid too small)
            return input("cannot process this series: " + Failures.reason(t));
        }
        // a bug or an unexpected state of the machine: retried, bounded by max-attempts
        return machine("internal error: " + t);
    }

    /**
     * The machine's fault behind a task failure: the file system failing (a missing or unreadable file, a full or
     * read-only disk, an I/O error), or ONNX Runtime. Other I/O errors come from parsing a data set (PixelMed reports a
     * malformed one as an IOException) and are the input's, as is an OutOfMemoryError a reader met on a corrupt length.
     */
    private static Throwable machineCause(Throwable c) {
        for (Throwable e = c; e != null; e = e.getCause()) {
            if (e instanceof FileSystemException
                    || e instanceof FileNotFoundException
                    || e instanceof ClosedChannelException
                    || e instanceof UncheckedIOException
                    || e.getClass().getName().equals("ai.onnxruntime.OrtException")) {
                return e;
            }
            if (e instanceof IOException
                    && e.getMessage() != null
                    && SYSTEM_ERRORS.matcher(e.getMessage()).find()) {
                return e;
            }
        }
        return null;
    }

    private static Throwable find(Throwable t, String className) {
        for (Throwable e = t; e != null; e = e.getCause()) {
            if (e.getClass().getName().equals(className)) {
                return e;
            }
        }
        return null;
    }
}
