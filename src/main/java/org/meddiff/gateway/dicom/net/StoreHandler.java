package org.meddiff.gateway.dicom.net;

/**
 * Decides the fate of a received instance. The network layer sends the returned status only after this
 * returns, so a success status can promise durability. The handler owns the file: it moves or deletes it.
 */
@FunctionalInterface
public interface StoreHandler {
    StoreOutcome store(ReceivedInstance instance);

    /**
     * The network layer answered a C-STORE with a failure itself, before a complete data set reached {@link #store}
     * (the spool file could not be written or fsync-ed, a SOP class the context does not carry, no data set; the network
     * layer has logged why): told so the refusal is counted with the handler's own.
     */
    default void refusedBeforeHandling(String callingAe, String sopInstanceUid, int status, String reason) {}

    /**
     * How long the C-STORE's answer took from its last data fragment (the data file's sync and {@link #store}): what a
     * sender waits for per instance beyond the transfer itself.
     */
    default void answered(long nanosSinceLastFragment) {}
}
