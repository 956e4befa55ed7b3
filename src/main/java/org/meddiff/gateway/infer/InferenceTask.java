package org.meddiff.gateway.infer;

import java.nio.file.Path;
import java.util.List;

import org.meddiff.gateway.events.JobRequested;

/**
 * One kind of post-processing behind the worker contract: source series in, derived series (and a finding) out.
 * Implementations are CDI beans; the runner finds them by {@link #name()}.
 */
public interface InferenceTask {
    /** The task name routing rules use (events.TaskNames). */
    String name();

    /** Method and version, recorded in the derived series and part of its UID seed. */
    String method();

    TaskResult run(JobRequested job, List<Path> sourceFiles, Path outputDir, TaskProgress progress)
            throws TaskFailedException;

    /** Reports step i of n while a task runs. */
    @FunctionalInterface
    interface TaskProgress {
        void step(int step, int steps, String message, Double itemsPerSecond);
    }
}
