package org.meddiff.gateway.track;

/** What became of a derived series at one destination. */
public enum DispatchState {
    DELIVERED,
    DEAD_LETTERED
}
