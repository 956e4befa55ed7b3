package org.meddiff.gateway.infer;

/**
 * A job that cannot produce a result; the message is for humans. By default the input's fault (unsupported or
 * inconsistent series: another attempt fails the same way); {@link #ofMachine} marks what the worker lacks (a model
 * not installed), which another attempt, on another worker, may not.
 */
public class TaskFailedException extends Exception {
    private final boolean machine;

    public TaskFailedException(String message) {
        this(message, null, false);
    }

    public TaskFailedException(String message, Throwable cause) {
        this(message, cause, false);
    }

    private TaskFailedException(String message, Throwable cause, boolean machine) {
        super(message, cause);
        this.machine = machine;
    }

    /** The worker's fault, not the series': worth another attempt. */
    public static TaskFailedException ofMachine(String message) {
        return new TaskFailedException(message, null, true);
    }

    public boolean machine() {
        return machine;
    }
}
