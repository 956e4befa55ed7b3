package org.meddiff.gateway.campaign;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The child processes a campaign started, closed in reverse order when the run ends, and also when the campaign JVM is
 * stopped by SIGINT/SIGTERM (a shutdown hook): a Ctrl-C on bin/campaign must not leave a broker, gateways or a PACS
 * running. Only what was registered here is touched.
 */
final class Teardown implements AutoCloseable {
    private final Deque<AutoCloseable> resources = new ArrayDeque<>();
    private final Thread hook = new Thread(this::closeAll, "campaign-teardown");

    Teardown() {
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Registers a started process; returns it. */
    synchronized <T extends AutoCloseable> T add(T resource) {
        resources.push(resource);
        return resource;
    }

    private void closeAll() {
        while (true) {
            AutoCloseable c;
            synchronized (this) {
                c = resources.poll();
            }
            if (c == null) {
                return;
            }
            try {
                c.close();
            } catch (Exception ignored) {
                // the next one must still be closed
            }
        }
    }

    @Override
    public void close() {
        closeAll();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException ignored) {
            // the JVM is already shutting down: the hook is running or has run
        }
    }
}
