package org.meddiff.gateway.dicom.net;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A socket's read timeout does not bound a write: a peer that stops reading (a stuck PACS, a receiver blocked on its
 * disk) leaves a writer blocked for ever once its window is full. This closes the socket when one write has been
 * blocked longer than the limit, and the writer gets {@link WriteTimedOut}.
 */
final class WriteWatchdog {
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("dicom-write-watchdog").daemon(true).unstarted(r));

    private WriteWatchdog() {}

    /** The peer took no data for the limit. */
    static final class WriteTimedOut extends IOException {
        WriteTimedOut(int millis) {
            super("the peer took no data for " + millis + " ms");
        }
    }

    /** The socket's output, each write bounded by {@code limitMillis}. */
    static Guarded guard(Socket socket, int limitMillis) throws IOException {
        return new Guarded(socket, limitMillis);
    }

    static final class Guarded extends FilterOutputStream {
        private final Socket socket;
        private final int limitMillis;
        private volatile boolean timedOut;

        private Guarded(Socket socket, int limitMillis) throws IOException {
            super(socket.getOutputStream());
            this.socket = socket;
            this.limitMillis = limitMillis;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            ScheduledFuture<?> alarm = arm();
            try {
                out.write(b, off, len);
            } catch (IOException e) {
                throw timedOut ? new WriteTimedOut(limitMillis) : e;
            } finally {
                alarm.cancel(false);
            }
        }

        @Override
        public void flush() throws IOException {
            ScheduledFuture<?> alarm = arm();
            try {
                out.flush();
            } catch (IOException e) {
                throw timedOut ? new WriteTimedOut(limitMillis) : e;
            } finally {
                alarm.cancel(false);
            }
        }

        @Override
        public void close() {
            // the socket is closed by its owner; closing the stream here would close it too early
        }

        private ScheduledFuture<?> arm() {
            return TIMER.schedule(
                    () -> {
                        timedOut = true;
                        try {
                            socket.close();
                        } catch (IOException ignored) {
                            // the blocked write fails either way
                        }
                    },
                    limitMillis,
                    TimeUnit.MILLISECONDS);
        }
    }
}
