package org.meddiff.gateway.dicom.net;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.Socket;

import org.junit.jupiter.api.Test;

/** A peer that accepts and never reads: the write that fills its window must end, not block for ever. */
class WriteWatchdogTest {
    @Test
    void aWriteThePeerDoesNotTake_endsAfterTheLimit() throws Exception {
        try (ServerSocket deaf = new ServerSocket(0);
                Socket socket = new Socket("127.0.0.1", deaf.getLocalPort());
                Socket accepted = deaf.accept()) { // accepted, never read
            WriteWatchdog.Guarded out = WriteWatchdog.guard(socket, 300);
            byte[] block = new byte[1 << 20];
            long t0 = System.nanoTime();
            assertThrows(WriteWatchdog.WriteTimedOut.class, () -> {
                for (int i = 0; i < 256; i++) { // far more than both socket buffers hold
                    out.write(block, 0, block.length);
                }
            });
            assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "ended within seconds");
            assertTrue(socket.isClosed(), "the blocked connection is closed");
        }
    }
}
