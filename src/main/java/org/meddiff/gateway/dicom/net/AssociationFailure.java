package org.meddiff.gateway.dicom.net;

import java.io.IOException;

/**
 * Why an association with a destination could not be made or was lost, told apart because they call for different
 * waits: a destination that is DOWN (nothing listens) or BUSY (it listens but does not answer in time, or rejects
 * transiently) is waited for; one that REJECTED us (permanent A-ASSOCIATE-RJ, failed TLS handshake, protocol error,
 * A-ABORT) answered and will likely answer the same again. The message is never empty.
 */
public class AssociationFailure extends IOException {
    public enum Kind {
        DOWN,
        BUSY,
        REJECTED
    }

    private final Kind kind;

    public AssociationFailure(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public AssociationFailure(Kind kind, String message) {
        this(kind, message, null);
    }

    public Kind kind() {
        return kind;
    }
}
