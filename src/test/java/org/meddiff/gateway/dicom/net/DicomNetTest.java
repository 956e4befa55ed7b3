package org.meddiff.gateway.dicom.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;

import com.pixelmed.dicom.Attribute;
import com.pixelmed.dicom.AttributeList;
import com.pixelmed.dicom.TagFromName;
import com.sun.management.ThreadMXBean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.ingest.IngestPolicy;

/**
 * The gateway's own DICOM upper layer, end to end on loopback: the product's StoreScu against the product's
 * StoreScpServer with the product's IngestPolicy, and a StoreHandler the test controls.
 */
class DicomNetTest {
    static final String CALLED = "GW";
    static final String ALLOWED = "OK_AE";
    static final String EXPLICIT_VR_LE = "1.2.840.10008.1.2.1";
    static final String JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70";
    static final String MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4";
    static final int MAX_ASSOCIATIONS = 4;

    /** What the handler saw, with the file's bytes as they were when it was called. */
    record Seen(ReceivedInstance instance, byte[] bytes, boolean inIncomingDir) {}

    @TempDir
    Path tmp;

    Path incoming;
    StoreScpServer server;
    final List<Seen> seen = new CopyOnWriteArrayList<>();
    /** Decides the outcome per instance; the handler always consumes (deletes) the file, as it owns it. */
    volatile Function<ReceivedInstance, StoreOutcome> decide = i -> StoreOutcome.success();

    @BeforeEach
    void startServer() throws IOException {
        incoming = tmp.resolve("incoming");
        StoreScpServer.Settings settings =
                new StoreScpServer.Settings("127.0.0.1", 0, 64 * 1024, MAX_ASSOCIATIONS, 5_000, incoming);
        StoreHandler handler = instance -> {
            try {
                seen.add(new Seen(
                        instance,
                        Files.readAllBytes(instance.file()),
                        instance.file().getParent().equals(incoming)));
                return decide.apply(instance);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            } finally {
                try {
                    Files.deleteIfExists(instance.file());
                } catch (IOException ignored) {
                    // the temp dir goes anyway
                }
            }
        };
        server = new StoreScpServer(settings, new IngestPolicy(Set.of(CALLED), Optional.of(List.of(ALLOWED))), handler);
        server.start();
    }

    @AfterEach
    void stopServer() {
        server.close();
    }

    StoreScu.Destination destination() {
        return new StoreScu.Destination(CALLED, "127.0.0.1", server.localPort());
    }

    static StoreScu scu(String callingAe) {
        return new StoreScu(callingAe, 2_000, 10_000);
    }

    static byte[] dataSet(Path part10) throws IOException {
        byte[] all = Files.readAllBytes(part10);
        Part10.Meta meta = Part10.readMeta(new ByteArrayInputStream(all));
        return Arrays.copyOfRange(all, (int) meta.dataSetOffset(), all.length);
    }

    List<Path> leftoversInIncoming() throws IOException {
        if (!Files.isDirectory(incoming)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(incoming)) {
            return s.toList();
        }
    }

    // ------------------------------------------------------------------ (a) C-ECHO, port 0

    @Test
    void portZeroBindsAnEphemeralPortAndEchoSucceeds() throws IOException {
        assertTrue(server.localPort() > 0, "Settings.port 0 -> the OS picks a port, localPort() reports it");
        assertTrue(scu(ALLOWED).echo(destination()));
        assertTrue(seen.isEmpty());
    }

    // ------------------------------------------------------------------ (b) C-STORE

    @Test
    void storesEachInstanceAndReportsExactlyTheHandlersStatus() throws Exception {
        List<Path> files = SyntheticCtSeries.write(tmp.resolve("series"), SyntheticCtSeries.Params.thick(16, 3));
        List<Part10.Meta> metas = new ArrayList<>();
        for (Path f : files) {
            try (InputStream in = Files.newInputStream(f)) {
                metas.add(Part10.readMeta(in));
            }
        }
        String refused = metas.get(1).sopInstanceUid();
        decide = i -> i.sopInstanceUid().equals(refused)
                ? StoreOutcome.failure(DicomStatus.OUT_OF_RESOURCES, "spool is full")
                : StoreOutcome.success();

        List<StoreScu.FileResult> results = scu(ALLOWED).send(destination(), files);

        assertEquals(3, results.size());
        assertEquals(
                List.of(DicomStatus.SUCCESS, DicomStatus.OUT_OF_RESOURCES, DicomStatus.SUCCESS),
                results.stream().map(StoreScu.FileResult::status).toList(),
                "the status the handler chose, per instance");
        assertEquals(
                List.of(true, false, true),
                results.stream().map(StoreScu.FileResult::stored).toList());
        assertNull(results.get(0).error());
        assertEquals("status 0xA700 spool is full", results.get(1).error(), "status and ErrorComment reach the sender");
        for (int i = 0; i < 3; i++) {
            assertEquals(files.get(i), results.get(i).file());
            assertEquals(metas.get(i).sopInstanceUid(), results.get(i).sopInstanceUid());
        }

        assertEquals(3, seen.size(), "the handler saw every instance, refused one included");
        for (int i = 0; i < 3; i++) {
            Seen s = seen.get(i);
            ReceivedInstance r = s.instance();
            assertEquals(SyntheticCtSeries.CT_IMAGE_STORAGE, r.sopClassUid());
            assertEquals(metas.get(i).sopInstanceUid(), r.sopInstanceUid());
            assertEquals(EXPLICIT_VR_LE, r.transferSyntaxUid());
            assertEquals(ALLOWED, r.callingAe());
            assertEquals(CALLED, r.calledAe());
            assertTrue(s.inIncomingDir(), "received files are written under the incoming dir: " + r.file());

            // A complete Part-10 file: our meta header, then the data set byte for byte as sent.
            Part10.Meta got = Part10.readMeta(new ByteArrayInputStream(s.bytes()));
            assertEquals(r.sopClassUid(), got.sopClassUid());
            assertEquals(r.sopInstanceUid(), got.sopInstanceUid());
            assertEquals(EXPLICIT_VR_LE, got.transferSyntaxUid());
            byte[] received = Arrays.copyOfRange(s.bytes(), (int) got.dataSetOffset(), s.bytes().length);
            assertArrayEquals(
                    dataSet(files.get(i)), received, "data set of instance " + (i + 1) + " is byte-identical");

            // ... that a DICOM toolkit reads, with the sender recorded in the meta header.
            Path copy = Files.write(tmp.resolve("copy" + i + ".dcm"), s.bytes());
            AttributeList list = new AttributeList();
            list.read(copy.toString());
            assertEquals(
                    r.sopInstanceUid(), Attribute.getSingleStringValueOrEmptyString(list, TagFromName.SOPInstanceUID));
            assertEquals(
                    ALLOWED,
                    Attribute.getSingleStringValueOrEmptyString(list, TagFromName.SourceApplicationEntityTitle));
            assertEquals(16, Attribute.getSingleIntegerValueOrDefault(list, TagFromName.Rows, -1));
        }
        assertEquals(List.of(), leftoversInIncoming(), "the handler consumed every file");
    }

    @Test
    void largeInstanceIsFragmentedIntoSeveralPdusAndReassembled() throws Exception {
        // 256 x 256 x 16 bit = 128 KiB of pixels: more than the 64 KiB PDU the server announces.
        List<Path> files = SyntheticCtSeries.write(tmp.resolve("big"), SyntheticCtSeries.Params.thick(256, 1));
        assertTrue(Files.size(files.get(0)) > 64 * 1024);
        List<StoreScu.FileResult> results = scu(ALLOWED).send(destination(), files);
        assertEquals(DicomStatus.SUCCESS, results.get(0).status());
        Seen s = seen.get(0);
        Part10.Meta got = Part10.readMeta(new ByteArrayInputStream(s.bytes()));
        assertArrayEquals(
                dataSet(files.get(0)), Arrays.copyOfRange(s.bytes(), (int) got.dataSetOffset(), s.bytes().length));
    }

    @Test
    void aHandlerExceptionBecomesARefusalNotASilentSuccess() throws Exception {
        List<Path> files = SyntheticCtSeries.write(tmp.resolve("series"), SyntheticCtSeries.Params.thick(16, 2));
        decide = i -> {
            throw new IllegalStateException("database down");
        };
        List<StoreScu.FileResult> results = scu(ALLOWED).send(destination(), files);
        assertEquals(
                List.of(DicomStatus.OUT_OF_RESOURCES, DicomStatus.OUT_OF_RESOURCES),
                results.stream().map(StoreScu.FileResult::status).toList(),
                "the association survives the failure");
        assertFalse(results.get(0).stored());
    }

    /**
     * Found by the fuzz campaign: PixelMed parsing thousands of nested defined-length sequences throws
     * StackOverflowError, an Error the listener did not catch; the association thread died, the sender got no answer
     * and the half-stored file stayed in incoming/.
     */
    @Test
    void aHandlerStackOverflowBecomesARefusalNotADeadAssociation() throws Exception {
        List<Path> files = SyntheticCtSeries.write(tmp.resolve("series"), SyntheticCtSeries.Params.thick(16, 2));
        decide = i -> {
            throw new StackOverflowError();
        };
        List<StoreScu.FileResult> results = scu(ALLOWED).send(destination(), files);
        assertEquals(
                List.of(DicomStatus.OUT_OF_RESOURCES, DicomStatus.OUT_OF_RESOURCES),
                results.stream().map(StoreScu.FileResult::status).toList(),
                "answered, and the association goes on");
        assertEquals(List.of(), leftoversInIncoming());
    }

    // ------------------------------------------------------------------ (c) calling / called AE screening

    @Test
    void callingAeNotOnTheAllowListIsRejectedBeforeAnyData() throws Exception {
        List<Path> files = SyntheticCtSeries.write(tmp.resolve("series"), SyntheticCtSeries.Params.thick(16, 2));
        IOException e = assertThrows(IOException.class, () -> scu("INTRUDER").send(destination(), files));
        assertTrue(e.getMessage().contains("rejected"), e.getMessage());
        assertTrue(e.getMessage().contains("reason 3"), "calling AE not recognised: " + e.getMessage());
        assertThrows(IOException.class, () -> scu("INTRUDER").echo(destination()), "not even a C-ECHO");
        assertTrue(seen.isEmpty(), "the handler was never called");
        assertEquals(List.of(), leftoversInIncoming(), "nothing was written");
    }

    @Test
    void unknownCalledAeIsRejected() throws Exception {
        StoreScu.Destination wrong = new StoreScu.Destination("SOMEONE_ELSE", "127.0.0.1", server.localPort());
        IOException e = assertThrows(IOException.class, () -> scu(ALLOWED).echo(wrong));
        assertTrue(e.getMessage().contains("rejected") && e.getMessage().contains("reason 7"), e.getMessage());
    }

    // ------------------------------------------------------------------ (d) refused presentation contexts

    /** The synthetic instance re-labelled in its meta header (the data set is never looked at: it is refused). */
    Path relabelled(Path original, String sopClass, String transferSyntax, String name) throws IOException {
        Part10.Meta meta;
        try (InputStream in = Files.newInputStream(original)) {
            meta = Part10.readMeta(in);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(Part10.header(sopClass, meta.sopInstanceUid() + ".9", transferSyntax, null));
        out.write(dataSet(original));
        return Files.write(tmp.resolve(name), out.toByteArray());
    }

    @Test
    void unsupportedSopClassOrTransferSyntaxIsRefusedPerFile() throws Exception {
        List<Path> ct = SyntheticCtSeries.write(tmp.resolve("series"), SyntheticCtSeries.Params.thick(16, 2));
        Path mr = relabelled(ct.get(0), MR_IMAGE_STORAGE, EXPLICIT_VR_LE, "mr.dcm");
        Path jpeg = relabelled(ct.get(0), SyntheticCtSeries.CT_IMAGE_STORAGE, JPEG_LOSSLESS, "jpeg.dcm");

        List<StoreScu.FileResult> results = scu(ALLOWED).send(destination(), List.of(ct.get(0), mr, jpeg, ct.get(1)));

        int refused = StoreScu.FileResult.SOP_CLASS_REFUSED;
        assertEquals(
                List.of(DicomStatus.SUCCESS, refused, refused, DicomStatus.SUCCESS),
                results.stream().map(StoreScu.FileResult::status).toList(),
                "refused contexts: marked as such (never sent, never worth a retry); the accepted ones still go through");
        assertEquals(
                List.of(false, true, true, false),
                results.stream().map(StoreScu.FileResult::sopClassRefused).toList());
        assertTrue(
                results.get(1).error().contains("refused")
                        && results.get(1).error().contains(MR_IMAGE_STORAGE),
                results.get(1).error());
        assertTrue(
                results.get(2).error().contains("refused")
                        && results.get(2).error().contains(JPEG_LOSSLESS),
                results.get(2).error());
        assertEquals(2, seen.size(), "only the CT instances reached the handler");
    }

    // ------------------------------------------------------------------ (e) misbehaving peers

    /** A raw peer: associates with hand-made PDUs. */
    static final class RawPeer implements AutoCloseable {
        final Socket socket = new Socket();
        final DataInputStream in;
        final OutputStream out;

        RawPeer(int port) throws IOException {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
            socket.setSoTimeout(5_000);
            in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            out = new BufferedOutputStream(socket.getOutputStream());
        }

        /** Sends an A-ASSOCIATE-RQ for CT storage; returns the answer's PDU type and its 4 first body bytes. */
        int[] associate(String callingAe) throws IOException {
            new AssociationRequest(
                            CALLED,
                            callingAe,
                            Pdu.APPLICATION_CONTEXT,
                            List.of(new PresentationContext(
                                    1, SyntheticCtSeries.CT_IMAGE_STORAGE, List.of(EXPLICIT_VR_LE))),
                            0)
                    .write(out, 64 * 1024);
            Pdu.Header h = Pdu.readHeader(in);
            assertNotNull(h, "server answered the association request");
            byte[] body = Pdu.readBody(in, h, null);
            return new int[] {h.type(), body[1] & 0xff, body[2] & 0xff, body[3] & 0xff};
        }

        void send(byte[] bytes) throws IOException {
            out.write(bytes);
            out.flush();
        }

        /** Half-closes and waits for the server to close its side: it has finished with this association. */
        void finish() throws IOException {
            out.flush();
            socket.shutdownOutput();
            try {
                while (in.read() >= 0) {
                    // drain (e.g. an A-ABORT)
                }
            } catch (IOException ignored) {
                // reset by the server is fine too
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    static byte[] pduHeader(int type, int length) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        Pdu.writeHeader(b, type, length);
        return b.toByteArray();
    }

    static byte[] commandPdu(int contextId, DimseCommand command) throws IOException {
        byte[] c = command.encode();
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        Pdu.writeHeader(b, Pdu.P_DATA_TF, c.length + 6);
        int item = c.length + 2;
        b.write(new byte[] {
            (byte) (item >>> 24), (byte) (item >>> 16), (byte) (item >>> 8), (byte) item, (byte) contextId, 3
        });
        b.write(c);
        return b.toByteArray();
    }

    /** A-ASSOCIATE-RQ of exactly {@code length} body bytes whose last item is an empty presentation context. */
    static byte[] associateRqEndingInEmptyContext(int length) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(new byte[] {0, 1, 0, 0});
        body.write(Pdu.aeTitleField(CALLED));
        body.write(Pdu.aeTitleField(ALLOWED));
        body.write(new byte[32]);
        AssociationRequest.writeUidItem(body, 0x10, Pdu.APPLICATION_CONTEXT);
        int pad = length - body.size() - 4 - 4; // an ignored item fills up to the last 4 bytes
        AssociationRequest.writeItem(body, 0x55, new byte[pad]);
        AssociationRequest.writeItem(body, 0x20, new byte[0]);
        byte[] b = body.toByteArray();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.write(pduHeader(Pdu.ASSOCIATE_RQ, b.length));
        all.write(b);
        return all.toByteArray();
    }

    @Test
    void badPeersNeitherStopTheServerNorLeakAssociationSlots() throws Exception {
        Path file = SyntheticCtSeries.write(tmp.resolve("series"), SyntheticCtSeries.Params.thick(64, 1))
                .get(0);
        Part10.Meta meta;
        try (InputStream in = Files.newInputStream(file)) {
            meta = Part10.readMeta(in);
        }
        Random random = new Random(42);
        int port = server.localPort();
        int bad = 0;
        for (int round = 0; round < 4; round++) {
            // 1. connects and hangs up at once
            try (RawPeer p = new RawPeer(port)) {
                p.finish();
            }
            // 2. speaks HTTP
            try (RawPeer p = new RawPeer(port)) {
                p.send("GET / HTTP/1.1\r\nHost: gateway\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                p.finish();
            }
            // 3. hangs up in the middle of an A-ASSOCIATE-RQ
            try (RawPeer p = new RawPeer(port)) {
                p.send(pduHeader(Pdu.ASSOCIATE_RQ, 300));
                p.send(new byte[20]);
                p.finish();
            }
            // 4. random bytes inside a well-framed A-ASSOCIATE-RQ
            try (RawPeer p = new RawPeer(port)) {
                byte[] body = new byte[500];
                random.nextBytes(body);
                p.send(pduHeader(Pdu.ASSOCIATE_RQ, body.length));
                p.send(body);
                p.finish();
            }
            // 5. associates, starts a C-STORE and hangs up in the middle of a data PDU
            try (RawPeer p = new RawPeer(port)) {
                assertEquals(Pdu.ASSOCIATE_AC, p.associate(ALLOWED)[0]);
                p.send(commandPdu(1, DimseCommand.storeRequest(1, meta.sopClassUid(), meta.sopInstanceUid())));
                byte[] data = dataSet(file);
                p.send(pduHeader(Pdu.P_DATA_TF, data.length + 6));
                p.send(new byte[] {
                    (byte) ((data.length + 2) >>> 24),
                    (byte) ((data.length + 2) >>> 16),
                    (byte) ((data.length + 2) >>> 8),
                    (byte) (data.length + 2),
                    1,
                    2
                });
                p.send(Arrays.copyOf(data, data.length / 2));
                p.finish();
            }
            // 6. an A-ASSOCIATE-RQ whose last item is an empty presentation context, ending the PDU
            try (RawPeer p = new RawPeer(port)) {
                p.send(associateRqEndingInEmptyContext(1024));
                p.finish();
            }
            bad += 6;
        }
        assertTrue(bad >= 20);
        assertTrue(seen.isEmpty(), "no half-received instance reached the handler");
        assertEquals(List.of(), leftoversInIncoming(), "half-received instances are deleted, not left in incoming/");

        // Every association slot is free again: MAX_ASSOCIATIONS peers can hold associations at once, the next is
        // turned away with "local limit exceeded" (result 2 transient, source 3, reason 2). A leaked slot per bad
        // connection of any kind (4 of each) would exhaust the 4 slots.
        // (The server releases a slot just after closing the socket, so allow a moment for the last bad peer's.)
        assertEquals(MAX_ASSOCIATIONS, freeSlotsWithin(port, 3_000), "association slots leaked by bad peers");
        assertTrue(echoWithin(3_000), "the server still serves a normal association");
        assertEquals(
                DicomStatus.SUCCESS,
                scu(ALLOWED).send(destination(), List.of(file)).get(0).status());
    }

    /** Reads the server's answer after a protocol violation: the PDU type, or -1 if it just closed. */
    static int answerTo(RawPeer p) throws IOException {
        p.out.flush();
        Pdu.Header h = Pdu.readHeader(p.in);
        return h == null ? -1 : h.type();
    }

    @Test
    void protocolGarbageIsAnsweredWithAnAbort() throws Exception {
        try (RawPeer p = new RawPeer(server.localPort())) {
            p.send("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals(Pdu.ABORT, answerTo(p), "A-ABORT, so a misconfigured peer sees a DICOM error");
        }
        try (RawPeer p = new RawPeer(server.localPort())) {
            assertEquals(Pdu.ASSOCIATE_AC, p.associate(ALLOWED)[0]);
            p.send(commandPdu(
                    1,
                    new DimseCommand()
                            .putUnsignedShort(DimseCommand.COMMAND_FIELD, 0x0020)
                            .putUnsignedShort(DimseCommand.MESSAGE_ID, 1)));
            assertEquals(Pdu.ABORT, answerTo(p), "an unsupported DIMSE command (C-FIND) aborts");
        }
    }

    @Test
    void associateRequestEndingInAnEmptyPresentationContextIsAnsweredWithAnAbort() throws Exception {
        try (RawPeer p = new RawPeer(server.localPort())) {
            p.send(associateRqEndingInEmptyContext(1024));
            assertEquals(Pdu.ABORT, answerTo(p));
        }
    }

    @Test
    void pdvItemLengthOverflowIsAnsweredWithAnAbort() throws Exception {
        try (RawPeer p = new RawPeer(server.localPort())) {
            assertEquals(Pdu.ASSOCIATE_AC, p.associate(ALLOWED)[0]);
            p.send(pduHeader(Pdu.P_DATA_TF, 16));
            p.send(new byte[] {0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
            assertEquals(Pdu.ABORT, answerTo(p));
        }
    }

    /**
     * Found by the fuzz campaign: a connection over the association limit still read its A-ASSOCIATE-RQ into a buffer
     * of the announced length before rejecting it. The limit does not bound such connections, so 40 of them announcing
     * 16 MiB each ran a 512 MiB heap out (OutOfMemoryError in the association threads). Measured here as what the
     * over-limit connection's thread allocates while it waits for the body.
     */
    @Test
    void aConnectionOverTheLimitDoesNotBufferTheRequestItAnnounces() throws Exception {
        List<RawPeer> holders = new ArrayList<>();
        try {
            for (int i = 0; i < MAX_ASSOCIATIONS; i++) {
                RawPeer p = new RawPeer(server.localPort());
                holders.add(p);
                assertEquals(Pdu.ASSOCIATE_AC, p.associate(ALLOWED)[0]);
            }
            try (RawPeer extra = new RawPeer(server.localPort())) {
                byte[] fixed = new byte[68];
                fixed[1] = 1;
                System.arraycopy(Pdu.aeTitleField(CALLED), 0, fixed, 4, 16);
                System.arraycopy(Pdu.aeTitleField(ALLOWED), 0, fixed, 20, 16);
                extra.send(pduHeader(Pdu.ASSOCIATE_RQ, 16 * 1024 * 1024 - 16));
                extra.send(fixed);
                String name = "dicom-assoc-" + extra.socket.getLocalPort();
                Thread thread = null;
                for (int tries = 0; thread == null && tries < 100; tries++) {
                    thread = Thread.getAllStackTraces().keySet().stream()
                            .filter(t -> t.getName().equals(name))
                            .findFirst()
                            .orElse(null);
                    Thread.sleep(20);
                }
                assertNotNull(thread, "the server serves the extra connection on thread " + name);
                Thread.sleep(300); // it is reading the body now
                long allocated =
                        ((ThreadMXBean) ManagementFactory.getThreadMXBean()).getThreadAllocatedBytes(thread.threadId());
                assertTrue(
                        allocated < 4 * 1024 * 1024,
                        "the over-limit connection's thread allocated " + allocated
                                + " bytes for a 16 MiB request it will reject");
                extra.finish();
            }
        } finally {
            for (RawPeer p : holders) {
                p.finish();
                p.close();
            }
        }
    }

    /** The log records of the listener's association class while {@code action} runs. */
    static List<String> logOf(Class<?> source, ThrowingRunnable action) throws Exception {
        List<String> lines = new CopyOnWriteArrayList<>();
        Logger logger = Logger.getLogger(source.getName());
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                Object[] params = r.getParameters();
                lines.add(
                        params == null || params.length == 0 ? r.getMessage() : String.format(r.getMessage(), params));
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        logger.addHandler(handler);
        try {
            action.run();
        } finally {
            logger.removeHandler(handler);
        }
        return lines;
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** Reads one command answer (C-STORE-RSP) and returns its status. */
    static int statusOfAnswer(RawPeer p) throws IOException {
        p.out.flush();
        Pdu.Header h = Pdu.readHeader(p.in);
        assertNotNull(h);
        assertEquals(Pdu.P_DATA_TF, h.type(), "a command answer");
        byte[] body = Pdu.readBody(p.in, h, null);
        DimseCommand rsp = DimseCommand.parse(Arrays.copyOfRange(body, 6, h.length()), h.length() - 6);
        return rsp.getUnsignedShort(DimseCommand.STATUS, -1);
    }

    /**
     * Found by the fuzz campaign: the refusals the listener decides itself (a SOP class other than its context's, a
     * C-STORE-RQ without a data set) reached the sender, but no log line said which instance was refused, or why.
     */
    @Test
    void refusalsDecidedByTheListenerAreLoggedWithInstanceAndReason() throws Exception {
        Path file = SyntheticCtSeries.write(tmp.resolve("series"), SyntheticCtSeries.Params.thick(16, 1))
                .get(0);
        byte[] data = dataSet(file);
        String wrongClass = "1.2.3.4.5.6.1";
        String noDataSet = "1.2.3.4.5.6.2";
        List<String> log = logOf(ScpAssociation.class, () -> {
            try (RawPeer p = new RawPeer(server.localPort())) {
                assertEquals(Pdu.ASSOCIATE_AC, p.associate(ALLOWED)[0]);
                p.send(commandPdu(1, DimseCommand.storeRequest(1, MR_IMAGE_STORAGE, wrongClass)));
                p.send(pduHeader(Pdu.P_DATA_TF, data.length + 6));
                p.send(new byte[] {
                    (byte) ((data.length + 2) >>> 24),
                    (byte) ((data.length + 2) >>> 16),
                    (byte) ((data.length + 2) >>> 8),
                    (byte) (data.length + 2),
                    1,
                    2
                });
                p.send(data);
                assertEquals(DicomStatus.SOP_CLASS_NOT_SUPPORTED, statusOfAnswer(p));
                p.send(commandPdu(
                        1,
                        DimseCommand.storeRequest(2, SyntheticCtSeries.CT_IMAGE_STORAGE, noDataSet)
                                .putUnsignedShort(DimseCommand.COMMAND_DATA_SET_TYPE, DimseCommand.NO_DATA_SET)));
                assertEquals(DicomStatus.CANNOT_UNDERSTAND, statusOfAnswer(p));
                p.finish();
            }
        });
        assertTrue(
                log.stream()
                        .anyMatch(l -> l.contains(wrongClass)
                                && l.contains("0x0122")
                                && l.contains(ALLOWED)
                                && l.contains(MR_IMAGE_STORAGE)),
                "log names the instance, the calling AE, the status and the SOP class: " + log);
        assertTrue(
                log.stream()
                        .anyMatch(l -> l.contains(noDataSet) && l.contains("0xC000") && l.contains("without data set")),
                "log names the instance refused for having no data set: " + log);
    }

    /** The answer's PDU type to an A-ASSOCIATE-RQ for Verification on the given context IDs. */
    int answerToContexts(int... ids) throws IOException {
        List<PresentationContext> contexts = new ArrayList<>();
        for (int id : ids) {
            contexts.add(new PresentationContext(id, "1.2.840.10008.1.1", List.of("1.2.840.10008.1.2")));
        }
        try (RawPeer p = new RawPeer(server.localPort())) {
            new AssociationRequest(CALLED, ALLOWED, Pdu.APPLICATION_CONTEXT, contexts, 0).write(p.out, 64 * 1024);
            int type = answerTo(p);
            p.finish();
            return type;
        }
    }

    /**
     * Found by the fuzz campaign: any number of presentation contexts (30,000 tiny ones) and repeated IDs were
     * accepted and answered one by one; IDs are odd numbers 1..255, so a valid request has at most 128, each once.
     */
    @Test
    void moreThan128PresentationContextsOrARepeatedIdAreAnsweredWithAnAbort() throws Exception {
        int[] all128 = new int[128];
        for (int i = 0; i < 128; i++) {
            all128[i] = 2 * i + 1;
        }
        assertEquals(Pdu.ASSOCIATE_AC, answerToContexts(all128), "128 contexts, IDs 1, 3 .. 255");
        int[] more = Arrays.copyOf(all128, 129);
        more[128] = 2; // an ID not used yet, so only the count is wrong
        assertEquals(Pdu.ABORT, answerToContexts(more), "129 contexts");
        assertEquals(Pdu.ABORT, answerToContexts(1, 3, 1), "context 1 proposed twice");
    }

    /**
     * Found by the fuzz campaign: command fragments without the last bit were buffered without limit (4 MiB of them
     * were taken in silence; enough of them exhaust the heap). A command set longer than any real one is an abort.
     */
    @Test
    void commandFragmentsThatNeverEndAreAnsweredWithAnAbort() throws Exception {
        try (RawPeer p = new RawPeer(server.localPort())) {
            assertEquals(Pdu.ASSOCIATE_AC, p.associate(ALLOWED)[0]);
            byte[] fragment = new byte[30_000];
            for (int i = 0; i < 3; i++) { // 90,000 bytes of command, never the last fragment
                p.send(pduHeader(Pdu.P_DATA_TF, fragment.length + 6));
                p.send(new byte[] {0, 0, (byte) ((fragment.length + 2) >>> 8), (byte) (fragment.length + 2), 1, 0x01});
                p.send(fragment);
            }
            p.socket.shutdownOutput(); // nothing more: a server still waiting for the command's end would just close
            assertEquals(Pdu.ABORT, answerTo(p));
        }
    }

    /**
     * Found by the fuzz campaign: data fragments were taken for the pending C-STORE whatever presentation context they
     * named, so a data set sent on a context never proposed was stored (Success) under the command's transfer syntax.
     */
    @Test
    void dataSetOnAnotherPresentationContextThanItsCommandIsAnsweredWithAnAbort() throws Exception {
        Path file = SyntheticCtSeries.write(tmp.resolve("series"), SyntheticCtSeries.Params.thick(16, 1))
                .get(0);
        Part10.Meta meta;
        try (InputStream in = Files.newInputStream(file)) {
            meta = Part10.readMeta(in);
        }
        try (RawPeer p = new RawPeer(server.localPort())) {
            assertEquals(Pdu.ASSOCIATE_AC, p.associate(ALLOWED)[0]);
            p.send(commandPdu(1, DimseCommand.storeRequest(1, meta.sopClassUid(), meta.sopInstanceUid())));
            byte[] data = dataSet(file);
            p.send(pduHeader(Pdu.P_DATA_TF, data.length + 6));
            p.send(new byte[] {
                (byte) ((data.length + 2) >>> 24),
                (byte) ((data.length + 2) >>> 16),
                (byte) ((data.length + 2) >>> 8),
                (byte) (data.length + 2),
                3,
                2
            }); // context 3: never proposed
            p.send(data);
            assertEquals(Pdu.ABORT, answerTo(p));
            p.finish(); // the server deletes the partial file before it closes
        }
        assertTrue(seen.isEmpty(), "nothing reached the handler");
        assertEquals(List.of(), leftoversInIncoming());
    }

    /**
     * Holds as many associations as the server grants (up to MAX_ASSOCIATIONS), checks that one more is turned
     * away with "local limit exceeded" (result 2 transient, source 3, reason 2), releases them, and returns how
     * many were granted; retries until all are granted or the time is up.
     */
    int freeSlotsWithin(int port, long millis) throws Exception {
        long end = System.currentTimeMillis() + millis;
        while (true) {
            List<RawPeer> held = new ArrayList<>();
            int granted = 0;
            try {
                for (int i = 0; i < MAX_ASSOCIATIONS; i++) {
                    RawPeer p = new RawPeer(port);
                    held.add(p);
                    if (p.associate(ALLOWED)[0] == Pdu.ASSOCIATE_AC) {
                        granted++;
                    }
                }
                if (granted == MAX_ASSOCIATIONS) {
                    try (RawPeer extra = new RawPeer(port)) {
                        assertArrayEquals(
                                new int[] {Pdu.ASSOCIATE_RJ, 2, 3, 2},
                                extra.associate(ALLOWED),
                                "one association over the limit is rejected (transient, local limit exceeded)");
                    }
                    return granted;
                }
            } finally {
                for (RawPeer p : held) {
                    p.finish();
                    p.close();
                }
            }
            if (System.currentTimeMillis() > end) {
                return granted;
            }
            Thread.sleep(50);
        }
    }

    /** Slots are released right after the server closed a socket: allow that instant to pass. */
    boolean echoWithin(long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (true) {
            try {
                return scu(ALLOWED).echo(destination());
            } catch (IOException e) {
                if (System.currentTimeMillis() > end) {
                    return false;
                }
                Thread.sleep(20);
            }
        }
    }

    // ------------------------------------------------------------------ (f) TCP_NODELAY

    /**
     * 50 tiny (1.5 KB) C-STOREs on one association. Each C-STORE is two small writes (command PDU, data PDU) and a
     * wait for the response: the classic write-write-read pattern in which Nagle's algorithm holds the data PDU
     * until the command PDU is ACKed, and a delayed ACK (40 ms minimum on Linux) makes that ~40 ms per instance,
     * i.e. >= 2 s for 50. Measured on the build machine (Linux 6.18, loopback) before choosing the bound:
     * product StoreScu -> StoreScpServer, TCP_NODELAY on both ends: 0.12-0.43 s (warm);
     * a copy of both with TCP_NODELAY off: 0.17-0.35 s. This loopback ACKs promptly, so here the bound cannot tell
     * Nagle from TCP_NODELAY; it guards the throughput of the exchange (a flush per byte, an fsync or sleep per
     * message, a per-store association would all break it) with room for a loaded CI machine, and on a host with
     * delayed ACKs it also catches Nagle (>= 2 s). That the listener really sets TCP_NODELAY is checked directly in
     * {@link #everyAcceptedSocketHasTcpNoDelay}.
     */
    @Test
    void fiftyTinyInstancesOnOneAssociationAreFast() throws Exception {
        List<Path> warmUp = SyntheticCtSeries.write(
                tmp.resolve("warm"), SyntheticCtSeries.Params.thick(8, 5).withSeed(7));
        scu(ALLOWED).send(destination(), warmUp); // class loading and JIT out of the measurement
        List<Path> files = SyntheticCtSeries.write(tmp.resolve("tiny"), SyntheticCtSeries.Params.thick(8, 50));
        assertTrue(Files.size(files.get(0)) < 4096, "tiny: " + Files.size(files.get(0)) + " bytes");

        long t0 = System.nanoTime();
        List<StoreScu.FileResult> results = scu(ALLOWED).send(destination(), files);
        long millis = (System.nanoTime() - t0) / 1_000_000;

        assertEquals(50, results.stream().filter(StoreScu.FileResult::stored).count());
        System.out.printf("DicomNetTest: 50 tiny C-STOREs on one association took %d ms%n", millis);
        assertTrue(
                millis < 1_000,
                "50 tiny C-STOREs took " + millis + " ms: Nagle + delayed ACK stalls (TCP_NODELAY off?)");
    }

    /**
     * Found by the fuzz campaign: a peer that sends C-ECHO-RQs and never reads the answers fills its window, and the
     * listener's write blocks for good. The idle timeout is a read timeout, so it never fired: the association (and
     * its slot) stayed as long as the peer kept the connection. Now a write blocked longer than the idle timeout
     * closes the connection. White-box: watches the server's set of open sockets.
     */
    @Test
    void aPeerThatNeverReadsIsDroppedAfterTheIdleTimeout() throws Exception {
        StoreScpServer quick = new StoreScpServer(
                new StoreScpServer.Settings("127.0.0.1", 0, 64 * 1024, MAX_ASSOCIATIONS, 1_000, incoming),
                new IngestPolicy(Set.of(CALLED), Optional.of(List.of(ALLOWED))),
                i -> StoreOutcome.success());
        quick.start();
        Field f = StoreScpServer.class.getDeclaredField("openSockets");
        f.setAccessible(true);
        @SuppressWarnings("unchecked")
        Set<Socket> open = (Set<Socket>) f.get(quick);
        try (Socket socket = new Socket()) {
            socket.setReceiveBufferSize(4096); // a small window: the server's answers soon have nowhere to go
            socket.connect(new InetSocketAddress("127.0.0.1", quick.localPort()), 2_000);
            socket.setSoTimeout(5_000);
            OutputStream out = new BufferedOutputStream(socket.getOutputStream());
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            new AssociationRequest(
                            CALLED,
                            ALLOWED,
                            Pdu.APPLICATION_CONTEXT,
                            List.of(new PresentationContext(1, "1.2.840.10008.1.1", List.of("1.2.840.10008.1.2"))),
                            0)
                    .write(out, 64 * 1024);
            Pdu.Header h = Pdu.readHeader(in);
            assertEquals(Pdu.ASSOCIATE_AC, h.type());
            Pdu.readBody(in, h, null);
            ByteArrayOutputStream batch = new ByteArrayOutputStream();
            byte[] echo = commandPdu(
                    1,
                    new DimseCommand()
                            .putString(DimseCommand.AFFECTED_SOP_CLASS_UID, "1.2.840.10008.1.1", true)
                            .putUnsignedShort(DimseCommand.COMMAND_FIELD, DimseCommand.C_ECHO_RQ)
                            .putUnsignedShort(DimseCommand.MESSAGE_ID, 1)
                            .putUnsignedShort(DimseCommand.COMMAND_DATA_SET_TYPE, DimseCommand.NO_DATA_SET));
            for (int i = 0; i < 10_000; i++) {
                batch.write(echo);
            }
            byte[] bytes = batch.toByteArray();
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    while (true) { // until the buffers are full (the write blocks) or the server closes
                        out.write(bytes);
                        out.flush();
                    }
                } catch (IOException expected) {
                    // closed by the server, or by the test at the end
                }
            });
            assertEquals(1, open.size(), "the association is open");
            long deadline = System.currentTimeMillis() + 15_000;
            while (!open.isEmpty() && System.currentTimeMillis() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(
                    open.isEmpty(),
                    "the server still holds the association of a peer that has read nothing for "
                            + "seconds (idle timeout 1 s)");
            socket.close();
            writer.join(5_000);
        } finally {
            quick.close();
        }
    }

    /**
     * White-box: reads the server's set of open sockets (private field {@code openSockets}) while an association is
     * held, and checks TCP_NODELAY on the accepted socket itself. (StoreScu's socket is a local variable, so its
     * side cannot be checked without a seam in the product.)
     */
    @Test
    void everyAcceptedSocketHasTcpNoDelay() throws Exception {
        Field f = StoreScpServer.class.getDeclaredField("openSockets");
        f.setAccessible(true);
        @SuppressWarnings("unchecked")
        Set<Socket> open = (Set<Socket>) f.get(server);
        try (RawPeer a = new RawPeer(server.localPort());
                RawPeer b = new RawPeer(server.localPort())) {
            assertEquals(Pdu.ASSOCIATE_AC, a.associate(ALLOWED)[0]);
            assertEquals(Pdu.ASSOCIATE_AC, b.associate(ALLOWED)[0]);
            assertEquals(2, open.size(), "two associations held");
            for (Socket s : open) {
                assertTrue(s.getTcpNoDelay(), "TCP_NODELAY on the accepted socket from " + s.getRemoteSocketAddress());
                assertEquals(5_000, s.getSoTimeout(), "idle timeout applied");
            }
            a.finish();
            b.finish();
        }
    }

    // ------------------------------------------------------------------ DIMSE command sets

    @Test
    void storeRequestEncodesAndParsesBack() throws Exception {
        String oddUid = "1.2.840.10008.5.1.4.1.1.2"; // 25 characters: padded with one NUL
        String sop = "1.2.3.4.5.6.7.8.9.10"; // 20 characters: no padding
        byte[] bytes = DimseCommand.storeRequest(7, oddUid, sop).encode();
        DimseCommand parsed = DimseCommand.parse(bytes, bytes.length);
        assertEquals(oddUid, parsed.getString(DimseCommand.AFFECTED_SOP_CLASS_UID));
        assertEquals(sop, parsed.getString(DimseCommand.AFFECTED_SOP_INSTANCE_UID));
        assertEquals(DimseCommand.C_STORE_RQ, parsed.getUnsignedShort(DimseCommand.COMMAND_FIELD, -1));
        assertEquals(7, parsed.getUnsignedShort(DimseCommand.MESSAGE_ID, -1));
        assertEquals(0, parsed.getUnsignedShort(DimseCommand.COMMAND_DATA_SET_TYPE, -1), "a data set follows");
        assertEquals(-1, parsed.getUnsignedShort(DimseCommand.STATUS, -1));
        assertNull(parsed.getString(DimseCommand.ERROR_COMMENT));

        // Implicit VR little endian, group length first and correct, every value of even length.
        assertEquals(0, bytes[0] | bytes[1] | bytes[2] | bytes[3], "(0000,0000) first");
        int groupLength =
                (bytes[8] & 0xff) | (bytes[9] & 0xff) << 8 | (bytes[10] & 0xff) << 16 | (bytes[11] & 0xff) << 24;
        assertEquals(bytes.length - 12, groupLength);
        int pos = 12;
        int lastElement = -1;
        while (pos < bytes.length) {
            int element = (bytes[pos + 2] & 0xff) | (bytes[pos + 3] & 0xff) << 8;
            int len = (bytes[pos + 4] & 0xff) | (bytes[pos + 5] & 0xff) << 8;
            assertEquals(0, len % 2, "element (0000," + Integer.toHexString(element) + ") has even length");
            assertTrue(element > lastElement, "elements in ascending tag order");
            if (element == DimseCommand.AFFECTED_SOP_CLASS_UID) {
                assertEquals(26, len);
                assertEquals(0, bytes[pos + 8 + 25], "UID padded with NUL");
            }
            lastElement = element;
            pos += 8 + len;
        }
        assertEquals(bytes.length, pos);
    }

    @Test
    void storeResponseCarriesStatusAndAShortPrintableComment() throws Exception {
        DimseCommand rq = DimseCommand.storeRequest(42, "1.2.840.10008.5.1.4.1.1.2", "1.2.3");
        String comment =
                "cannot parse data set: unexpected end of file at offset 123456 \u0000\u00e9 and then more text";
        byte[] bytes = DimseCommand.storeResponse(rq, DicomStatus.CANNOT_UNDERSTAND, comment)
                .encode();
        DimseCommand rsp = DimseCommand.parse(bytes, bytes.length);
        assertEquals(DimseCommand.C_STORE_RSP, rsp.getUnsignedShort(DimseCommand.COMMAND_FIELD, -1));
        assertEquals(42, rsp.getUnsignedShort(DimseCommand.MESSAGE_ID_BEING_RESPONDED_TO, -1));
        assertEquals(DicomStatus.CANNOT_UNDERSTAND, rsp.getUnsignedShort(DimseCommand.STATUS, -1));
        assertEquals(DimseCommand.NO_DATA_SET, rsp.getUnsignedShort(DimseCommand.COMMAND_DATA_SET_TYPE, -1));
        assertEquals("1.2.3", rsp.getString(DimseCommand.AFFECTED_SOP_INSTANCE_UID));
        String sent = rsp.getString(DimseCommand.ERROR_COMMENT);
        assertTrue(sent.length() <= 64, "ErrorComment is LO: at most 64 characters, got " + sent.length());
        assertTrue(sent.chars().allMatch(c -> c >= 0x20 && c <= 0x7e), "printable ASCII only: " + sent);
        assertEquals(comment.substring(0, 64).replaceAll("[^\\x20-\\x7e]", "?").strip(), sent);

        DimseCommand success = DimseCommand.parse(
                DimseCommand.storeResponse(rq, DicomStatus.SUCCESS, null).encode(),
                DimseCommand.storeResponse(rq, DicomStatus.SUCCESS, null).encode().length);
        assertNull(success.getString(DimseCommand.ERROR_COMMENT), "no comment on success");
    }

    @Test
    void echoResponseAnswersTheRequest() throws Exception {
        DimseCommand rq = new DimseCommand()
                .putString(DimseCommand.AFFECTED_SOP_CLASS_UID, "1.2.840.10008.1.1", true)
                .putUnsignedShort(DimseCommand.COMMAND_FIELD, DimseCommand.C_ECHO_RQ)
                .putUnsignedShort(DimseCommand.MESSAGE_ID, 0xFFFF)
                .putUnsignedShort(DimseCommand.COMMAND_DATA_SET_TYPE, DimseCommand.NO_DATA_SET);
        byte[] bytes = DimseCommand.echoResponse(DimseCommand.parse(rq.encode(), rq.encode().length))
                .encode();
        DimseCommand rsp = DimseCommand.parse(bytes, bytes.length);
        assertEquals(DimseCommand.C_ECHO_RSP, rsp.getUnsignedShort(DimseCommand.COMMAND_FIELD, -1));
        assertEquals(0xFFFF, rsp.getUnsignedShort(DimseCommand.MESSAGE_ID_BEING_RESPONDED_TO, -1), "unsigned 16 bit");
        assertEquals(DicomStatus.SUCCESS, rsp.getUnsignedShort(DimseCommand.STATUS, -1));
        assertEquals("1.2.840.10008.1.1", rsp.getString(DimseCommand.AFFECTED_SOP_CLASS_UID));
    }

    @Test
    void malformedCommandSetsAreProtocolErrors() throws Exception {
        byte[] good = DimseCommand.storeRequest(1, "1.2.3", "1.2.3.4").encode();
        byte[] wrongGroup = good.clone();
        wrongGroup[12] = 8; // second element claims group 0008
        assertThrows(DicomProtocolException.class, () -> DimseCommand.parse(wrongGroup, wrongGroup.length));
        assertThrows(DicomProtocolException.class, () -> DimseCommand.parse(good, good.length - 1), "truncated value");
        byte[] negative = {0, 0, 0, 9, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};
        assertThrows(DicomProtocolException.class, () -> DimseCommand.parse(negative, negative.length));
    }

    /**
     * An element length close to 2^31 overflows {@code pos + 8 + len} in DimseCommand.parse, passes the bounds
     * check, and the parser allocates a {@code new byte[len]} of up to 2 GiB before failing: a peer that may
     * associate can make the gateway allocate (or fail with OutOfMemoryError) at will.
     */
    @Test
    void hugeElementLengthIsAProtocolErrorNotAnAllocation() {
        byte[] evil = {0, 0, 0, 9, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f};
        try {
            assertThrows(DicomProtocolException.class, () -> DimseCommand.parse(evil, evil.length));
        } catch (OutOfMemoryError e) { // JUnit rethrows OOM as unrecoverable and the fork dies: report it instead
            Assertions.fail("DimseCommand.parse tried to allocate the claimed length: " + e);
        }
    }

    // ------------------------------------------------------------------ Part-10 meta header

    @Test
    void part10HeaderReadsBackWithOddLengthUidsPadded() throws Exception {
        String sopClass = "1.2.840.10008.5.1.4.1.1.2"; // 25: odd
        String sop = "1.2.826.0.1.3680043.8.498.1"; // 27: odd
        String ts = "1.2.840.10008.1.2"; // 17: odd
        for (String ae : new String[] {"OK_AE", "EVEN", null}) {
            byte[] header = Part10.header(sopClass, sop, ts, ae);
            byte[] dataSet = {8, 0, 0x16, 0, 'U', 'I', 6, 0, '1', '.', '2', '.', '3', 0};
            byte[] file = concat(header, dataSet);
            Part10.Meta meta = Part10.readMeta(new ByteArrayInputStream(file));
            assertEquals(sopClass, meta.sopClassUid());
            assertEquals(sop, meta.sopInstanceUid());
            assertEquals(ts, meta.transferSyntaxUid());
            assertEquals(header.length, meta.dataSetOffset(), "the data set starts right after the meta group");

            assertEquals("DICM", new String(header, 128, 4, StandardCharsets.US_ASCII));
            assertEquals(0, header.length % 2);
            Map<Integer, byte[]> elements = metaElements(header);
            assertArrayEquals(bytesWithPad(sopClass, (byte) 0), elements.get(0x0002), "UI padded with NUL");
            assertArrayEquals(bytesWithPad(sop, (byte) 0), elements.get(0x0003));
            assertArrayEquals(bytesWithPad(ts, (byte) 0), elements.get(0x0010));
            if (ae == null) {
                assertFalse(elements.containsKey(0x0016), "no SourceApplicationEntityTitle without a source AE");
            } else {
                assertArrayEquals(bytesWithPad(ae, (byte) ' '), elements.get(0x0016), "AE padded with a space");
            }
            assertArrayEquals(new byte[] {0, 1}, elements.get(0x0001), "FileMetaInformationVersion 00\\01");
        }
    }

    @Test
    void readMetaRefusesWhatIsNotPart10() {
        byte[] noPrefix = new byte[200];
        IOException e = assertThrows(IOException.class, () -> Part10.readMeta(new ByteArrayInputStream(noPrefix)));
        assertTrue(e.getMessage().contains("DICM"), e.getMessage());
        byte[] truncated = Arrays.copyOf(Part10.header("1.2.3", "1.2.3.4", EXPLICIT_VR_LE, "AE"), 150);
        assertThrows(IOException.class, () -> Part10.readMeta(new ByteArrayInputStream(truncated)));
    }

    /** The synthetic files (written by PixelMed) and our header agree on where the data set starts. */
    @Test
    void readMetaFindsTheDataSetOfAToolkitWrittenFile() throws Exception {
        Path f = SyntheticCtSeries.write(tmp.resolve("one"), SyntheticCtSeries.Params.thick(16, 1))
                .get(0);
        Part10.Meta meta;
        try (InputStream in = Files.newInputStream(f)) {
            meta = Part10.readMeta(in);
        }
        byte[] all = Files.readAllBytes(f);
        // The first data set element is group 0008 (explicit VR little endian).
        assertEquals(8, all[(int) meta.dataSetOffset()]);
        assertEquals(0, all[(int) meta.dataSetOffset() + 1]);
        assertEquals(SyntheticCtSeries.Params.thick(16, 1).sopInstanceUid(1), meta.sopInstanceUid());
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    static byte[] bytesWithPad(String s, byte pad) {
        byte[] raw = s.getBytes(StandardCharsets.US_ASCII);
        if (raw.length % 2 == 0) {
            return raw;
        }
        byte[] padded = Arrays.copyOf(raw, raw.length + 1);
        padded[raw.length] = pad;
        return padded;
    }

    /** Element number -> raw value of the explicit-VR meta group after the preamble. */
    static Map<Integer, byte[]> metaElements(byte[] header) {
        Map<Integer, byte[]> out = new HashMap<>();
        int pos = 132;
        while (pos < header.length) {
            int element = (header[pos + 2] & 0xff) | (header[pos + 3] & 0xff) << 8;
            String vr = new String(header, pos + 4, 2, StandardCharsets.US_ASCII);
            int len;
            int valueAt;
            if (vr.equals("OB")) {
                len = (header[pos + 8] & 0xff) | (header[pos + 9] & 0xff) << 8;
                valueAt = pos + 12;
            } else {
                len = (header[pos + 6] & 0xff) | (header[pos + 7] & 0xff) << 8;
                valueAt = pos + 8;
            }
            out.put(element, Arrays.copyOfRange(header, valueAt, valueAt + len));
            pos = valueAt + len;
        }
        return out;
    }
}
