package org.meddiff.gateway.track;

/** A job's state in the status view. COMPLETED and FAILED are both final: the later event of the two wins. */
public enum JobState {
    REQUESTED(0),
    RUNNING(1),
    COMPLETED(2),
    FAILED(2);

    private final int rank;

    JobState(int rank) {
        this.rank = rank;
    }

    /**
     * The state after {@code next} was seen: topics are consumed in no particular order relative to each other, so a
     * state never goes back (a progress event read after the completion leaves the job COMPLETED).
     */
    JobState advance(JobState next) {
        return next.rank >= rank ? next : this;
    }
}
