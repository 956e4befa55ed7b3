package org.meddiff.gateway.dispatch;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import org.meddiff.gateway.dicom.net.AssociationFailure;
import org.meddiff.gateway.dicom.net.StoreScu;

/**
 * The port dispatch sends a derived series through: one attempt, one association (or request), a result per file.
 * C-STORE is its adapter today ({@link StoreScuSender}); a DICOMweb (STOW-RS) destination is the next. The dispatcher
 * decides on retries, waits and dead letters from what comes back.
 */
public interface DestinationSender {
    /**
     * Sends {@code files} to {@code destination} once.
     *
     * @throws AssociationFailure when no file could be offered at all: the destination is down, busy, or refused us
     * @throws IOException when a file of ours cannot be read
     */
    List<StoreScu.FileResult> send(StoreScu.Destination destination, List<Path> files) throws IOException;
}
