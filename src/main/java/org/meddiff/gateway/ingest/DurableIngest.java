package org.meddiff.gateway.ingest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.jboss.logging.Logger;
import org.meddiff.gateway.Failures;
import org.meddiff.gateway.dicom.DerivedMarker;
import org.meddiff.gateway.dicom.DicomDataException;
import org.meddiff.gateway.dicom.DicomDatasets;
import org.meddiff.gateway.dicom.InstanceHeader;
import org.meddiff.gateway.dicom.net.DicomStatus;
import org.meddiff.gateway.dicom.net.ReceivedInstance;
import org.meddiff.gateway.dicom.net.StoreHandler;
import org.meddiff.gateway.dicom.net.StoreOutcome;
import org.meddiff.gateway.events.InstanceReceived;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.SeriesAttributes;
import org.meddiff.gateway.spool.Spool;
import org.meddiff.gateway.spool.Uids;

/**
 * What a C-STORE success promises: the data set parsed, its UIDs are safe to use as path names, the
 * file is fsync-ed and atomically renamed into the spool, and its dicom.instance.received event is in
 * the durable outbox. Anything short of that is answered with a failure status and leaves nothing behind.
 */
@ApplicationScoped
public class DurableIngest implements StoreHandler {
    private static final Logger LOG = Logger.getLogger(DurableIngest.class);

    private final Spool spool;
    private final Outbox outbox;
    private final DicomDatasets datasets;
    private final MeterRegistry metrics;
    private final Timer answerTimer;
    /** Striped by the instance's path: stores of different instances never wait for each other but by chance. */
    private final Object[] sameInstance = new Object[256];

    @Inject
    public DurableIngest(Spool spool, Outbox outbox, DicomDatasets datasets, MeterRegistry metrics) {
        this.spool = spool;
        this.outbox = outbox;
        this.datasets = datasets;
        this.metrics = metrics;
        this.answerTimer = Timer.builder("gateway_ingest_answer")
                .description(
                        "last data fragment of a C-STORE to its answer: the data file's sync and the durable ingest")
                .publishPercentiles(0.5, 0.99)
                .register(metrics);
        for (int i = 0; i < sameInstance.length; i++) {
            sameInstance[i] = new Object();
        }
    }

    @Override
    public StoreOutcome store(ReceivedInstance in) {
        long start = System.nanoTime();
        StoreOutcome outcome = storeOrRefuse(in);
        metrics.timer("gateway_ingest_store").record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
        if (outcome.status() != DicomStatus.SUCCESS) {
            deleteQuietly(in.file());
            LOG.warnf(
                    "C-STORE from %s of SOP instance %s refused with %s: %s",
                    in.callingAe(), in.sopInstanceUid(), DicomStatus.hex(outcome.status()), outcome.errorComment());
            metrics.counter("gateway_instances_refused_total", "status", DicomStatus.hex(outcome.status()))
                    .increment();
        } else {
            metrics.counter("gateway_instances_stored_total").increment();
        }
        return outcome;
    }

    /** Per-instance latency of the answer, with its median and 99th percentile (a benchmark reads them). */
    @Override
    public void answered(long nanosSinceLastFragment) {
        answerTimer.record(nanosSinceLastFragment, TimeUnit.NANOSECONDS);
    }

    /** The network layer logged its refusal (ScpAssociation); it is counted here with the handler's own. */
    @Override
    public void refusedBeforeHandling(String callingAe, String sopInstanceUid, int status, String reason) {
        metrics.counter("gateway_instances_refused_total", "status", DicomStatus.hex(status))
                .increment();
    }

    private StoreOutcome storeOrRefuse(ReceivedInstance in) {
        if (!spool.hasRoomForMore()) {
            return StoreOutcome.failure(DicomStatus.OUT_OF_RESOURCES, "spool is full");
        }
        InstanceHeader header;
        try {
            header = datasets.readHeader(in.file());
        } catch (DicomDataException e) {
            return StoreOutcome.failure(DicomStatus.CANNOT_UNDERSTAND, "cannot parse data set: " + e.getMessage());
        }
        for (String uid :
                new String[] {header.studyInstanceUid(), header.seriesInstanceUid(), header.sopInstanceUid()}) {
            if (!Uids.isValid(uid)) {
                return StoreOutcome.failure(DicomStatus.CANNOT_UNDERSTAND, "invalid UID '" + printable(uid) + "'");
            }
        }
        if (!header.sopInstanceUid().equals(in.sopInstanceUid())) {
            return StoreOutcome.failure(
                    DicomStatus.CANNOT_UNDERSTAND, "SOPInstanceUID differs from the C-STORE request");
        }
        if (!header.sopClassUid().equals(in.sopClassUid())) {
            return StoreOutcome.failure(
                    DicomStatus.DATA_SET_DOES_NOT_MATCH_SOP_CLASS,
                    "data set is " + header.sopClassUid() + ", request said " + in.sopClassUid());
        }
        Path target =
                spool.instancePath(header.studyInstanceUid(), header.seriesInstanceUid(), header.sopInstanceUid());
        // two senders storing the same instance at once: one's refusal must not remove the copy the other was told is
        // stored
        synchronized (sameInstance[Math.floorMod(target.hashCode(), sameInstance.length)]) {
            return moveAndAnnounce(in, header, target);
        }
    }

    private StoreOutcome moveAndAnnounce(ReceivedInstance in, InstanceHeader header, Path target) {
        long size;
        boolean replacing = Files.exists(target); // a resent instance: the copy already there was acknowledged before
        try {
            size = Files.size(in.file());
            spool.moveDurably(in.file(), target);
        } catch (IOException e) {
            LOG.errorf("cannot move %s into the spool at %s: %s", in.file(), target, Failures.reason(e));
            return StoreOutcome.failure(DicomStatus.OUT_OF_RESOURCES, "spool write failed");
        }
        SeriesAttributes series = new SeriesAttributes(
                header.modality(),
                header.seriesNumber(),
                header.sliceThicknessMm(),
                header.seriesDescription(),
                header.bodyPartExamined(),
                header.imageType(),
                header.sopClassUid(),
                in.callingAe(),
                in.calledAe(),
                DerivedMarker.isOurs(header.derivationDescription()));
        try {
            outbox.append(InstanceReceived.of(
                    header.studyInstanceUid(),
                    header.seriesInstanceUid(),
                    header.sopInstanceUid(),
                    in.transferSyntaxUid(),
                    size,
                    spool.relative(target),
                    series));
        } catch (IOException e) {
            // Not announced: refuse, so the sender retries and the retry announces it. A refused instance leaves
            // nothing behind, unless it replaced a copy acknowledged before (that one was announced then).
            LOG.errorf("cannot record the event for %s: %s", target, Failures.reason(e));
            if (!replacing) {
                deleteQuietly(target);
            }
            return StoreOutcome.failure(DicomStatus.OUT_OF_RESOURCES, "event outbox write failed");
        }
        return StoreOutcome.success();
    }

    private static String printable(String s) {
        if (s == null) {
            return "(missing)";
        }
        String clean = s.replaceAll("[^\\x20-\\x7e]", "?");
        return clean.length() > 40 ? clean.substring(0, 40) + "..." : clean;
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // the start-up sweep removes it
        }
    }
}
