package org.meddiff.gateway.infer;

import java.util.Optional;

import org.meddiff.gateway.dicom.DerivedSeriesResult;
import org.meddiff.gateway.events.TriageFinding;

/**
 * What a task hands back to the runner: the derived series it wrote and, for the anomaly task, its triage finding.
 * Tasks publish nothing themselves: the runner announces the finding, then the completion, through the outbox.
 */
public record TaskResult(DerivedSeriesResult derived, Optional<TriageFinding> finding) {
    public static TaskResult of(DerivedSeriesResult derived) {
        return new TaskResult(derived, Optional.empty());
    }
}
