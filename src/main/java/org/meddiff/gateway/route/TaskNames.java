package org.meddiff.gateway.route;

import java.util.Set;

/** The tasks the infer stage implements; a rule naming anything else stops start-up. */
public final class TaskNames {
    /** Classical baseline: cubic interpolation of thick slices to thin ones. */
    public static final String CUBIC_THICK_TO_THIN = "cubic-thick-to-thin";

    public static final Set<String> KNOWN = Set.of(CUBIC_THICK_TO_THIN);

    private TaskNames() {
    }
}
