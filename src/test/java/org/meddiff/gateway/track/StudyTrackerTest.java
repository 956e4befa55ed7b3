package org.meddiff.gateway.track;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.InstanceReceived;
import org.meddiff.gateway.events.JobCompleted;
import org.meddiff.gateway.events.JobProgress;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.SeriesReady;
import org.meddiff.gateway.events.StoreCompleted;
import org.meddiff.gateway.events.TriageFinding;
import org.meddiff.gateway.events.TriagePriority;

/** The status view's order and bound: what the status page lists after weeks of traffic. */
class StudyTrackerTest {
    static final String STUDY = "1.2.9";
    static final SeriesReady READY = SeriesReady.of(STUDY, STUDY + ".1", 1, 3, "instances/1.2.9/1.2.9.1", null);
    static final JobRequested JOB = JobRequested.of("b".repeat(32), "anomaly", "ae-anomaly", READY, Map.of());

    static InstanceReceived received(String study) {
        return InstanceReceived.of(
                study, study + ".1", study + ".1.1", "1.2.840.10008.1.2.1", 100, "instances/x", null);
    }

    @Test
    void studiesAreListedInFirstSeenOrderAndTheOldestGoBeyondTheBound() {
        StudyTracker tracker = new StudyTracker();
        int n = StudyTracker.MAX_STUDIES + 5;
        for (int i = 1; i <= n; i++) {
            tracker.apply(received("1.2." + i));
        }
        tracker.apply(received("1.2.7")); // a later event of an older study does not move it
        List<String> uids = tracker.studyUids();
        assertEquals(StudyTracker.MAX_STUDIES, uids.size());
        assertEquals("1.2.6", uids.get(0), "the five oldest were dropped");
        assertEquals("1.2." + n, uids.get(uids.size() - 1), "newest last");
        assertTrue(tracker.status("1.2.6").isPresent());
        assertFalse(tracker.status("1.2.5").isPresent());
    }

    StudyStatus.JobStatus onlyJob(StudyTracker tracker) {
        return tracker.status(STUDY).orElseThrow().series().get(0).jobs().get(0);
    }

    @Test
    void aJobsStateNeverGoesBack_whateverOrderTheTopicsAreReadIn() {
        StudyTracker tracker = new StudyTracker();
        JobCompleted completed = JobCompleted.of(JOB, "m/1", "2.25.5", List.of(), 3, "derived/x", 10);
        tracker.apply(StoreCompleted.of(completed, "PACS@h:1", 3, 1)); // dispatch read before the completion implies it
        assertEquals(JobState.COMPLETED, onlyJob(tracker).state());
        assertEquals("2.25.5", onlyJob(tracker).outcome().derivedSeriesInstanceUid());
        tracker.apply(JobProgress.of(JOB, 1, 2, "late progress", null));
        tracker.apply(JOB);
        assertEquals(JobState.COMPLETED, onlyJob(tracker).state(), "a late progress or request does not reopen it");
        assertEquals(
                DispatchState.DELIVERED,
                onlyJob(tracker).dispatch().get("PACS@h:1").state());
    }

    @Test
    void theStatusJsonKeepsItsFlatShape() throws Exception {
        StudyTracker tracker = new StudyTracker();
        tracker.apply(READY);
        tracker.apply(JOB);
        tracker.apply(JobProgress.of(JOB, 1, 2, "sampling", 3.5));
        tracker.apply(TriageFinding.of(JOB, "2.25.6", 0.2, "abdomen", TriagePriority.STAT, 0.09, "m/1"));
        JsonNode job = Events.JSON
                .readTree(Events.JSON.writeValueAsString(tracker.status(STUDY).orElseThrow()))
                .path("series")
                .get(0)
                .path("jobs")
                .get(0);
        assertEquals("RUNNING", job.path("state").asText());
        assertEquals(1, job.path("step").asInt());
        assertEquals("sampling", job.path("message").asText());
        assertEquals("STAT", job.path("triagePriority").asText());
        assertEquals(0.2, job.path("triageScore").asDouble());
        assertTrue(job.has("derivedSeriesInstanceUid") && job.has("failureCause"), job.toString());
        assertFalse(job.has("progress") || job.has("outcome") || job.has("triage"), "no nesting: " + job);
    }

    @Test
    void anEventTheViewCannotTakeIsSkipped_notThrownAtTheChannel() {
        StudyTracker tracker = new StudyTracker();
        tracker.onEvent("not json");
        tracker.onEvent("{\"type\":\"dicom.instance.received\",\"studyInstanceUid\":\"1.2.3\"}"); // no SOP instance
        tracker.onEvent("{\"type\":\"dicom.instance.received\",\"studyInstanceUid\":\"1.2.4\",\"seriesInstanceUid\":"
                + "\"1.2.4.1\",\"sopInstanceUid\":\"1.2.4.1.1\"}"); // foreign: no correlation id
        assertTrue(tracker.status("1.2.4").isPresent(), "a foreign event is filed under its studyInstanceUid");
        assertEquals(1, tracker.status("1.2.4").orElseThrow().series().get(0).instancesReceived());
    }
}
