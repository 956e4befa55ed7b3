package org.meddiff.gateway.dicom.net;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import jdk.net.ExtendedSocketOptions;
import org.jboss.logging.Logger;

/** One accepted association: negotiation, then C-ECHO and C-STORE until release or abort. */
final class ScpAssociation {
    private static final Logger LOG = Logger.getLogger(ScpAssociation.class);

    private final Socket socket;
    private final StoreScpServer.Settings settings;
    private final AssociationPolicy policy;
    private final StoreHandler handler;
    private final AssociationRejection forcedRejection;
    private final Map<Integer, PresentationContextResult> accepted = new HashMap<>();
    /**
     * A C-STORE-RQ command set is a few hundred bytes. Fragments beyond this never ending without the last bit are not
     * a command: without a bound they were buffered until the heap ran out.
     */
    static final int MAX_COMMAND_SET = 64 * 1024;

    private final ByteArrayOutputStream commandBytes = new ByteArrayOutputStream();
    private final WriteClock writeClock;
    private DataInputStream in;
    private OutputStream out;
    private AssociationRequest request;
    private IncomingStore current;
    private int peerMaxPdu;
    private boolean quickAckSupported = true;

    ScpAssociation(
            Socket socket,
            StoreScpServer.Settings settings,
            AssociationPolicy policy,
            StoreHandler handler,
            AssociationRejection forcedRejection)
            throws IOException {
        this.socket = socket;
        this.writeClock = new WriteClock(socket.getOutputStream());
        this.settings = settings;
        this.policy = policy;
        this.handler = handler;
        this.forcedRejection = forcedRejection;
    }

    void run() throws IOException {
        // a connection over the association limit only reads one request to reject it: it gets no big buffer
        in = new DataInputStream(
                new BufferedInputStream(socket.getInputStream(), forcedRejection == null ? 256 * 1024 : 4096));
        out = new BufferedOutputStream(writeClock, 64 * 1024);
        try {
            if (negotiate()) {
                exchange();
            }
        } catch (SocketTimeoutException e) {
            LOG.warnf("association %s idle for %d ms: aborting", describe(), settings.idleTimeoutMillis());
            Pdu.writeAbort(out, 2, 0);
        } catch (DicomProtocolException | RuntimeException e) {
            // Malformed PDUs must cost the peer its association, never the listener a thread or a crash.
            LOG.warnf("association %s: protocol error (%s): aborting", describe(), e.toString());
            try {
                Pdu.writeAbort(out, 2, 0);
            } catch (IOException ignored) {
                // peer may be gone already
            }
        } finally {
            discardCurrent();
        }
    }

    /** How long the write in progress has been blocked (0 when none is): a peer that stopped reading. */
    long writeBlockedMillis() {
        long since = writeClock.writingSince;
        return since == 0 ? 0 : (System.nanoTime() - since) / 1_000_000;
    }

    /**
     * The socket's output, timing each write. The idle timeout is a read timeout: a peer that stops reading while it
     * keeps sending fills its window, and the write then blocks with no timeout of its own. StoreScpServer's watchdog
     * reads this clock and closes such a connection.
     */
    private static final class WriteClock extends FilterOutputStream {
        volatile long writingSince;

        WriteClock(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            writingSince = System.nanoTime();
            try {
                out.write(b, off, len);
            } finally {
                writingSince = 0;
            }
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }
    }

    String describe() {
        String peer = String.valueOf(socket.getRemoteSocketAddress());
        return request == null ? peer : request.callingAe() + "->" + request.calledAe() + " from " + peer;
    }

    private boolean negotiate() throws IOException {
        Pdu.Header header = Pdu.readHeader(in);
        if (header == null) {
            return false;
        }
        if (header.type() != Pdu.ASSOCIATE_RQ) {
            throw new DicomProtocolException(
                    "expected A-ASSOCIATE-RQ, got PDU type 0x" + Integer.toHexString(header.type()));
        }
        if (forcedRejection != null) {
            // Over the limit, only the AE titles are kept (for the log) and the rest is skipped, not buffered: the
            // semaphore does not bound these connections, and each used to hold a buffer of the length its header
            // announced (up to 16 MiB), so a flood of them ran the heap out.
            byte[] fixedFields = Pdu.readBodyStart(in, header, AssociationRequest.FIXED_FIELDS_LENGTH);
            request = AssociationRequest.parse(fixedFields, fixedFields.length);
        } else {
            byte[] body = Pdu.readBody(in, header, null);
            request = AssociationRequest.parse(body, header.length());
        }
        Optional<AssociationRejection> rejection = forcedRejection != null
                ? Optional.of(forcedRejection)
                : !Pdu.APPLICATION_CONTEXT.equals(request.applicationContext())
                        ? Optional.of(AssociationRejection.applicationContextNotSupported(request.applicationContext()))
                        : policy.screen(request);
        if (rejection.isPresent()) {
            LOG.warnf("association %s rejected: %s", describe(), rejection.get().why());
            Pdu.writeReject(out, rejection.get());
            return false;
        }
        List<PresentationContextResult> results =
                request.presentationContexts().stream().map(policy::answer).toList();
        for (PresentationContextResult r : results) {
            if (r.accepted()) {
                accepted.put(r.id(), r);
            } else {
                LOG.debugf(
                        "association %s: refused presentation context %s (%s)",
                        describe(),
                        r.abstractSyntax(),
                        r.result() == PresentationContextResult.ABSTRACT_SYNTAX_NOT_SUPPORTED
                                ? "SOP class not supported"
                                : "no supported transfer syntax");
            }
        }
        peerMaxPdu = request.maxPduLength();
        new AssociationAccept(request.calledAe(), request.callingAe(), results, peerMaxPdu)
                .write(out, settings.maxPduLength());
        return true;
    }

    private void exchange() throws IOException {
        byte[] buffer = null;
        while (true) {
            acknowledgePromptly();
            Pdu.Header header = Pdu.readHeader(in);
            if (header == null) {
                LOG.debugf("association %s: peer closed the connection", describe());
                return;
            }
            switch (header.type()) {
                case Pdu.P_DATA_TF -> {
                    buffer = Pdu.readBody(in, header, buffer);
                    onPData(buffer, header.length());
                }
                case Pdu.RELEASE_RQ -> {
                    Pdu.readBody(in, header, buffer);
                    Pdu.writeReleaseRp(out);
                    return;
                }
                case Pdu.ABORT -> {
                    LOG.infof("association %s aborted by the peer", describe());
                    return;
                }
                default ->
                    throw new DicomProtocolException("unexpected PDU type 0x" + Integer.toHexString(header.type()));
            }
        }
    }

    /**
     * Most modalities (and DCMTK as shipped) keep Nagle on: their small command PDU waits for our ACK,
     * which Linux delays up to 40 ms. TCP_QUICKACK is not sticky, so it is re-armed before every read.
     */
    private void acknowledgePromptly() {
        if (quickAckSupported) {
            try {
                socket.setOption(ExtendedSocketOptions.TCP_QUICKACK, true);
            } catch (UnsupportedOperationException | IOException e) {
                quickAckSupported = false;
            }
        }
    }

    private void onPData(byte[] body, int length) throws IOException {
        int pos = 0;
        while (pos + 6 <= length) {
            int itemLength = Pdu.u32(body, pos);
            if (itemLength < 2 || itemLength > length - pos - 4) { // no int overflow for huge lengths
                throw new DicomProtocolException("PDV item length " + itemLength + " overruns the PDU");
            }
            int contextId = body[pos + 4] & 0xff;
            int control = body[pos + 5];
            boolean command = (control & 1) != 0;
            boolean last = (control & 2) != 0;
            int valueOffset = pos + 6;
            int valueLength = itemLength - 2;
            if (command) {
                if (commandBytes.size() + valueLength > MAX_COMMAND_SET) {
                    throw new DicomProtocolException("command set longer than " + MAX_COMMAND_SET + " bytes");
                }
                commandBytes.write(body, valueOffset, valueLength);
                if (last) {
                    byte[] bytes = commandBytes.toByteArray();
                    commandBytes.reset();
                    onCommand(contextId, DimseCommand.parse(bytes, bytes.length));
                }
            } else {
                onData(contextId, body, valueOffset, valueLength, last);
            }
            pos += 4 + itemLength;
        }
    }

    private void onCommand(int contextId, DimseCommand command) throws IOException {
        PresentationContextResult context = accepted.get(contextId);
        if (context == null) {
            throw new DicomProtocolException("command on presentation context " + contextId + " that was not accepted");
        }
        int field = command.getUnsignedShort(DimseCommand.COMMAND_FIELD, -1);
        switch (field) {
            case DimseCommand.C_ECHO_RQ -> sendCommand(contextId, DimseCommand.echoResponse(command));
            case DimseCommand.C_STORE_RQ -> startStore(contextId, context, command);
            default -> throw new DicomProtocolException("unsupported DIMSE command 0x" + Integer.toHexString(field));
        }
    }

    private void startStore(int contextId, PresentationContextResult context, DimseCommand command) throws IOException {
        if (current != null) {
            throw new DicomProtocolException("C-STORE-RQ while a data set is still arriving");
        }
        String sopClass = command.getString(DimseCommand.AFFECTED_SOP_CLASS_UID);
        String sopInstance = command.getString(DimseCommand.AFFECTED_SOP_INSTANCE_UID);
        current = new IncomingStore(contextId, command, sopClass, sopInstance, context.transferSyntax());
        if (command.getUnsignedShort(DimseCommand.COMMAND_DATA_SET_TYPE, DimseCommand.NO_DATA_SET)
                == DimseCommand.NO_DATA_SET) {
            IncomingStore store = current;
            current = null;
            logRefusal(sopInstance, DicomStatus.CANNOT_UNDERSTAND, "C-STORE without data set");
            sendCommand(
                    contextId,
                    DimseCommand.storeResponse(command, DicomStatus.CANNOT_UNDERSTAND, "C-STORE without data set"));
            store.discard();
            handler.refusedBeforeHandling(
                    request.callingAe(), sopInstance, DicomStatus.CANNOT_UNDERSTAND, "C-STORE without data set");
            return;
        }
        if (sopClass == null || !sopClass.equals(context.abstractSyntax())) {
            String why = "SOP class " + sopClass + " sent on a context for " + context.abstractSyntax();
            logRefusal(sopInstance, DicomStatus.SOP_CLASS_NOT_SUPPORTED, why);
            current.fail(DicomStatus.SOP_CLASS_NOT_SUPPORTED, why);
            return;
        }
        try {
            current.open(settings.incomingDir(), request.callingAe());
        } catch (IOException e) {
            LOG.errorf("cannot open a spool file in %s: %s", settings.incomingDir(), e.getMessage());
            current.fail(DicomStatus.OUT_OF_RESOURCES, "spool not writable");
        }
    }

    /**
     * Refusals decided here, before the handler sees the instance, are logged like the handler's own (DurableIngest):
     * an operator must find the calling AE, the instance and the reason, not just a status at the sender's end.
     */
    private void logRefusal(String sopInstance, int status, String why) {
        LOG.warnf(
                "C-STORE from %s of SOP instance %s refused with %s: %s",
                request.callingAe(), sopInstance, DicomStatus.hex(status), why);
    }

    private void onData(int contextId, byte[] body, int offset, int length, boolean last) throws IOException {
        if (current == null) {
            throw new DicomProtocolException("data fragment without a C-STORE-RQ");
        }
        if (contextId != current.contextId) {
            // PS3.8: a message's fragments share its presentation context. The data set would otherwise be filed
            // under the command's transfer syntax whatever context (or none) its sender encoded it for.
            throw new DicomProtocolException("data fragment on presentation context " + contextId
                    + ", its C-STORE-RQ came on " + current.contextId);
        }
        current.write(body, offset, length);
        if (last) {
            IncomingStore store = current;
            current = null;
            long lastFragment = System.nanoTime();
            StoreOutcome outcome = store.finish(request, handler);
            handler.answered(System.nanoTime() - lastFragment);
            sendCommand(
                    store.contextId,
                    DimseCommand.storeResponse(store.command, outcome.status(), outcome.errorComment()));
        }
    }

    private void sendCommand(int contextId, DimseCommand command) throws IOException {
        byte[] bytes = command.encode();
        Pdu.writeHeader(out, Pdu.P_DATA_TF, bytes.length + 6);
        int itemLength = bytes.length + 2;
        out.write(new byte[] {
            (byte) (itemLength >>> 24),
            (byte) (itemLength >>> 16),
            (byte) (itemLength >>> 8),
            (byte) itemLength,
            (byte) contextId,
            0x03
        });
        out.write(bytes);
        out.flush();
    }

    private void discardCurrent() {
        if (current != null) {
            current.discard();
            current = null;
        }
    }

    /** A data set on its way to a spool file; a failure is remembered and answered at the last fragment. */
    private static final class IncomingStore {
        final int contextId;
        final DimseCommand command;
        final String sopClass;
        final String sopInstance;
        final String transferSyntax;
        Path file;
        FileChannel channel;
        int failedStatus = -1;
        String failure;

        IncomingStore(int contextId, DimseCommand command, String sopClass, String sopInstance, String transferSyntax) {
            this.contextId = contextId;
            this.command = command;
            this.sopClass = sopClass;
            this.sopInstance = sopInstance;
            this.transferSyntax = transferSyntax;
        }

        void open(Path dir, String callingAe) throws IOException {
            file = dir.resolve(UUID.randomUUID() + ".part");
            channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            String instance = sopInstance == null ? "" : sopInstance;
            channel.write(ByteBuffer.wrap(Part10.header(sopClass, instance, transferSyntax, callingAe)));
        }

        void fail(int status, String why) {
            if (failedStatus < 0) {
                failedStatus = status;
                failure = why;
            }
            closeQuietly();
            deleteQuietly();
        }

        void write(byte[] b, int off, int len) {
            if (channel == null) {
                return;
            }
            try {
                ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
            } catch (IOException e) {
                LOG.errorf("writing %s failed: %s", file, e.getMessage());
                fail(DicomStatus.OUT_OF_RESOURCES, "spool write failed");
            }
        }

        StoreOutcome finish(AssociationRequest request, StoreHandler handler) {
            if (failedStatus < 0) {
                try {
                    channel.force(true);
                    channel.close();
                    channel = null;
                } catch (IOException e) {
                    LOG.errorf("fsync of %s failed: %s", file, e.getMessage());
                    fail(DicomStatus.OUT_OF_RESOURCES, "spool fsync failed");
                }
            }
            if (failedStatus >= 0) {
                handler.refusedBeforeHandling(request.callingAe(), sopInstance, failedStatus, failure);
                return StoreOutcome.failure(failedStatus, failure);
            }
            try {
                return handler.store(new ReceivedInstance(
                        request.callingAe(), request.calledAe(), sopClass, sopInstance, transferSyntax, file));
            } catch (RuntimeException e) {
                LOG.errorf(e, "store handler failed for SOP instance %s", sopInstance);
                deleteQuietly();
                return StoreOutcome.failure(DicomStatus.OUT_OF_RESOURCES, "internal error");
            } catch (StackOverflowError e) {
                // A data set nested deep enough overflows a parser's stack. Uncaught, that killed the association
                // thread: no answer for the sender and the file left in incoming/. Refused like any handler failure,
                // logged without its thousand-frame trace.
                LOG.errorf(
                        "store handler ran out of stack for SOP instance %s (a deeply nested data set?)", sopInstance);
                deleteQuietly();
                return StoreOutcome.failure(DicomStatus.OUT_OF_RESOURCES, "internal error");
            }
        }

        void discard() {
            closeQuietly();
            deleteQuietly();
        }

        private void closeQuietly() {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // best effort
                }
                channel = null;
            }
        }

        private void deleteQuietly() {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // best effort; the spool start-up sweep removes leftovers
                }
            }
        }
    }
}
