package org.meddiff.gateway.campaign;

import java.nio.file.Path;

/** The gateway under test as the cases see it: where to connect and the limits it was started with. */
record FuzzTarget(int port, String calledAe, String runId, int idleTimeoutMillis, int maxAssociations, Path spool) {
    /** How long the gateway may take to end a connection it has nothing more to wait for. */
    int endWithinMillis() {
        return idleTimeoutMillis + 7_000;
    }
}
