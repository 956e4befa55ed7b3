package org.meddiff.gateway.dicom.net;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;

import org.meddiff.gateway.Failures;

/**
 * C-STORE SCU: sends Part-10 files, as stored, over one association (TCP_NODELAY on). Each file's
 * data set goes out in its own transfer syntax; no transcoding.
 */
public final class StoreScu {
    private static final int OUR_MAX_PDU = 1024 * 1024;
    /** A C-STORE-RSP is a few hundred bytes: a peer sending more than this is not answering. */
    private static final int MAX_COMMAND_BYTES = 64 * 1024;

    /**
     * {@code tls}: speak DICOM over TLS to it (written {@code AET@host:port/tls}); {@code maxAssociations}: how many
     * associations may be open to it at once (written {@code *N} at the end, default 1). The string form without the
     * limit names the destination in events and the status view.
     */
    public record Destination(String aeTitle, String host, int port, boolean tls, int maxAssociations) {
        public Destination(String aeTitle, String host, int port) {
            this(aeTitle, host, port, false, 1);
        }

        public Destination(String aeTitle, String host, int port, boolean tls) {
            this(aeTitle, host, port, tls, 1);
        }

        public Destination {
            if (maxAssociations < 1) {
                throw new IllegalArgumentException(
                        "a destination needs at least one association, got " + maxAssociations);
            }
        }

        /** Parses {@code AET@host:port}, {@code AET@host:port/tls} for DICOM over TLS, either with {@code *N}. */
        public static Destination parse(String text) {
            int limit = 1;
            Matcher star = ASSOCIATIONS.matcher(text);
            if (star.find()) {
                limit = Integer.parseInt(star.group(1));
                text = text.substring(0, star.start());
            }
            boolean tls = text.endsWith("/tls");
            if (tls) {
                text = text.substring(0, text.length() - "/tls".length());
            }
            int at = text.indexOf('@');
            int colon = text.lastIndexOf(':');
            if (at <= 0 || colon < at + 2 || colon == text.length() - 1) {
                throw new IllegalArgumentException("destination '" + text + "' is not of the form AET@host:port");
            }
            String ae = text.substring(0, at).trim();
            if (ae.length() > 16) {
                throw new IllegalArgumentException("AE title '" + ae + "' is longer than 16 characters");
            }
            int port;
            try {
                port = Integer.parseInt(text.substring(colon + 1).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("destination '" + text + "' has no numeric port");
            }
            return new Destination(ae, text.substring(at + 1, colon).trim(), port, tls, limit);
        }

        @Override
        public String toString() {
            return aeTitle + "@" + host + ":" + port + (tls ? "/tls" : "");
        }

        /** "*N" at the very end (an AE title may contain '*' itself). */
        private static final Pattern ASSOCIATIONS = Pattern.compile("\\*(\\d{1,2})$");
    }

    /**
     * Per-file outcome: the status the peer answered, or {@link #NOT_ANSWERED} with {@code lost} saying how the
     * association ended before the answer (the file may or may not be stored there).
     */
    public record FileResult(Path file, String sopInstanceUid, int status, String error, AssociationFailure.Kind lost) {
        /** The peer accepted no presentation context for the file's SOP class: sending it again cannot help. */
        public static final int SOP_CLASS_REFUSED = -2;
        /** The association ended before the peer answered for this file. */
        public static final int NOT_ANSWERED = -1;

        public FileResult(Path file, String sopInstanceUid, int status, String error) {
            this(file, sopInstanceUid, status, error, null);
        }

        public boolean stored() {
            return DicomStatus.isStored(status);
        }

        public boolean sopClassRefused() {
            return status == SOP_CLASS_REFUSED;
        }
    }

    private final String callingAe;
    private final int connectTimeoutMillis;
    private final int associationTimeoutMillis;
    private final int readTimeoutMillis;
    private final TlsClientSettings tls;

    public StoreScu(String callingAe, int connectTimeoutMillis, int readTimeoutMillis) {
        this(callingAe, connectTimeoutMillis, readTimeoutMillis, readTimeoutMillis, null);
    }

    /**
     * {@code associationTimeoutMillis}: how long to wait for the answer to the association request (a PACS that
     * serves one association at a time leaves the next caller waiting); {@code readTimeoutMillis}: for each C-STORE
     * response; {@code tls}: how to reach destinations marked /tls, null when none is configured.
     */
    public StoreScu(
            String callingAe,
            int connectTimeoutMillis,
            int associationTimeoutMillis,
            int readTimeoutMillis,
            TlsClientSettings tls) {
        this.callingAe = callingAe;
        this.connectTimeoutMillis = connectTimeoutMillis;
        this.associationTimeoutMillis = associationTimeoutMillis;
        this.readTimeoutMillis = readTimeoutMillis;
        this.tls = tls;
    }

    /**
     * A connected socket to the destination (TCP_NODELAY, read timeout), over TLS when it is marked so. Nothing
     * listening, no route or no TCP answer in time: {@link AssociationFailure.Kind#DOWN}.
     */
    private Socket connect(Destination destination) throws IOException {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            try {
                socket.connect(new InetSocketAddress(destination.host(), destination.port()), connectTimeoutMillis);
            } catch (ConnectException | NoRouteToHostException | UnknownHostException | SocketTimeoutException e) {
                throw new AssociationFailure(
                        AssociationFailure.Kind.DOWN, destination + " is down: " + Failures.reason(e), e);
            }
            socket.setSoTimeout(associationTimeoutMillis);
            if (!destination.tls()) {
                return socket;
            }
            if (tls == null) {
                throw new AssociationFailure(
                        AssociationFailure.Kind.REJECTED,
                        destination + " needs TLS, and no dispatch TLS is configured");
            }
            return tls.wrap(socket, destination.host(), destination.port());
        } catch (SSLException e) {
            socket.close();
            throw new AssociationFailure(
                    AssociationFailure.Kind.REJECTED, destination + ": TLS handshake failed: " + Failures.reason(e), e);
        } catch (AssociationFailure e) {
            socket.close();
            throw e;
        } catch (SocketTimeoutException e) {
            socket.close();
            throw new AssociationFailure(
                    AssociationFailure.Kind.BUSY,
                    destination + " is busy: no TLS handshake within " + seconds(associationTimeoutMillis),
                    e);
        } catch (IOException e) {
            socket.close(); // reset or closed during the handshake: a PACS restarting
            throw new AssociationFailure(
                    AssociationFailure.Kind.DOWN,
                    destination + ": connection lost during the TLS " + "handshake (" + Failures.reason(e) + ")",
                    e);
        } catch (RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /**
     * Sends every file over one association. Throws {@link AssociationFailure} if no association could be made;
     * otherwise reports each file's outcome. If the association is lost part-way (a timeout, the peer closing or
     * aborting), the files answered so far keep their status and the rest are {@link FileResult#NOT_ANSWERED}: a retry
     * sends only those.
     */
    public List<FileResult> send(Destination destination, List<Path> files) throws IOException {
        Map<Path, Part10.Meta> metas = new LinkedHashMap<>();
        for (Path f : files) {
            try (InputStream in = new BufferedInputStream(Files.newInputStream(f))) {
                metas.put(f, Part10.readMeta(in));
            }
        }
        Map<String, Integer> contextIds = new LinkedHashMap<>();
        List<PresentationContext> proposed = new ArrayList<>();
        for (Part10.Meta m : metas.values()) {
            String key = m.sopClassUid() + "|" + m.transferSyntaxUid();
            if (!contextIds.containsKey(key)) {
                int id = 1 + 2 * contextIds.size();
                if (id > 255) {
                    throw new IOException("too many SOP class / transfer syntax combinations for one association");
                }
                contextIds.put(key, id);
                proposed.add(new PresentationContext(id, m.sopClassUid(), List.of(m.transferSyntaxUid())));
            }
        }
        try (Socket socket = connect(destination);
                WriteWatchdog.Guarded guarded = WriteWatchdog.guard(socket, readTimeoutMillis)) {
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 64 * 1024));
            OutputStream out = new BufferedOutputStream(guarded, 256 * 1024);
            AssociationAccept accept = associate(socket, in, out, proposed, destination);
            socket.setSoTimeout(readTimeoutMillis);
            int maxPdv = (accept.maxPduLength() <= 0 ? 64 * 1024 : Math.min(accept.maxPduLength(), OUR_MAX_PDU)) - 6;
            List<FileResult> results = new ArrayList<>();
            int messageId = 1;
            for (Map.Entry<Path, Part10.Meta> e : metas.entrySet()) {
                Part10.Meta meta = e.getValue();
                int contextId = contextIds.get(meta.sopClassUid() + "|" + meta.transferSyntaxUid());
                boolean contextAccepted = accept.results().stream().anyMatch(r -> r.id() == contextId && r.accepted());
                if (!contextAccepted) {
                    results.add(new FileResult(
                            e.getKey(),
                            meta.sopInstanceUid(),
                            FileResult.SOP_CLASS_REFUSED,
                            "peer refused SOP class " + meta.sopClassUid() + " in " + meta.transferSyntaxUid()));
                    continue;
                }
                DimseCommand rsp;
                try {
                    writeCommand(
                            out,
                            contextId,
                            DimseCommand.storeRequest(messageId++, meta.sopClassUid(), meta.sopInstanceUid()));
                    writeDataSet(out, contextId, e.getKey(), meta.dataSetOffset(), maxPdv);
                    rsp = readCommand(in);
                } catch (SourceFileException unreadable) {
                    throw unreadable; // our own file, not the peer: not a lost association
                } catch (IOException | RuntimeException lost) {
                    AssociationFailure why = lost(destination, lost);
                    for (Map.Entry<Path, Part10.Meta> rest : metas.entrySet()) {
                        if (results.stream().noneMatch(r -> r.file().equals(rest.getKey()))) {
                            results.add(new FileResult(
                                    rest.getKey(),
                                    rest.getValue().sopInstanceUid(),
                                    FileResult.NOT_ANSWERED,
                                    why.getMessage(),
                                    why.kind()));
                        }
                    }
                    return results;
                }
                int status = rsp.getUnsignedShort(DimseCommand.STATUS, -1);
                String comment = rsp.getString(DimseCommand.ERROR_COMMENT);
                results.add(new FileResult(
                        e.getKey(),
                        meta.sopInstanceUid(),
                        status,
                        DicomStatus.isStored(status)
                                ? null
                                : "status " + DicomStatus.hex(status)
                                        + (comment == null || comment.isBlank() ? "" : " " + comment.trim())));
            }
            try {
                Pdu.writeReleaseRq(out);
                Pdu.Header header = Pdu.readHeader(in);
                if (header != null && header.length() > 0) {
                    Pdu.readBody(in, header, null);
                }
            } catch (IOException e) {
                // every file was answered: a peer that drops the connection instead of A-RELEASE-RP costs nothing
            }
            return results;
        }
    }

    /**
     * A lost association in words: a timeout (no response, or a write the peer does not take) means the peer is busy;
     * an A-ABORT or a malformed answer that it refused; a closed or reset connection that it went down.
     */
    private AssociationFailure lost(Destination destination, Exception e) {
        if (e instanceof WriteWatchdog.WriteTimedOut) {
            return new AssociationFailure(
                    AssociationFailure.Kind.BUSY,
                    destination + " is busy: it took no data for " + seconds(readTimeoutMillis),
                    e);
        }
        if (e instanceof SocketTimeoutException) {
            return new AssociationFailure(
                    AssociationFailure.Kind.BUSY,
                    destination + " is busy: no C-STORE response within " + readTimeoutMillis / 1000 + " s",
                    e);
        }
        if (e instanceof AssociationFailure f) {
            return f;
        }
        if (e instanceof DicomProtocolException || e instanceof RuntimeException) {
            return new AssociationFailure(AssociationFailure.Kind.REJECTED, destination + ": " + Failures.reason(e), e);
        }
        return new AssociationFailure(
                AssociationFailure.Kind.DOWN, destination + ": association lost (" + Failures.reason(e) + ")", e);
    }

    private static String seconds(int millis) {
        return millis % 1000 == 0 ? millis / 1000 + " s" : String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }

    /** Sends the A-ASSOCIATE-RQ and reads the answer within the association timeout. */
    private AssociationAccept associate(
            Socket socket,
            DataInputStream in,
            OutputStream out,
            List<PresentationContext> proposed,
            Destination destination)
            throws IOException {
        try {
            new AssociationRequest(destination.aeTitle(), callingAe, Pdu.APPLICATION_CONTEXT, proposed, 0)
                    .write(out, OUR_MAX_PDU);
            return readAccept(in, proposed, destination);
        } catch (SocketTimeoutException e) {
            throw new AssociationFailure(
                    AssociationFailure.Kind.BUSY,
                    destination + " is busy: no answer to the association " + "request within "
                            + seconds(associationTimeoutMillis),
                    e);
        } catch (AssociationFailure e) {
            throw e;
        } catch (DicomProtocolException | RuntimeException e) {
            // an answer we cannot parse (lengths that lie): refused, not a reason to stop dispatching
            throw new AssociationFailure(
                    AssociationFailure.Kind.REJECTED,
                    destination + ": malformed answer to the " + "association request (" + Failures.reason(e) + ")",
                    e);
        } catch (WriteWatchdog.WriteTimedOut e) {
            throw new AssociationFailure(
                    AssociationFailure.Kind.BUSY,
                    destination + " is busy: it took no association " + "request for " + seconds(readTimeoutMillis),
                    e);
        } catch (IOException e) {
            throw new AssociationFailure(
                    AssociationFailure.Kind.DOWN,
                    destination + " closed the connection during " + "association (" + Failures.reason(e) + ")",
                    e);
        }
    }

    /** C-ECHO: true if the peer accepted an association for Verification and answered Success. */
    public boolean echo(Destination destination) throws IOException {
        List<PresentationContext> proposed =
                List.of(new PresentationContext(1, "1.2.840.10008.1.1", List.of("1.2.840.10008.1.2")));
        try (Socket socket = connect(destination)) {
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            OutputStream out = new BufferedOutputStream(socket.getOutputStream());
            associate(socket, in, out, proposed, destination);
            socket.setSoTimeout(readTimeoutMillis);
            writeCommand(
                    out,
                    1,
                    new DimseCommand()
                            .putString(DimseCommand.AFFECTED_SOP_CLASS_UID, "1.2.840.10008.1.1", true)
                            .putUnsignedShort(DimseCommand.COMMAND_FIELD, DimseCommand.C_ECHO_RQ)
                            .putUnsignedShort(DimseCommand.MESSAGE_ID, 1)
                            .putUnsignedShort(DimseCommand.COMMAND_DATA_SET_TYPE, DimseCommand.NO_DATA_SET));
            boolean ok = readCommand(in).getUnsignedShort(DimseCommand.STATUS, -1) == DicomStatus.SUCCESS;
            Pdu.writeReleaseRq(out);
            return ok;
        }
    }

    private static AssociationAccept readAccept(DataInputStream in, List<PresentationContext> proposed, Destination d)
            throws IOException {
        Pdu.Header header = Pdu.readHeader(in);
        if (header == null) {
            throw new AssociationFailure(AssociationFailure.Kind.DOWN, d + " closed the connection during association");
        }
        byte[] body = Pdu.readBody(in, header, null);
        if (header.type() == Pdu.ASSOCIATE_RJ) {
            int result = body[1] & 0xff;
            // PS3.8 9.3.4: result 2 is rejected-transient (e.g. the peer's association limit), worth waiting for
            throw new AssociationFailure(
                    result == 2 ? AssociationFailure.Kind.BUSY : AssociationFailure.Kind.REJECTED,
                    d + " rejected the association (result " + result + ", source " + (body[2] & 0xff) + ", reason "
                            + (body[3] & 0xff) + ")");
        }
        if (header.type() == Pdu.ABORT) {
            throw new AssociationFailure(AssociationFailure.Kind.REJECTED, d + " aborted the association request");
        }
        if (header.type() != Pdu.ASSOCIATE_AC) {
            throw new DicomProtocolException(d + " answered PDU type 0x" + Integer.toHexString(header.type()));
        }
        return AssociationAccept.parse(body, header.length(), proposed);
    }

    private static void writeCommand(OutputStream out, int contextId, DimseCommand command) throws IOException {
        byte[] bytes = command.encode();
        Pdu.writeHeader(out, Pdu.P_DATA_TF, bytes.length + 6);
        writePdvHeader(out, bytes.length + 2, contextId, 0x03);
        out.write(bytes);
        out.flush();
    }

    private static void writeDataSet(OutputStream out, int contextId, Path file, long offset, int maxPdv)
            throws IOException {
        InputStream in;
        long size;
        try {
            size = Files.size(file) - offset;
            in = new BufferedInputStream(Files.newInputStream(file), 256 * 1024);
            in.skipNBytes(offset);
        } catch (IOException e) {
            throw new SourceFileException(file, e);
        }
        byte[] chunk = new byte[(int) Math.min(maxPdv, Math.max(size, 1))];
        try (in) {
            long remaining = size;
            do {
                int n = (int) Math.min(chunk.length, remaining);
                try {
                    new DataInputStream(in).readFully(chunk, 0, n);
                } catch (IOException e) {
                    throw new SourceFileException(file, e);
                }
                remaining -= n;
                Pdu.writeHeader(out, Pdu.P_DATA_TF, n + 6);
                writePdvHeader(out, n + 2, contextId, remaining == 0 ? 0x02 : 0x00);
                out.write(chunk, 0, n);
            } while (remaining > 0);
        }
        out.flush();
    }

    /** A file we were sending could not be read: our side's fault, not the peer's, and not a lost association. */
    public static final class SourceFileException extends IOException {
        SourceFileException(Path file, IOException cause) {
            super("cannot read " + file + ": " + Failures.reason(cause), cause);
        }
    }

    private static void writePdvHeader(OutputStream out, int itemLength, int contextId, int control)
            throws IOException {
        out.write(new byte[] {
            (byte) (itemLength >>> 24),
            (byte) (itemLength >>> 16),
            (byte) (itemLength >>> 8),
            (byte) itemLength,
            (byte) contextId,
            (byte) control
        });
    }

    private static DimseCommand readCommand(DataInputStream in) throws IOException {
        ByteArrayOutputStream command = new ByteArrayOutputStream();
        byte[] buffer = null;
        while (true) {
            Pdu.Header header = Pdu.readHeader(in);
            if (header == null) {
                throw new IOException("peer closed the connection before answering");
            }
            if (header.type() == Pdu.ABORT) {
                throw new AssociationFailure(AssociationFailure.Kind.REJECTED, "the peer aborted the association");
            }
            if (header.type() != Pdu.P_DATA_TF) {
                throw new DicomProtocolException(
                        "expected P-DATA-TF, got PDU type 0x" + Integer.toHexString(header.type()));
            }
            buffer = Pdu.readBody(in, header, buffer);
            int pos = 0;
            boolean last = false;
            while (pos + 6 <= header.length()) {
                long itemLength = Pdu.u32(buffer, pos) & 0xffffffffL;
                if (itemLength < 2 || pos + 4 + itemLength > header.length()) {
                    throw new DicomProtocolException("PDV item length " + itemLength + " does not fit its P-DATA-TF of "
                            + header.length() + " bytes");
                }
                int control = buffer[pos + 5];
                if ((control & 1) != 0) {
                    if (command.size() + itemLength > MAX_COMMAND_BYTES) {
                        throw new DicomProtocolException("command set longer than " + MAX_COMMAND_BYTES + " bytes");
                    }
                    command.write(buffer, pos + 6, (int) itemLength - 2);
                    last |= (control & 2) != 0;
                }
                pos += 4 + (int) itemLength;
            }
            if (last) {
                byte[] bytes = command.toByteArray();
                return DimseCommand.parse(bytes, bytes.length);
            }
        }
    }
}
