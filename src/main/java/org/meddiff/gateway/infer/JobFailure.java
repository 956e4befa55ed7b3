package org.meddiff.gateway.infer;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;

import org.meddiff.gateway.events.DurableRetry;
import org.meddiff.gateway.events.JobFailed;

/**
 * Why one attempt of a job failed, sorted by whose fault it is. The input's (not CT, missing slices, unreadable or
 * truncated pixels): another attempt would fail the same way, so the job fails at once. The machine's (an ONNX Runtime
 * error, out of memory, an I/O error, over the time limit, an unexpected exception): another attempt, here or on
 * another worker, may well succeed.
 */
public record JobFailure(String cause, String reason) {
    /** Thrown inside a job's thread when it ran over {@code gateway.infer.job-timeout}. */
    public static final class OverTimeLimit extends Exception {
        public OverTimeLimit(Duration limit, boolean stopped) {
            super("over its time limit of " + limit + " (gateway.infer.job-timeout)"
                    + (stopped ? "" : "; its thread did not stop and was abandoned"));
        }
    }

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
        if (t instanceof TaskFailedException) {
            Throwable machine = machineCause(t.getCause());
            return machine == null ? input(t.getMessage()) : machine(t.getMessage());
        }
        if (t instanceof OverTimeLimit) {
            return machine(t.getMessage());
        }
        if (t instanceof OutOfMemoryError) {
            return machine("out of memory (" + DurableRetry.reason(t) + ")");
        }
        Throwable ort = find(t, "ai.onnxruntime.OrtException");
        if (ort != null) {
            return machine("ONNX Runtime error: " + DurableRetry.reason(t));
        }
        if (t instanceof IOException || t instanceof UncheckedIOException) {
            return machine("I/O error: " + DurableRetry.reason(t));
        }
        // a bug or an unexpected state of the machine: retried, bounded by max-attempts
        return machine("internal error: " + t);
    }

    /** An I/O error (other than a file ending early: that is the file's fault) or ONNX Runtime error behind a task failure. */
    private static Throwable machineCause(Throwable c) {
        for (Throwable e = c; e != null; e = e.getCause()) {
            if ((e instanceof IOException && !(e instanceof EOFException)) || e instanceof UncheckedIOException
                    || e instanceof OutOfMemoryError || e.getClass().getName().equals("ai.onnxruntime.OrtException")) {
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
