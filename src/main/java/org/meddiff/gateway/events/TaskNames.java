package org.meddiff.gateway.events;

import java.util.Set;

/** The task names of the job events: what routing rules request and the infer stage implements (a rule naming anything else stops start-up). */
public final class TaskNames {
    /** Classical baseline: cubic interpolation of thick slices to thin ones. */
    public static final String CUBIC_THICK_TO_THIN = "cubic-thick-to-thin";

    /** MedDiff-FM DiffPIR denoising of low-dose CT. */
    public static final String DENOISE = "denoise";

    /** MedDiff-FM DiffPIR + ControlNet thick-to-thin super-resolution. */
    public static final String SUPER_RESOLUTION = "superres";

    /** MedDiff-FM anomaly map (one-step reconstructions, averaged) with a triage.finding. */
    public static final String ANOMALY = "anomaly";

    public static final Set<String> KNOWN = Set.of(CUBIC_THICK_TO_THIN, DENOISE, SUPER_RESOLUTION, ANOMALY);

    private TaskNames() {}
}
