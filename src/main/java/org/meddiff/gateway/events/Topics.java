package org.meddiff.gateway.events;

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

    private Topics() {}
}
