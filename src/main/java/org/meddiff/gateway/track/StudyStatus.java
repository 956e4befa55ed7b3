package org.meddiff.gateway.track;

import java.util.List;
import java.util.Map;

/** What GET /api/studies/{uid} returns. */
public record StudyStatus(String studyInstanceUid, List<SeriesStatus> series) {

    /** {@code recovered}: its last readiness came after the assembling process restarted while it was receiving. */
    public record SeriesStatus(String seriesInstanceUid, String modality, String seriesDescription, Double sliceThicknessMm,
                               int instancesReceived, Integer readyGeneration, Integer readyInstanceCount, boolean recovered,
                               boolean derivedByGateway, List<JobStatus> jobs) {
    }

    /**
     * One job; {@code derivedInstances} counts every instance it wrote, its derived series and the companion series
     * beside it (the anomaly task's colour-fused series). {@code attempt}: the latest attempt requested (a job that
     * failed for a reason of the machine is tried again); {@code previousFailures}: why the earlier attempts failed;
     * {@code failureCause}: input or machine, for a FAILED job.
     */
    public record JobStatus(String jobId, String task, String rule, String state, Integer step, Integer steps,
                            String message, Double itemsPerSecond, String derivedSeriesInstanceUid, Integer derivedInstances,
                            List<String> companionSeriesInstanceUids, String error, Double triageScore, String triagePriority,
                            Map<String, DispatchStatus> dispatch, int attempt, List<String> previousFailures, String failureCause) {
    }

    public record DispatchStatus(String state, Integer instancesStored, Integer attempts, String lastError) {
    }
}
