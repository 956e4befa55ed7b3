package org.meddiff.gateway.dispatch;

import static org.meddiff.gateway.track.StudyResource.problem;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import jakarta.inject.Inject;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.jboss.logging.Logger;
import org.meddiff.gateway.events.Events;
import org.meddiff.gateway.events.JobCompleted;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.spool.Spool;

/**
 * {@code POST /api/jobs/{jobId}/redeliver}: sends a completed job's derived series again, e.g. after a dead letter
 * once the PACS is back. The job's completion event is published anew (new eventId), so dispatch delivers it to
 * every configured destination; the derived UIDs are the same, so a PACS that has the series keeps one copy.
 * Possible while the series is in the spool (gateway.spool.retention).
 */
@jakarta.ws.rs.Path("/api/jobs")
@Produces(MediaType.APPLICATION_JSON)
public class RedeliveryResource {
    private static final Logger LOG = Logger.getLogger(RedeliveryResource.class);

    @Inject
    Spool spool;

    @Inject
    Outbox outbox;

    @POST
    @jakarta.ws.rs.Path("/{jobId}/redeliver")
    public Response redeliver(@PathParam("jobId") String jobId) {
        Path marker;
        try {
            marker = spool.derivedDir(jobId).resolve(Spool.COMPLETE_MARKER);
        } catch (IllegalArgumentException e) {
            return problem(
                    400,
                    "Invalid job id",
                    "'" + jobId.replaceAll("[^\\x20-\\x7e]", "?") + "' is not a job id (hex digits)");
        }
        if (!Files.isRegularFile(marker)) {
            return problem(
                    404,
                    "No completed job",
                    "no completed job " + jobId + " in the spool (never completed, still "
                            + "running, or removed by the spool retention)");
        }
        JobCompleted previous;
        try {
            previous = Events.fromJson(Files.readString(marker), JobCompleted.class);
        } catch (IOException | IllegalArgumentException e) {
            return problem(500, "Unreadable job record", marker + ": " + e.getMessage());
        }
        JobCompleted again = previous.announcedAgain();
        try {
            outbox.append(again);
        } catch (IOException e) {
            return problem(503, "Cannot record the request", "the outbox refused it: " + e.getMessage());
        }
        LOG.infof("job %s: redelivery of derived series %s requested", jobId, previous.derivedSeriesInstanceUid());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("jobId", jobId);
        body.put("derivedSeriesInstanceUid", previous.derivedSeriesInstanceUid());
        body.put("instanceCount", previous.instanceCount());
        body.put("eventId", again.eventId());
        return Response.accepted(body).build();
    }
}
