package org.meddiff.gateway.events;

import java.util.Map;

/** Topic names (kafka/topics.json is the documented list with partitions and retention). */
public final class Topics {
    public static final String INSTANCE_RECEIVED = "dicom.instance.received";
    public static final String SERIES_READY = "dicom.series.ready";
    public static final String JOB_REQUESTED = "inference.job.requested";
    public static final String JOB_PROGRESS = "inference.job.progress";
    public static final String JOB_COMPLETED = "inference.job.completed";
    public static final String JOB_FAILED = "inference.job.failed";
    public static final String TRIAGE_FINDING = "triage.finding";
    public static final String STORE_COMPLETED = "pacs.store.completed";
    public static final String STORE_DLQ = "pacs.store.dlq";

    /** Each topic's event record: what a consumer of several topics reads a record of a topic into. */
    public static final Map<String, Class<? extends GatewayEvent>> RECORDS = Map.of(
            INSTANCE_RECEIVED, InstanceReceived.class,
            SERIES_READY, SeriesReady.class,
            JOB_REQUESTED, JobRequested.class,
            JOB_PROGRESS, JobProgress.class,
            JOB_COMPLETED, JobCompleted.class,
            JOB_FAILED, JobFailed.class,
            TRIAGE_FINDING, TriageFinding.class,
            STORE_COMPLETED, StoreCompleted.class,
            STORE_DLQ, StoreDeadLettered.class);

    private Topics() {}
}
