package org.meddiff.gateway.dicom.net;

import java.nio.file.Path;

/**
 * A C-STORE data set that arrived completely: the Part-10 file (meta header + the bytes as received,
 * already fsync-ed) and what the association and command said about it.
 */
public record ReceivedInstance(
        String callingAe,
        String calledAe,
        String sopClassUid,
        String sopInstanceUid,
        String transferSyntaxUid,
        Path file) {}
