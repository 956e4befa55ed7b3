package org.meddiff.gateway.dispatch;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

import org.meddiff.gateway.dicom.net.StoreScu;

/**
 * One queue per destination: at most its configured number of associations are open at once (default 1: many PACS,
 * DCMTK's storescp among them, serve one association at a time and leave a second caller waiting until it times out),
 * and deliveries take their turn in arrival order. A delivery holds its slot for one attempt only, never across its
 * backoff, so a destination that recovers is served at once by whoever waits.
 */
final class DestinationLanes {
    private final Map<String, Semaphore> lanes = new ConcurrentHashMap<>();

    /** An association slot; close it to give it back. */
    interface Slot extends AutoCloseable {
        @Override
        void close();
    }

    Slot acquire(StoreScu.Destination destination) throws InterruptedException {
        Semaphore lane = lane(destination);
        lane.acquire();
        return lane::release;
    }

    /** Deliveries waiting for a slot of this destination. */
    int waiting(StoreScu.Destination destination) {
        return lane(destination).getQueueLength();
    }

    private Semaphore lane(StoreScu.Destination destination) {
        return lanes.computeIfAbsent(destination.toString(), k -> new Semaphore(destination.maxAssociations(), true));
    }
}
