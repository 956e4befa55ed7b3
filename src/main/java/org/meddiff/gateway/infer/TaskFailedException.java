package org.meddiff.gateway.infer;

/** A job that cannot produce a result (unsupported or inconsistent input); the message is for humans. */
public class TaskFailedException extends Exception {
    public TaskFailedException(String message) {
        super(message);
    }

    public TaskFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
