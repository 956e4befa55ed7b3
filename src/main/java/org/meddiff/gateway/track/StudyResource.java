package org.meddiff.gateway.track;

import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.meddiff.gateway.spool.Uids;

/** Status API: studies, their series, jobs and dispatch results. Errors are RFC 9457 problem documents. */
@Path("/api/studies")
@Produces(MediaType.APPLICATION_JSON)
public class StudyResource {

    @Inject
    StudyTracker tracker;

    @GET
    public List<String> studies() {
        return tracker.studyUids();
    }

    @GET
    @Path("/{studyInstanceUid}")
    public Response study(@PathParam("studyInstanceUid") String studyUid) {
        if (!Uids.isValid(studyUid)) {
            return problem(
                    400,
                    "Invalid StudyInstanceUID",
                    "'" + studyUid.replaceAll("[^\\x20-\\x7e]", "?")
                            + "' is not a DICOM UID (digits and dots, at most 64 characters)");
        }
        return tracker.status(studyUid)
                .map(s -> Response.ok(s).build())
                .orElseGet(() -> problem(404, "Study not known", "no event for study " + studyUid + " has been seen"));
    }

    /** An RFC 9457 problem response; every REST endpoint of the gateway answers errors with it. */
    public static Response problem(int status, String title, String detail) {
        return Response.status(status)
                .type("application/problem+json")
                .entity(Map.of("type", "about:blank", "title", title, "status", status, "detail", detail))
                .build();
    }
}
