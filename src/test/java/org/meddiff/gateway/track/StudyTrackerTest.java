package org.meddiff.gateway.track;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.Topics;

/** The status view's order and bound: what the status page lists after weeks of traffic. */
class StudyTrackerTest {

    static ObjectNode received(String study) {
        ObjectNode e = Events.JSON.createObjectNode();
        e.put("type", Topics.INSTANCE_RECEIVED);
        e.put("studyInstanceUid", study);
        e.put("seriesInstanceUid", study + ".1");
        e.put("sopInstanceUid", study + ".1.1");
        return e;
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
}
