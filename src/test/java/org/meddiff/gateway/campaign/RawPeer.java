package org.meddiff.gateway.campaign;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One hostile connection to the listener over loopback: sends raw bytes, reads and names every answer
 * (A-ASSOCIATE-AC / -RJ, A-ABORT, C-ECHO-RSP / C-STORE-RSP with their status, A-RELEASE-RP, close, reset, nothing).
 */
final class RawPeer implements AutoCloseable {
    /** What came back: a PDU, or how the connection ended. */
    enum Kind {
        PDU,
        CLOSED,
        RESET,
        TIMEOUT
    }

    record Answer(Kind kind, int pduType, byte[] body, int commandField, int status, String label) {
        boolean is(int type) {
            return kind == Kind.PDU && pduType == type;
        }

        boolean ended() {
            return kind == Kind.CLOSED || kind == Kind.RESET;
        }

        /** A-ASSOCIATE-RJ result, source and reason as "RJ r/s/reason", else null. */
        int[] rejection() {
            return is(HostileBytes.ASSOCIATE_RJ) && body.length >= 4
                    ? new int[] {body[1] & 0xff, body[2] & 0xff, body[3] & 0xff}
                    : null;
        }
    }

    private final Socket socket = new Socket();
    private final DataInputStream in;
    private final OutputStream out;
    private final List<Answer> answers = new ArrayList<>();
    private String sendFailure;

    RawPeer(int port, int readTimeoutMillis) throws IOException {
        this(port, readTimeoutMillis, 0);
    }

    /** {@code receiveBufferBytes} > 0: a small receive window, for a peer that means to stop reading. */
    RawPeer(int port, int readTimeoutMillis, int receiveBufferBytes) throws IOException {
        if (receiveBufferBytes > 0) {
            socket.setReceiveBufferSize(receiveBufferBytes);
        }
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
        socket.setSoTimeout(readTimeoutMillis);
        in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 64 * 1024));
        out = socket.getOutputStream();
    }

    /** Writes; false (and remembered) if the gateway already closed or reset the connection. */
    boolean send(byte[] bytes) {
        if (sendFailure != null) {
            return false;
        }
        try {
            out.write(bytes);
            out.flush();
            return true;
        } catch (IOException e) {
            sendFailure = e.getMessage();
            return false;
        }
    }

    /** The local port: the gateway's log names the peer by it. */
    int localPort() {
        return socket.getLocalPort();
    }

    OutputStream rawOutput() {
        return out;
    }

    String sendFailure() {
        return sendFailure;
    }

    /** The next answer within {@code timeoutMillis}. */
    Answer next(int timeoutMillis) {
        Answer a = read(timeoutMillis);
        answers.add(a);
        return a;
    }

    private Answer read(int timeoutMillis) {
        try {
            socket.setSoTimeout(timeoutMillis);
            int type = in.read();
            if (type < 0) {
                return new Answer(Kind.CLOSED, -1, new byte[0], -1, -1, "close");
            }
            in.readUnsignedByte();
            long length = in.readInt() & 0xFFFFFFFFL;
            if (length > 1 << 24) {
                return new Answer(
                        Kind.PDU,
                        type,
                        new byte[0],
                        -1,
                        -1,
                        "PDU 0x" + Integer.toHexString(type) + " of " + length + " bytes");
            }
            byte[] body = new byte[(int) length];
            in.readFully(body);
            return label(type, body);
        } catch (SocketTimeoutException e) {
            return new Answer(Kind.TIMEOUT, -1, new byte[0], -1, -1, "nothing");
        } catch (EOFException e) {
            return new Answer(Kind.CLOSED, -1, new byte[0], -1, -1, "close (inside a PDU)");
        } catch (SocketException e) {
            return new Answer(Kind.RESET, -1, new byte[0], -1, -1, "reset");
        } catch (IOException e) {
            return new Answer(Kind.RESET, -1, new byte[0], -1, -1, "reset (" + e.getMessage() + ")");
        }
    }

    private static Answer label(int type, byte[] body) {
        return switch (type) {
            case HostileBytes.ASSOCIATE_AC -> new Answer(Kind.PDU, type, body, -1, -1, "AC");
            case HostileBytes.ASSOCIATE_RJ ->
                new Answer(
                        Kind.PDU,
                        type,
                        body,
                        -1,
                        -1,
                        body.length >= 4
                                ? "RJ " + (body[1] & 0xff) + "/" + (body[2] & 0xff) + "/" + (body[3] & 0xff)
                                : "RJ (short)");
            case HostileBytes.ABORT -> new Answer(Kind.PDU, type, body, -1, -1, "ABORT");
            case HostileBytes.RELEASE_RP -> new Answer(Kind.PDU, type, body, -1, -1, "RP");
            case HostileBytes.P_DATA_TF -> commandAnswer(body);
            default -> new Answer(Kind.PDU, type, body, -1, -1, "PDU 0x" + Integer.toHexString(type));
        };
    }

    /** A P-DATA-TF answer: the gateway's responses are one command PDV; name the command and its status. */
    private static Answer commandAnswer(byte[] body) {
        if (body.length >= 6) {
            long itemLength = HostileBytes.u32be(body, 0);
            int control = body[5];
            if ((control & 3) == 3 && itemLength >= 2 && itemLength <= body.length - 4) {
                byte[] command = Arrays.copyOfRange(body, 6, (int) (4 + itemLength));
                int field = HostileBytes.commandUs(command, 0x0100);
                int status = HostileBytes.commandUs(command, 0x0900);
                String name = field == HostileBytes.C_STORE_RSP
                        ? "C-STORE-RSP"
                        : field == HostileBytes.C_ECHO_RSP ? "C-ECHO-RSP" : "command 0x" + Integer.toHexString(field);
                return new Answer(
                        Kind.PDU, HostileBytes.P_DATA_TF, body, field, status, name + String.format(" 0x%04X", status));
            }
        }
        return new Answer(Kind.PDU, HostileBytes.P_DATA_TF, body, -1, -1, "P-DATA (not a command)");
    }

    /**
     * Half-closes (the gateway reads end of stream), then reads until the gateway closes: the gateway must finish
     * with the connection within {@code timeoutMillis}. Returns the answers seen meanwhile; the last is close, reset
     * or nothing (a hang).
     */
    List<Answer> finish(int timeoutMillis) {
        try {
            socket.shutdownOutput();
        } catch (IOException ignored) {
            // already reset: the read below says so
        }
        return drain(timeoutMillis);
    }

    /** Reads until the gateway closes (or the time is up), without half-closing. */
    List<Answer> drain(int timeoutMillis) {
        List<Answer> seen = new ArrayList<>();
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            int left = (int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000L);
            Answer a = next(left);
            seen.add(a);
            if (a.kind() != Kind.PDU) {
                return seen;
            }
        }
    }

    List<Answer> answers() {
        return answers;
    }

    /** Ends the connection with a TCP reset instead of a FIN. */
    void reset() {
        try {
            socket.setSoLinger(true, 0);
            socket.close();
        } catch (IOException ignored) {
            // gone anyway
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // gone anyway
        }
    }
}
