package org.meddiff.gateway.dicom.net;

/**
 * Decides the fate of a received instance. The network layer sends the returned status only after this
 * returns, so a success status can promise durability. The handler owns the file: it moves or deletes it.
 */
@FunctionalInterface
public interface StoreHandler {
    StoreOutcome store(ReceivedInstance instance);
}
