package org.meddiff.gateway.track;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import org.meddiff.gateway.events.TriagePriority;

/** What GET /api/studies/{uid} returns. */
public record StudyStatus(String studyInstanceUid, List<SeriesStatus> series) {

    /** {@code recovered}: its last readiness came after the assembling process restarted while it was receiving. */
    public record SeriesStatus(
            String seriesInstanceUid,
            String modality,
            String seriesDescription,
            Double sliceThicknessMm,
            int instancesReceived,
            Integer readyGeneration,
            Integer readyInstanceCount,
            boolean recovered,
            boolean derivedByGateway,
            List<JobStatus> jobs) {}

    /**
     * One job. {@code attempt}: the latest attempt requested (a job that failed for a reason of the machine is tried
     * again); {@code previousFailures}: why the earlier attempts failed. Its progress, outcome and triage are flat in the
     * JSON, as they always were.
     */
    public record JobStatus(
            String jobId,
            String task,
            String rule,
            JobState state,
            int attempt,
            List<String> previousFailures,
            @JsonUnwrapped Progress progress,
            @JsonUnwrapped Outcome outcome,
            @JsonUnwrapped Triage triage,
            Map<String, DispatchStatus> dispatch) {}

    /** Step i of n of a running job. */
    public record Progress(Integer step, Integer steps, String message, Double itemsPerSecond) {}

    /**
     * {@code derivedInstances} counts every instance the job wrote, its derived series and the companion series beside
     * it (the anomaly task's colour-fused series); {@code error} and {@code failureCause} (input or machine) for a FAILED
     * job.
     */
    public record Outcome(
            String derivedSeriesInstanceUid,
            Integer derivedInstances,
            List<String> companionSeriesInstanceUids,
            String error,
            String failureCause) {}

    /** The anomaly task's finding. */
    public record Triage(Double triageScore, TriagePriority triagePriority) {}

    public record DispatchStatus(DispatchState state, Integer instancesStored, Integer attempts, String lastError) {}
}
