package org.meddiff.gateway.campaign;

import static org.meddiff.gateway.campaign.HostileBytes.ABORT;
import static org.meddiff.gateway.campaign.HostileBytes.ASSOCIATE_AC;
import static org.meddiff.gateway.campaign.HostileBytes.ASSOCIATE_RJ;
import static org.meddiff.gateway.campaign.HostileBytes.ASSOCIATE_RQ;
import static org.meddiff.gateway.campaign.HostileBytes.CT_IMAGE_STORAGE;
import static org.meddiff.gateway.campaign.HostileBytes.EXPLICIT_LE;
import static org.meddiff.gateway.campaign.HostileBytes.IMPLICIT_LE;
import static org.meddiff.gateway.campaign.HostileBytes.MR_IMAGE_STORAGE;
import static org.meddiff.gateway.campaign.HostileBytes.PC_CT_EXPLICIT;
import static org.meddiff.gateway.campaign.HostileBytes.PC_CT_IMPLICIT;
import static org.meddiff.gateway.campaign.HostileBytes.PC_ECHO;
import static org.meddiff.gateway.campaign.HostileBytes.PC_JPEG_REFUSED;
import static org.meddiff.gateway.campaign.HostileBytes.PC_MR_REFUSED;
import static org.meddiff.gateway.campaign.HostileBytes.P_DATA_TF;
import static org.meddiff.gateway.campaign.HostileBytes.RELEASE_RP;
import static org.meddiff.gateway.campaign.HostileBytes.VERIFICATION;
import static org.meddiff.gateway.campaign.HostileBytes.pData;
import static org.meddiff.gateway.campaign.HostileBytes.pdu;
import static org.meddiff.gateway.campaign.HostileBytes.pdv;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.meddiff.gateway.campaign.FuzzCase.Expect;
import org.meddiff.gateway.campaign.FuzzCase.StoreAttempt;
import org.meddiff.gateway.campaign.HostileBytes.Bytes;
import org.meddiff.gateway.campaign.HostileBytes.Command;
import org.meddiff.gateway.campaign.HostileBytes.DataSet;
import org.meddiff.gateway.campaign.RawPeer.Answer;

/**
 * What each category does on its connection(s), and what it requires of the answers. Every case ends by
 * waiting for the gateway to close the connection ({@link FuzzTarget#endWithinMillis()}): a gateway that
 * keeps waiting on a peer with nothing more to say is a hang.
 */
final class FuzzCases {
    /** The maximum PDV value the campaign sends per PDU (well under the gateway's 1 MiB). */
    static final int FRAGMENT = 16 * 1024;

    private FuzzCases() {}

    static void run(FuzzCase c) throws IOException {
        switch (c.category) {
            case GARBAGE -> garbage(c);
            case ASSOCIATE_RQ -> associateRq(c);
            case PDV_LENGTH -> pdvLength(c);
            case DATA_BEFORE_COMMAND -> dataBeforeCommand(c);
            case UNKNOWN_CONTEXT -> unknownContext(c);
            case COMMAND_SET -> commandSet(c);
            case DATA_SET -> dataSet(c);
            case NESTED_SEQUENCES -> nestedSequences(c);
            case UID_ESCAPE -> uidEscape(c);
            case SHORT_PIXEL_DATA -> shortPixelData(c);
            case ABORT_MID_DATA -> abortMidData(c);
            case IDLE -> idle(c);
            case FLOOD -> flood(c);
            case VALID -> valid(c);
        }
    }

    // ================================================================== building blocks

    /** A small CT image data set of the case's own UIDs; fields may be changed before {@link #encode()}. */
    static final class Ct {
        boolean explicit = true;
        String sopClass = CT_IMAGE_STORAGE;
        byte[] sop;
        byte[] study;
        byte[] series;
        int rows = 16;
        int columns = 16;
        int bitsAllocated = 16;
        int samples = 1;
        String frames;
        /** Bytes of pixel data; -1: exactly what the image needs. */
        long pixelBytes = -1;

        boolean pixelData = true;
        byte[] nested;
        final Random random;

        Ct(FuzzCase c, int k) {
            random = c.random;
            study = ascii(c.uidRoot() + ".1");
            series = ascii(c.uidRoot() + ".2");
            sop = ascii(c.uidRoot() + ".3." + k);
        }

        String sopUid() {
            return new String(sop, StandardCharsets.ISO_8859_1);
        }

        DataSet encode() {
            DataSet d = new DataSet(explicit);
            d.string(0x0008, 0x0016, "UI", sopClass);
            d.rawUid(0x0008, 0x0018, pad(sop));
            d.string(0x0008, 0x0060, "CS", "CT");
            d.string(0x0008, 0x103E, "LO", "fuzz campaign");
            if (nested != null) {
                d.encoded(nested);
            }
            d.string(0x0010, 0x0010, "PN", "Fuzz^Case");
            d.string(0x0010, 0x0020, "LO", "FZ");
            d.rawUid(0x0020, 0x000D, pad(study));
            d.rawUid(0x0020, 0x000E, pad(series));
            d.string(0x0020, 0x0013, "IS", "1");
            d.us(0x0028, 0x0002, samples);
            d.string(0x0028, 0x0004, "CS", "MONOCHROME2");
            if (frames != null) {
                d.string(0x0028, 0x0008, "IS", frames);
            }
            d.us(0x0028, 0x0010, rows);
            d.us(0x0028, 0x0011, columns);
            d.us(0x0028, 0x0100, bitsAllocated);
            d.us(0x0028, 0x0101, Math.min(bitsAllocated, 16));
            d.us(0x0028, 0x0102, Math.max(0, Math.min(bitsAllocated, 16) - 1));
            d.us(0x0028, 0x0103, 0);
            if (pixelData) {
                long n = pixelBytes >= 0 ? pixelBytes : (long) rows * columns * samples * bitsAllocated / 8;
                byte[] pixels = new byte[(int) (n + (n % 2))];
                random.nextBytes(pixels);
                d.element(0x7FE0, 0x0010, "OW", pixels);
            }
            return d;
        }

        /** UI values are padded to even length with a NUL, hostile ones included (as a sender would). */
        private static byte[] pad(byte[] v) {
            return v.length % 2 == 0 ? v : Arrays.copyOf(v, v.length + 1);
        }
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** A-ASSOCIATE-RQ with the standard contexts; requires A-ASSOCIATE-AC. */
    static boolean associate(FuzzCase c, RawPeer p) {
        p.send(HostileBytes.associateRq(c.target.calledAe(), "FUZZER", HostileBytes.standardContexts()));
        Answer a = p.next(10_000);
        c.saw(a);
        c.expect(a.is(ASSOCIATE_AC), "a well-formed A-ASSOCIATE-RQ was answered " + a.label() + ", not A-ASSOCIATE-AC");
        return a.is(ASSOCIATE_AC);
    }

    /** Sends command + data set on {@code pc}; records the attempt; returns the answer that came. */
    static Answer store(FuzzCase c, RawPeer p, int pc, byte[] command, byte[] dataSet, StoreAttempt attempt) {
        Bytes b = new Bytes().raw(pData(pdv(pc, true, true, command)));
        b.raw(HostileBytes.fragmented(pc, false, dataSet, FRAGMENT));
        p.send(b.toArray());
        Answer a = p.next(30_000);
        c.saw(a);
        if (attempt != null) {
            c.stores.add(attempt);
            if (a.is(P_DATA_TF) && a.commandField() == HostileBytes.C_STORE_RSP) {
                attempt.status = a.status();
            }
        }
        return a;
    }

    /** The usual C-STORE of a Ct on the explicit (or implicit) CT context, with the expectation given. */
    static Answer store(FuzzCase c, RawPeer p, Ct ct, Expect expect) {
        DataSet d = ct.encode();
        byte[] bytes = d.toArray();
        String[] uids = TopLevel.uids(bytes, ct.explicit);
        StoreAttempt attempt = new StoreAttempt(
                c.index, ct.sopUid(), uids == null ? null : uids[1], uids == null ? null : uids[2], bytes, expect);
        int pc = ct.explicit ? PC_CT_EXPLICIT : PC_CT_IMPLICIT;
        Answer a = store(
                c,
                p,
                pc,
                HostileBytes.storeRq(c.nextMessageId(), ct.sopClass, ct.sopUid())
                        .encode(),
                bytes,
                attempt);
        requireStoreResponse(c, a, attempt);
        return a;
    }

    /** A data set that arrived in full must be answered with a C-STORE-RSP of the expected kind. */
    static void requireStoreResponse(FuzzCase c, Answer a, StoreAttempt attempt) {
        if (!(a.is(P_DATA_TF) && a.commandField() == HostileBytes.C_STORE_RSP)) {
            c.fail("a complete C-STORE was answered " + a.label() + " instead of a C-STORE-RSP");
            return;
        }
        if (attempt.expect == Expect.SUCCESS) {
            c.expect(a.status() == 0, String.format("a valid instance was refused with 0x%04X", a.status()));
        } else if (attempt.expect == Expect.REFUSAL) {
            c.expect(a.status() != 0, "an invalid data set was answered Success");
        }
    }

    /** Release: A-RELEASE-RQ must get A-RELEASE-RP, then the gateway closes. */
    static void release(FuzzCase c, RawPeer p) {
        p.send(HostileBytes.releaseRq());
        Answer a = p.next(10_000);
        c.saw(a);
        c.expect(a.is(RELEASE_RP), "A-RELEASE-RQ was answered " + a.label());
        ends(c, p);
    }

    /** The gateway must end the connection (close or reset) soon after the peer has nothing more to say. */
    static List<Answer> ends(FuzzCase c, RawPeer p) {
        List<Answer> seen = p.finish(c.target.endWithinMillis());
        c.saw(seen);
        for (Answer a : seen) {
            if (a.is(P_DATA_TF) && a.commandField() == HostileBytes.C_STORE_RSP) {
                c.answerPendingStore(
                        a.status()); // an answer the case did not wait for still says what became of the data
            }
        }
        Answer last = seen.get(seen.size() - 1);
        c.expect(last.ended(), "the gateway did not end the connection within " + c.target.endWithinMillis() + " ms");
        return seen;
    }

    /** A protocol violation: the gateway must answer A-ABORT (and then close). */
    static void requireAbort(FuzzCase c, RawPeer p, String violation) {
        List<Answer> seen = ends(c, p);
        boolean aborted = seen.stream().anyMatch(a -> a.is(ABORT));
        c.expect(aborted, violation + ": expected A-ABORT, got " + labels(seen));
        if (aborted) {
            c.abortedPorts.add(p.localPort());
        }
    }

    static String labels(List<Answer> seen) {
        return String.join(", ", seen.stream().map(Answer::label).toList());
    }

    static <T> T pick(Random r, List<T> options) {
        return options.get(r.nextInt(options.size()));
    }

    // ================================================================== GARBAGE

    static void garbage(FuzzCase c) throws IOException {
        RawPeer p = c.connect();
        Random r = c.random;
        byte[] bytes;
        switch (r.nextInt(6)) {
            case 0 -> {
                c.variant = "random bytes";
                bytes = new byte[1 + r.nextInt(4096)];
                r.nextBytes(bytes);
            }
            case 1 -> {
                c.variant = "HTTP request";
                bytes = ascii("GET /q/health HTTP/1.1\r\nHost: gateway\r\n\r\n");
            }
            case 2 -> {
                c.variant = "TLS ClientHello on the plain port";
                bytes = new Bytes()
                        .u8(0x16)
                        .u8(3)
                        .u8(1)
                        .u16be(512)
                        .raw(new byte[512])
                        .toArray();
            }
            case 3 -> {
                c.variant = "unknown PDU type";
                int type = pick(r, List.of(0x00, 0x08, 0x09, 0x7F, 0x80, 0xFF));
                byte[] body = new byte[r.nextInt(200)];
                r.nextBytes(body);
                bytes = pdu(type, body);
            }
            case 4 -> {
                c.variant = "P-DATA, release or abort before any association";
                int type = pick(r, List.of(P_DATA_TF, HostileBytes.RELEASE_RQ, RELEASE_RP, ASSOCIATE_AC, ASSOCIATE_RJ));
                bytes = pdu(type, new byte[] {0, 0, 0, 8, 1, 3, 0, 0, 0, 0, 0, 0});
            }
            default -> {
                c.variant = "zeros or 0xFF";
                bytes = new byte[6 + r.nextInt(1000)];
                Arrays.fill(bytes, r.nextBoolean() ? 0 : (byte) 0xFF);
            }
        }
        p.send(bytes);
        // six bytes make a PDU header: anything but an A-ASSOCIATE-RQ there is a protocol error worth an A-ABORT
        // (an A-ABORT as the first PDU needs no answer; an RQ header with a random body may get any answer)
        int first = bytes[0] & 0xff;
        boolean abortDue = bytes.length >= 6 && first != ASSOCIATE_RQ && first != HostileBytes.ABORT;
        if (abortDue) {
            requireAbort(c, p, c.variant);
        } else {
            ends(c, p);
        }
    }

    // ================================================================== ASSOCIATE_RQ

    static void associateRq(FuzzCase c) throws IOException {
        Random r = c.random;
        RawPeer p = c.connect();
        String called = c.target.calledAe();
        byte[] valid = HostileBytes.associateRq(called, "FUZZER", HostileBytes.standardContexts());
        byte[] validBody = Arrays.copyOfRange(valid, 6, valid.length);
        switch (r.nextInt(12)) {
            case 0 -> {
                c.variant = "PDU length longer than the body";
                p.send(HostileBytes.pduClaiming(ASSOCIATE_RQ, validBody.length + 1 + r.nextInt(100_000), validBody));
                requireAbort(c, p, c.variant);
            }
            case 1 -> {
                c.variant = "PDU length shorter than the body";
                int claimed = 68 + r.nextInt(validBody.length - 68);
                p.send(HostileBytes.pduClaiming(ASSOCIATE_RQ, claimed, validBody));
                // the request may parse; the rest of the body then arrives as a (broken) next PDU: any answer, then the
                // end
                Answer a = p.next(10_000);
                c.saw(a);
                c.expect(
                        a.is(ASSOCIATE_AC) || a.is(ASSOCIATE_RJ) || a.is(ABORT), c.variant + ": answered " + a.label());
                ends(c, p);
            }
            case 2 -> {
                c.variant = "truncated A-ASSOCIATE-RQ";
                int cut = 1 + r.nextInt(valid.length - 1);
                p.send(Arrays.copyOf(valid, cut));
                if (cut >= 6) {
                    requireAbort(c, p, c.variant + " (" + cut + " of " + valid.length + " bytes)");
                } else {
                    ends(c, p);
                }
            }
            case 3 -> {
                c.variant = "PDU length out of range (> 16 MiB or >= 2^31)";
                long claimed = pick(r, List.of(0xFFFFFFFFL, 0x80000000L, 0x7FFFFFFFL, (16L << 20) + 1));
                p.send(HostileBytes.pduClaiming(ASSOCIATE_RQ, claimed, validBody));
                requireAbort(c, p, c.variant);
            }
            case 4 -> {
                c.variant = "item length overruns the PDU";
                List<byte[]> items = new ArrayList<>();
                items.add(HostileBytes.uidItem(0x10, HostileBytes.APPLICATION_CONTEXT));
                byte[] pc = HostileBytes.presentationContext(1, VERIFICATION, List.of(IMPLICIT_LE));
                items.add(HostileBytes.itemClaiming(
                        0x20, pc.length - 4 + 1 + r.nextInt(60_000), Arrays.copyOfRange(pc, 4, pc.length)));
                p.send(pdu(ASSOCIATE_RQ, HostileBytes.associateBody(called, "FUZZER", items)));
                requireAbort(c, p, c.variant);
            }
            case 5 -> oddCalledAe(c, p);
            case 6 -> oddCallingAe(c, p);
            case 7 -> manyPresentationContexts(c, p);
            case 8 -> {
                c.variant = "foreign application context";
                List<byte[]> items = List.of(
                        HostileBytes.uidItem(0x10, pick(r, List.of("1.2.3.4", "", "1.2.840.10008.3.1.1.1.9"))),
                        HostileBytes.presentationContext(1, VERIFICATION, List.of(IMPLICIT_LE)),
                        HostileBytes.userInformation(65536));
                p.send(pdu(ASSOCIATE_RQ, HostileBytes.associateBody(called, "FUZZER", items)));
                Answer a = p.next(10_000);
                c.saw(a);
                int[] rj = a.rejection();
                c.expect(
                        rj != null && rj[0] == 1 && rj[1] == 1 && rj[2] == 2,
                        "foreign application context answered " + a.label() + ", not A-ASSOCIATE-RJ 1/1/2");
                ends(c, p);
            }
            case 9 -> {
                c.variant = "bit flips in the A-ASSOCIATE-RQ body";
                byte[] body = validBody.clone();
                for (int i = 0, n = 1 + r.nextInt(6); i < n; i++) {
                    body[r.nextInt(body.length)] ^= (byte) (1 << r.nextInt(8));
                }
                p.send(pdu(ASSOCIATE_RQ, body));
                afterAnyAssociationAnswer(c, p);
            }
            case 10 -> {
                c.variant = "odd maximum PDU length (0, 1, 2^32-1) or none";
                List<byte[]> items = new ArrayList<>();
                items.add(HostileBytes.uidItem(0x10, HostileBytes.APPLICATION_CONTEXT));
                items.add(HostileBytes.presentationContext(1, VERIFICATION, List.of(IMPLICIT_LE)));
                int pick = r.nextInt(4);
                if (pick < 3) {
                    items.add(HostileBytes.userInformation(new long[] {0, 1, 0xFFFFFFFFL}[pick]));
                }
                p.send(pdu(ASSOCIATE_RQ, HostileBytes.associateBody(called, "FUZZER", items)));
                Answer a = p.next(10_000);
                c.saw(a);
                c.expect(a.is(ASSOCIATE_AC), c.variant + " answered " + a.label());
                if (a.is(ASSOCIATE_AC)) {
                    echoOn(c, p, PC_ECHO);
                    release(c, p);
                } else {
                    ends(c, p);
                }
            }
            default -> {
                c.variant = "no presentation context / context without transfer syntax";
                List<byte[]> items = new ArrayList<>();
                items.add(HostileBytes.uidItem(0x10, HostileBytes.APPLICATION_CONTEXT));
                if (r.nextBoolean()) {
                    items.add(HostileBytes.presentationContext(1, VERIFICATION, List.of()));
                }
                items.add(HostileBytes.userInformation(65536));
                p.send(pdu(ASSOCIATE_RQ, HostileBytes.associateBody(called, "FUZZER", items)));
                afterAnyAssociationAnswer(c, p);
            }
        }
    }

    /** Whatever the answer to a mangled request: if accepted, the association must still release cleanly. */
    static void afterAnyAssociationAnswer(FuzzCase c, RawPeer p) {
        Answer a = p.next(10_000);
        c.saw(a);
        if (a.is(ASSOCIATE_AC)) {
            release(c, p);
        } else {
            c.expect(
                    a.is(ASSOCIATE_RJ) || a.is(ABORT),
                    c.variant + ": answered " + a.label() + " (expected A-ASSOCIATE-AC, -RJ or A-ABORT)");
            if (a.is(ABORT)) {
                c.abortedPorts.add(p.localPort());
            }
            ends(c, p);
        }
    }

    static void oddCalledAe(FuzzCase c, RawPeer p) {
        Random r = c.random;
        byte[] ae;
        boolean ours;
        switch (r.nextInt(6)) {
            case 0 -> {
                c.variant = "called AE: random bytes";
                ae = new byte[16];
                r.nextBytes(ae);
                ours = false;
            }
            case 1 -> {
                c.variant = "called AE: empty (all spaces)";
                ae = new byte[0];
                ours = false;
            }
            case 2 -> {
                c.variant = "called AE: all NUL";
                ae = new byte[16];
                ours = false;
            }
            case 3 -> {
                c.variant = "called AE: lower case";
                ae = ascii(c.target.calledAe().toLowerCase());
                ours = false;
            }
            case 4 -> {
                c.variant = "called AE: ours with leading spaces";
                ae = ascii("   " + c.target.calledAe());
                ours = true;
            }
            default -> {
                c.variant = "called AE: ours followed by other characters";
                ae = ascii(c.target.calledAe() + "X\u00e9");
                ours = false;
            }
        }
        List<byte[]> items = List.of(
                HostileBytes.uidItem(0x10, HostileBytes.APPLICATION_CONTEXT),
                HostileBytes.presentationContext(1, VERIFICATION, List.of(IMPLICIT_LE)),
                HostileBytes.userInformation(65536));
        byte[] body = new Bytes()
                .raw(HostileBytes.associateFixedFields(HostileBytes.aeField(ae), HostileBytes.aeField("FUZZER")))
                .raw(items.get(0))
                .raw(items.get(1))
                .raw(items.get(2))
                .toArray();
        p.send(pdu(ASSOCIATE_RQ, body));
        Answer a = p.next(10_000);
        c.saw(a);
        if (ours) {
            c.expect(
                    a.is(ASSOCIATE_AC), c.variant + " answered " + a.label() + " (leading spaces are not significant)");
            if (a.is(ASSOCIATE_AC)) {
                echoOn(c, p, PC_ECHO);
                release(c, p);
                return;
            }
        } else {
            int[] rj = a.rejection();
            c.expect(
                    rj != null && rj[0] == 1 && rj[1] == 1 && rj[2] == 7,
                    c.variant + " answered " + a.label() + ", not A-ASSOCIATE-RJ 1/1/7 (called AE not recognised)");
        }
        ends(c, p);
    }

    static void oddCallingAe(FuzzCase c, RawPeer p) {
        Random r = c.random;
        byte[] ae = switch (r.nextInt(4)) {
            case 0 -> {
                byte[] b = new byte[16];
                r.nextBytes(b);
                yield b;
            }
            case 1 -> new byte[0];
            case 2 -> new byte[16];
            default -> ascii("%s%n%x'; DROP--");
        };
        c.variant = "odd calling AE title (random, empty, NUL, format string)";
        byte[] body = new Bytes()
                .raw(HostileBytes.associateFixedFields(
                        HostileBytes.aeField(c.target.calledAe()), HostileBytes.aeField(ae)))
                .raw(HostileBytes.uidItem(0x10, HostileBytes.APPLICATION_CONTEXT))
                .raw(HostileBytes.presentationContext(1, VERIFICATION, List.of(IMPLICIT_LE)))
                .raw(HostileBytes.userInformation(65536))
                .toArray();
        p.send(pdu(ASSOCIATE_RQ, body));
        Answer a = p.next(10_000);
        c.saw(a);
        // no allow-list is configured: any calling AE may associate, and must then be served normally
        c.expect(a.is(ASSOCIATE_AC), c.variant + " answered " + a.label());
        if (a.is(ASSOCIATE_AC)) {
            echoOn(c, p, PC_ECHO);
            release(c, p);
        } else {
            ends(c, p);
        }
    }

    /**
     * 128 contexts with the odd IDs 1..255 are the most PS3.8 allows; more (or a repeated ID) cannot be answered
     * unambiguously and must not be accepted. A huge count (tens of thousands of tiny items) probes the memory the
     * gateway spends on a request before it refuses it.
     */
    static void manyPresentationContexts(FuzzCase c, RawPeer p) {
        Random r = c.random;
        int count = pick(r, List.of(128, 128, 129, 200, 255, 256, 1000, 30_000));
        boolean repeatedId = count <= 128 && r.nextInt(4) == 0;
        c.variant = count + " presentation contexts" + (repeatedId ? " (one ID repeated)" : "");
        Bytes items = new Bytes().raw(HostileBytes.uidItem(0x10, HostileBytes.APPLICATION_CONTEXT));
        for (int i = 0; i < count; i++) {
            int id = (2 * i + 1) & 0xff;
            if (repeatedId && i == count - 1) {
                id = 1;
            }
            String as = i % 2 == 0 ? VERIFICATION : CT_IMAGE_STORAGE;
            items.raw(HostileBytes.presentationContext(id, as, List.of(i % 3 == 0 ? EXPLICIT_LE : IMPLICIT_LE)));
        }
        items.raw(HostileBytes.userInformation(65536));
        p.send(pdu(
                ASSOCIATE_RQ,
                new Bytes()
                        .raw(HostileBytes.associateFixedFields(
                                HostileBytes.aeField(c.target.calledAe()), HostileBytes.aeField("FUZZER")))
                        .raw(items.toArray())
                        .toArray()));
        Answer a = p.next(20_000);
        c.saw(a);
        if (count <= 128 && !repeatedId) {
            c.expect(a.is(ASSOCIATE_AC), c.variant + " answered " + a.label());
            if (a.is(ASSOCIATE_AC)) {
                c.expect(
                        countResults(a.body()) == count,
                        c.variant + ": A-ASSOCIATE-AC answers " + countResults(a.body()) + " contexts");
                echoOn(c, p, PC_ECHO);
                release(c, p);
                return;
            }
        } else {
            c.expect(
                    a.is(ASSOCIATE_RJ) || a.is(ABORT),
                    c.variant + " answered " + a.label()
                            + " (expected A-ASSOCIATE-RJ or A-ABORT: more than 128 contexts, or a repeated ID, is not a valid request)");
            if (a.is(ABORT)) {
                c.abortedPorts.add(p.localPort());
            }
            if (a.is(ASSOCIATE_AC)) {
                release(c, p);
                return;
            }
        }
        ends(c, p);
    }

    static int countResults(byte[] acBody) {
        int n = 0;
        int pos = 68;
        while (pos + 4 <= acBody.length) {
            if ((acBody[pos] & 0xff) == 0x21) {
                n++;
            }
            pos += 4 + HostileBytes.u16be(acBody, pos + 2);
        }
        return n;
    }

    /** C-ECHO on {@code pc}: must be answered Success. */
    static void echoOn(FuzzCase c, RawPeer p, int pc) {
        p.send(pData(pdv(pc, true, true, HostileBytes.echoRq(c.nextMessageId()).encode())));
        Answer a = p.next(10_000);
        c.saw(a);
        c.expect(
                a.is(P_DATA_TF) && a.commandField() == HostileBytes.C_ECHO_RSP && a.status() == 0,
                "C-ECHO answered " + a.label());
    }

    // ================================================================== PDV_LENGTH

    static void pdvLength(FuzzCase c) throws IOException {
        Random r = c.random;
        RawPeer p = c.connect();
        if (!associate(c, p)) {
            ends(c, p);
            return;
        }
        byte[] echo = HostileBytes.echoRq(1).encode();
        switch (r.nextInt(7)) {
            case 0 -> {
                c.variant = "PDV length beyond its PDU";
                long claimed =
                        pick(r, List.of(echo.length + 3L, echo.length + 1000L, 0x7FFFFFFFL, 0xFFFFFFFFL, 0x80000000L));
                p.send(pdu(P_DATA_TF, HostileBytes.pdvClaiming(claimed, PC_ECHO, 3, echo)));
            }
            case 1 -> {
                c.variant = "PDV length 0 or 1";
                p.send(pdu(P_DATA_TF, HostileBytes.pdvClaiming(r.nextInt(2), PC_ECHO, 3, echo)));
            }
            case 2 -> {
                c.variant = "empty command PDV";
                p.send(pData(pdv(PC_ECHO, true, true, new byte[0])));
            }
            case 3 -> {
                c.variant = "P-DATA PDU length longer than sent";
                byte[] body = pdv(PC_ECHO, true, true, echo);
                p.send(HostileBytes.pduClaiming(P_DATA_TF, body.length + 1 + r.nextInt(1 << 20), body));
            }
            case 4 -> {
                c.variant = "P-DATA PDU length out of range";
                p.send(HostileBytes.pduClaiming(
                        P_DATA_TF,
                        pick(r, List.of(0xFFFFFFFFL, (16L << 20) + 1, 0x80000000L)),
                        pdv(PC_ECHO, true, true, echo)));
            }
            case 5 -> {
                c.variant = "second PDV overruns the PDU";
                byte[] first = pdv(PC_ECHO, true, false, Arrays.copyOf(echo, 10));
                byte[] second = HostileBytes.pdvClaiming(
                        echo.length * 4L, PC_ECHO, 3, Arrays.copyOfRange(echo, 10, echo.length));
                p.send(pdu(P_DATA_TF, new Bytes().raw(first).raw(second).toArray()));
            }
            default -> {
                c.variant = "PDV header cut by the PDU end";
                p.send(pdu(
                        P_DATA_TF,
                        new Bytes()
                                .raw(pdv(PC_ECHO, true, false, Arrays.copyOf(echo, 12)))
                                .raw(new byte[] {0, 0, 0, 0x40, 1, 3, 0, 0})
                                .toArray()));
            }
        }
        requireAbort(c, p, c.variant);
    }

    // ================================================================== DATA_BEFORE_COMMAND

    static void dataBeforeCommand(FuzzCase c) throws IOException {
        Random r = c.random;
        RawPeer p = c.connect();
        if (!associate(c, p)) {
            ends(c, p);
            return;
        }
        Ct ct = new Ct(c, 1);
        byte[] data = ct.encode().toArray();
        switch (r.nextInt(3)) {
            case 0 -> {
                c.variant = "data set without any command";
                p.send(HostileBytes.fragmented(PC_CT_EXPLICIT, false, data, FRAGMENT));
            }
            case 1 -> {
                c.variant = "data set, then its C-STORE-RQ";
                p.send(HostileBytes.fragmented(PC_CT_EXPLICIT, false, data, FRAGMENT));
                p.send(pData(pdv(
                        PC_CT_EXPLICIT,
                        true,
                        true,
                        HostileBytes.storeRq(1, CT_IMAGE_STORAGE, ct.sopUid()).encode())));
            }
            default -> {
                c.variant = "data after a C-ECHO-RQ";
                p.send(pData(pdv(PC_ECHO, true, true, HostileBytes.echoRq(1).encode())));
                p.send(pData(pdv(PC_ECHO, false, true, data)));
            }
        }
        c.stores.add(new StoreAttempt(c.index, ct.sopUid(), null, null, data, Expect.REFUSAL));
        requireAbort(c, p, c.variant);
    }

    // ================================================================== UNKNOWN_CONTEXT

    static void unknownContext(FuzzCase c) throws IOException {
        Random r = c.random;
        RawPeer p = c.connect();
        if (!associate(c, p)) {
            ends(c, p);
            return;
        }
        Ct ct = new Ct(c, 1);
        byte[] data = ct.encode().toArray();
        byte[] command = HostileBytes.storeRq(1, CT_IMAGE_STORAGE, ct.sopUid()).encode();
        StoreAttempt attempt = new StoreAttempt(c.index, ct.sopUid(), null, null, data, Expect.REFUSAL);
        c.stores.add(attempt);
        switch (r.nextInt(5)) {
            case 0 -> {
                int pc = pick(r, List.of(0, 2, 11, 13, 255));
                c.variant = "command on a context never proposed";
                p.send(pData(pdv(pc, true, true, command)));
                p.send(HostileBytes.fragmented(pc, false, data, FRAGMENT));
                requireAbort(c, p, c.variant + " (" + pc + ")");
            }
            case 1 -> {
                int pc = r.nextBoolean() ? PC_MR_REFUSED : PC_JPEG_REFUSED;
                c.variant = "command on a refused context";
                p.send(pData(pdv(pc, true, true, command)));
                p.send(HostileBytes.fragmented(pc, false, data, FRAGMENT));
                requireAbort(c, p, c.variant + " (" + pc + ")");
            }
            case 2 -> {
                int pc = pick(r, List.of(11, 0, 255, PC_MR_REFUSED));
                c.variant = "data set on another context than its command (unknown or refused)";
                p.send(pData(pdv(PC_CT_EXPLICIT, true, true, command)));
                p.send(HostileBytes.fragmented(pc, false, data, FRAGMENT));
                requireAbort(c, p, c.variant + " (command on " + PC_CT_EXPLICIT + ", data on " + pc + ")");
            }
            case 3 -> {
                c.variant = "data set on another accepted context than its command";
                p.send(pData(pdv(PC_CT_IMPLICIT, true, true, command)));
                p.send(HostileBytes.fragmented(PC_CT_EXPLICIT, false, data, FRAGMENT));
                requireAbort(c, p, c.variant + " (command on " + PC_CT_IMPLICIT + ", data on " + PC_CT_EXPLICIT + ")");
            }
            default -> {
                c.variant = "C-STORE on the Verification context";
                Answer a = store(c, p, PC_ECHO, command, data, null);
                if (a.is(P_DATA_TF) && a.commandField() == HostileBytes.C_STORE_RSP) {
                    attempt.status = a.status();
                    c.expect(a.status() != 0, "a CT instance sent on the Verification context was stored");
                    release(c, p);
                } else {
                    c.expect(a.is(ABORT), c.variant + ": answered " + a.label() + " (expected a refusal or A-ABORT)");
                    ends(c, p);
                }
            }
        }
    }

    // ================================================================== COMMAND_SET

    static void commandSet(FuzzCase c) throws IOException {
        Random r = c.random;
        RawPeer p = c.connect();
        if (!associate(c, p)) {
            ends(c, p);
            return;
        }
        Ct ct = new Ct(c, 1);
        switch (r.nextInt(11)) {
            case 0 -> {
                int field = pick(r, List.of(0x0020, 0x0021, 0x0010, 0x0FFF, 0xFFFF, 0x8001, 0x0120, 0x0150));
                c.variant = "unsupported or response command field";
                p.send(pData(pdv(
                        PC_ECHO,
                        true,
                        true,
                        new Command()
                                .ui(0x0002, VERIFICATION)
                                .us(0x0100, field)
                                .us(0x0110, 1)
                                .us(0x0800, HostileBytes.NO_DATA_SET)
                                .encode())));
                requireAbort(c, p, c.variant + String.format(" 0x%04X", field));
            }
            case 1 -> {
                c.variant = "no command field";
                p.send(pData(pdv(
                        PC_ECHO,
                        true,
                        true,
                        new Command().ui(0x0002, VERIFICATION).us(0x0110, 1).encode())));
                requireAbort(c, p, c.variant);
            }
            case 2 -> {
                c.variant = "element of another group in the command set";
                Command cmd = HostileBytes.echoRq(1)
                        .rawClaiming(pick(r, List.of(0x0008, 0x0002, 0xFFFE)), 0x0010, 2, new byte[2]);
                p.send(pData(pdv(PC_ECHO, true, true, cmd.encode())));
                requireAbort(c, p, c.variant);
            }
            case 3 -> {
                c.variant = "command element length bomb";
                long claimed = pick(r, List.of(0xFFFFFFFFL, 0x7FFFFFFFL, 0x7FFFFFF8L, 0x10000000L, 1000L));
                Command cmd = HostileBytes.echoRq(1).rawClaiming(0x0000, 0x0902, claimed, ascii("bomb"));
                p.send(pData(pdv(PC_ECHO, true, true, cmd.encode())));
                requireAbort(c, p, c.variant + " (" + claimed + ")");
            }
            case 4 -> commandFragmentBomb(c, p);
            case 5 -> {
                c.variant = "C-STORE-RQ without Affected SOP Instance UID";
                byte[] data = ct.encode().toArray();
                StoreAttempt attempt = new StoreAttempt(c.index, ct.sopUid(), null, null, data, Expect.REFUSAL);
                attempt.namedInCommand = false;
                Command cmd = new Command()
                        .ui(0x0002, CT_IMAGE_STORAGE)
                        .us(0x0100, HostileBytes.C_STORE_RQ)
                        .us(0x0110, 1)
                        .us(0x0800, 0);
                Answer a = store(c, p, PC_CT_EXPLICIT, cmd.encode(), data, attempt);
                requireStoreResponse(c, a, attempt);
                release(c, p);
            }
            case 6 -> {
                c.variant = "C-STORE-RQ naming another SOP class than its context";
                byte[] data = ct.encode().toArray();
                StoreAttempt attempt = new StoreAttempt(c.index, ct.sopUid(), null, null, data, Expect.REFUSAL);
                Answer a = store(
                        c,
                        p,
                        PC_CT_EXPLICIT,
                        HostileBytes.storeRq(1, MR_IMAGE_STORAGE, ct.sopUid()).encode(),
                        data,
                        attempt);
                requireStoreResponse(c, a, attempt);
                release(c, p);
            }
            case 7 -> {
                c.variant = "C-STORE-RQ saying no data set follows";
                StoreAttempt attempt = new StoreAttempt(c.index, ct.sopUid(), null, null, new byte[0], Expect.REFUSAL);
                c.stores.add(attempt);
                Command cmd = new Command()
                        .ui(0x0002, CT_IMAGE_STORAGE)
                        .us(0x0100, HostileBytes.C_STORE_RQ)
                        .us(0x0110, 1)
                        .us(0x0800, HostileBytes.NO_DATA_SET)
                        .ui(0x1000, ct.sopUid());
                p.send(pData(pdv(PC_CT_EXPLICIT, true, true, cmd.encode())));
                Answer a = p.next(10_000);
                c.saw(a);
                if (a.is(P_DATA_TF) && a.commandField() == HostileBytes.C_STORE_RSP) {
                    attempt.status = a.status();
                }
                requireStoreResponse(c, a, attempt);
                if (r.nextBoolean()) {
                    c.variant += ", then the data set anyway";
                    p.send(HostileBytes.fragmented(
                            PC_CT_EXPLICIT, false, ct.encode().toArray(), FRAGMENT));
                    requireAbort(c, p, c.variant);
                } else {
                    release(c, p);
                }
            }
            case 8 -> {
                c.variant = "C-STORE-RQ whose SOP Instance UID differs from the data set's";
                byte[] data = ct.encode().toArray();
                String other = c.uidRoot() + ".9";
                StoreAttempt attempt = new StoreAttempt(c.index, other, null, null, data, Expect.REFUSAL);
                Answer a = store(
                        c,
                        p,
                        PC_CT_EXPLICIT,
                        HostileBytes.storeRq(1, CT_IMAGE_STORAGE, other).encode(),
                        data,
                        attempt);
                requireStoreResponse(c, a, attempt);
                c.stores.add(new StoreAttempt(c.index, ct.sopUid(), null, null, data, Expect.REFUSAL));
                release(c, p);
            }
            case 9 -> {
                c.variant = "a second C-STORE-RQ while a data set is arriving";
                byte[] data = ct.encode().toArray();
                c.stores.add(new StoreAttempt(c.index, ct.sopUid(), null, null, data, Expect.REFUSAL));
                byte[] cmd =
                        HostileBytes.storeRq(1, CT_IMAGE_STORAGE, ct.sopUid()).encode();
                p.send(pData(pdv(PC_CT_EXPLICIT, true, true, cmd)));
                p.send(pData(pdv(PC_CT_EXPLICIT, false, false, Arrays.copyOf(data, data.length / 2))));
                p.send(pData(pdv(PC_CT_EXPLICIT, true, true, cmd)));
                requireAbort(c, p, c.variant);
            }
            default -> {
                c.variant = "random byte mutations of a C-ECHO-RQ";
                byte[] cmd = HostileBytes.echoRq(1).encode();
                for (int i = 0, n = 1 + r.nextInt(4); i < n; i++) {
                    cmd[r.nextInt(cmd.length)] = (byte) r.nextInt(256);
                }
                p.send(pData(pdv(PC_ECHO, true, true, cmd)));
                Answer a = p.next(10_000);
                c.saw(a);
                if (a.is(P_DATA_TF) && a.commandField() == HostileBytes.C_ECHO_RSP) {
                    release(c, p);
                } else {
                    c.expect(a.is(ABORT), c.variant + ": answered " + a.label() + " (expected C-ECHO-RSP or A-ABORT)");
                    if (a.is(ABORT)) {
                        c.abortedPorts.add(p.localPort());
                    }
                    ends(c, p);
                }
            }
        }
    }

    /**
     * A command set is a few hundred bytes; one that never ends (fragments without the last bit) must not be
     * buffered without limit. 4 MiB of fragments: the gateway must give up with A-ABORT before (or when) they end.
     */
    static void commandFragmentBomb(FuzzCase c, RawPeer p) {
        c.variant = "command fragments that never end (4 MiB without a last fragment)";
        byte[] chunk = new byte[64 * 1024 - 6];
        byte[] pduBytes = pData(pdv(PC_ECHO, true, false, chunk));
        for (int i = 0; i < 64 && p.send(pduBytes); i++) {
            // keeps sending until 4 MiB are out or the gateway closes
        }
        requireAbort(c, p, c.variant);
    }

    // ================================================================== DATA_SET

    static void dataSet(FuzzCase c) throws IOException {
        Random r = c.random;
        RawPeer p = c.connect();
        if (!associate(c, p)) {
            ends(c, p);
            return;
        }
        int instances = 1 + r.nextInt(3);
        for (int k = 1; k <= instances; k++) {
            Ct ct = new Ct(c, k);
            ct.explicit = r.nextInt(4) != 0;
            ct.rows = ct.columns = pick(r, List.of(8, 16, 32, 64));
            DataSet d = ct.encode();
            byte[] bytes = d.toArray();
            Expect expect;
            String what;
            switch (r.nextInt(5)) {
                case 0 -> {
                    int cut = r.nextInt(bytes.length);
                    expect = d.cutsInsideAnElement(cut) ? Expect.REFUSAL : Expect.ANY;
                    what = "truncated at byte " + cut + " of " + bytes.length
                            + (expect == Expect.REFUSAL ? " (inside an element)" : "");
                    bytes = Arrays.copyOf(bytes, cut);
                }
                case 1, 2 -> {
                    int flips = 1 + r.nextInt(8);
                    for (int i = 0; i < flips; i++) {
                        bytes[r.nextInt(bytes.length)] ^= (byte) (1 << r.nextInt(8));
                    }
                    expect = Expect.ANY;
                    what = flips + " bit flips";
                }
                case 3 -> {
                    bytes = new byte[r.nextInt(6000)];
                    r.nextBytes(bytes);
                    expect = Expect.REFUSAL;
                    what = "random bytes";
                }
                default -> {
                    expect = Expect.SUCCESS;
                    what = "intact (" + (ct.explicit ? "explicit" : "implicit") + " VR)";
                }
            }
            c.variant = k == 1 ? what : c.variant + "; " + what;
            String[] uids = TopLevel.uids(bytes, ct.explicit);
            StoreAttempt attempt = new StoreAttempt(
                    c.index, ct.sopUid(), uids == null ? null : uids[1], uids == null ? null : uids[2], bytes, expect);
            Answer a = store(
                    c,
                    p,
                    ct.explicit ? PC_CT_EXPLICIT : PC_CT_IMPLICIT,
                    HostileBytes.storeRq(c.nextMessageId(), CT_IMAGE_STORAGE, ct.sopUid())
                            .encode(),
                    bytes,
                    attempt);
            requireStoreResponse(c, a, attempt);
            if (!a.is(P_DATA_TF)) {
                ends(c, p);
                return;
            }
        }
        c.variant = instances + " instance(s): " + c.variant;
        release(c, p);
    }

    // ================================================================== NESTED_SEQUENCES

    static void nestedSequences(FuzzCase c) throws IOException {
        Random r = c.random;
        Ct ct = new Ct(c, 1);
        boolean undefined = r.nextBoolean();
        int depth = pick(r, List.of(2, 8, 20, 31, 40, 100, 1000, 5000, 20_000));
        boolean lie = r.nextInt(5) == 0;
        byte[] inner = new Bytes()
                .u16le(0x0008)
                .u16le(0x0100)
                .raw(ascii("SH"))
                .u16le(4)
                .raw(ascii("FUZZ"))
                .toArray();
        byte[] nested = HostileBytes.nestedSequences(0x0008, 0x1140, inner, depth, undefined);
        if (lie) {
            // the outermost sequence claims more than the data set holds
            nested[8] = (byte) 0xF0;
            nested[9] = (byte) 0xFF;
            nested[10] = (byte) 0xFF;
            nested[11] = 0x0F;
        }
        ct.nested = nested;
        c.variant = depth + " levels of " + (undefined ? "undefined" : "defined") + "-length sequences"
                + (lie ? ", lying length" : "");
        RawPeer p = c.connect();
        if (!associate(c, p)) {
            ends(c, p);
            return;
        }
        // 32 levels is the product's documented limit (a corrupt file, not a real CT); deeper must be refused
        Expect expect = lie || depth > 32 ? Expect.REFUSAL : Expect.ANY;
        store(c, p, ct, expect);
        release(c, p);
    }

    // ================================================================== UID_ESCAPE

    /** Hostile UID values; those with letters carry the case's marker, so a file named after them is found afterwards. */
    static List<byte[]> hostileUids(FuzzCase c) {
        String m = c.marker();
        StringBuilder digits65 = new StringBuilder("1.2");
        while (digits65.length() < 65) {
            digits65.append(".9");
        }
        StringBuilder digits300 = new StringBuilder("1");
        while (digits300.length() < 300) {
            digits300.append(".12345");
        }
        return List.of(
                ascii("../../" + m),
                ascii("../../../../../../../../tmp/" + m),
                ascii("/tmp/" + m),
                ascii("1.2/../../" + m),
                ascii("1.2.3/../../../" + m),
                ascii(".."),
                ascii("."),
                ascii(""),
                ascii("1.2.3\u0000/../../" + m),
                ascii("1.2.3\\..\\..\\" + m),
                ascii("1.2.3\\1.2.4"),
                ascii("1.2.3." + m),
                ascii("~/" + m),
                ascii("C:\\" + m),
                ascii("1.2.3%2F..%2F" + m),
                ascii("1.2.3\n../" + m),
                ascii(digits65.toString()),
                ascii(digits300.toString()),
                "1.2.\u00e9\u00ff.3".getBytes(StandardCharsets.ISO_8859_1),
                ascii("1..2"),
                ascii(".1.2.3"),
                ascii("1.2.3."));
    }

    static void uidEscape(FuzzCase c) throws IOException {
        Random r = c.random;
        RawPeer p = c.connect();
        if (!associate(c, p)) {
            ends(c, p);
            return;
        }
        List<byte[]> uids = hostileUids(c);
        int which = r.nextInt(uids.size());
        byte[] hostile = uids.get(which);
        Ct ct = new Ct(c, 1);
        int where = r.nextInt(4);
        switch (where) {
            case 0 -> ct.study = hostile;
            case 1 -> ct.series = hostile;
            case 2 -> ct.sop = hostile;
            default -> {
                ct.study = hostile;
                ct.series = hostile;
                ct.sop = hostile;
            }
        }
        String printable = new String(hostile, StandardCharsets.ISO_8859_1).replaceAll("[^\\x20-\\x7e]", "?");
        c.variant = new String[] {"Study", "Series", "SOP Instance", "every"}[where] + " UID #" + which + " '"
                + (printable.length() > 30 ? printable.substring(0, 30) + "..." : printable) + "'";
        byte[] data = ct.encode().toArray();
        String sop = ct.sopUid();
        StoreAttempt attempt = new StoreAttempt(c.index, sop, null, null, data, Expect.REFUSAL);
        Answer a = store(
                c,
                p,
                PC_CT_EXPLICIT,
                HostileBytes.storeRq(1, CT_IMAGE_STORAGE, sop).encode(),
                data,
                attempt);
        requireStoreResponse(c, a, attempt);
        if (a.is(P_DATA_TF)) {
            release(c, p);
        } else {
            ends(c, p);
        }
    }

    // ================================================================== SHORT_PIXEL_DATA

    static void shortPixelData(FuzzCase c) throws IOException {
        Random r = c.random;
        RawPeer p = c.connect();
        if (!associate(c, p)) {
            ends(c, p);
            return;
        }
        Ct ct = new Ct(c, 1);
        ct.rows = ct.columns = pick(r, List.of(16, 32, 64));
        long needed = (long) ct.rows * ct.columns * 2;
        Expect expect = Expect.REFUSAL;
        switch (r.nextInt(7)) {
            case 0 -> {
                ct.pixelBytes = 0;
                c.variant = "empty pixel data";
            }
            case 1 -> {
                ct.pixelBytes = r.nextInt((int) needed - 2);
                c.variant = "pixel data of " + ct.pixelBytes + " of " + needed + " bytes";
            }
            case 2 -> {
                ct.pixelBytes = needed - 2;
                c.variant = "pixel data one pixel short";
            }
            case 3 -> {
                ct.rows = ct.columns = 65535;
                ct.pixelBytes = 8192;
                c.variant = "65535 x 65535 image with 8 KiB of pixel data";
            }
            case 4 -> {
                ct.rows = ct.columns = 65535;
                ct.frames = pick(r, List.of("2147483647", "999999999", "65536"));
                ct.pixelBytes = 4096;
                c.variant = "65535 x 65535 x " + ct.frames + " frames with 4 KiB of pixel data (overflow)";
            }
            case 5 -> {
                ct.rows = ct.columns = 65535;
                ct.samples = 65535;
                ct.bitsAllocated = 65535;
                ct.frames = "2147483647";
                ct.pixelBytes = 4096;
                c.variant = "every image dimension at its maximum with 4 KiB of pixel data (overflow)";
            }
            default -> {
                ct.pixelData = false;
                c.variant = "image attributes without pixel data";
            }
        }
        store(c, p, ct, expect);
        release(c, p);
    }

    // ================================================================== ABORT_MID_DATA

    static void abortMidData(FuzzCase c) throws IOException {
        Random r = c.random;
        RawPeer p = c.connect();
        if (!associate(c, p)) {
            ends(c, p);
            return;
        }
        Ct ct = new Ct(c, 1);
        ct.rows = ct.columns = pick(r, List.of(32, 64, 128));
        byte[] data = ct.encode().toArray();
        byte[] command = pData(pdv(
                PC_CT_EXPLICIT,
                true,
                true,
                HostileBytes.storeRq(1, CT_IMAGE_STORAGE, ct.sopUid()).encode()));
        byte[] all = new Bytes()
                .raw(command)
                .raw(HostileBytes.fragmented(PC_CT_EXPLICIT, false, data, 4096))
                .toArray();
        // cut somewhere in the data set: between PDUs or inside one, never after the last byte
        int cut = command.length + r.nextInt(all.length - command.length - 1);
        byte[] trailer;
        switch (r.nextInt(5)) {
            case 0 -> {
                c.variant = "FIN mid data set";
                trailer = new byte[0];
            }
            case 1 -> {
                c.variant = "TCP reset mid data set";
                trailer = null;
            }
            case 2 -> {
                c.variant = "A-ABORT mid data set";
                trailer = HostileBytes.abortRq();
            }
            case 3 -> {
                c.variant = "A-RELEASE-RQ mid data set";
                trailer = HostileBytes.releaseRq();
            }
            default -> {
                c.variant = "A-ASSOCIATE-RQ mid data set";
                trailer = HostileBytes.associateRq(c.target.calledAe(), "FUZZER", HostileBytes.standardContexts());
            }
        }
        byte[] stream = new Bytes()
                .raw(Arrays.copyOf(all, cut))
                .raw(trailer == null ? new byte[0] : trailer)
                .toArray();
        // inside the last PDU the trailer's bytes are just more data and may complete the message: then what the
        // gateway received is a whole (altered) data set, which it may store; otherwise nothing may be stored
        byte[] received = PduStream.completedDataSet(stream, PC_CT_EXPLICIT);
        if (received != null) {
            String[] uids = TopLevel.uids(received, true);
            c.variant += " (the trailer completed the last PDU)";
            c.stores.add(new StoreAttempt(
                    c.index,
                    ct.sopUid(),
                    uids == null ? null : uids[1],
                    uids == null ? null : uids[2],
                    received,
                    Expect.ANY));
        } else {
            c.stores.add(new StoreAttempt(c.index, ct.sopUid(), null, null, data, Expect.REFUSAL));
        }
        p.send(stream);
        if (trailer == null) {
            p.reset();
        } else {
            ends(c, p);
        }
    }

    // ================================================================== IDLE

    static void idle(FuzzCase c) throws IOException {
        Random r = c.random;
        int variant = r.nextInt(7);
        if (variant == 6) {
            neverReads(c);
            return;
        }
        RawPeer p = c.connect();
        Ct ct = new Ct(c, 1);
        byte[] data = ct.encode().toArray();
        switch (variant) {
            case 0 -> c.variant = "silent from the start";
            case 1 -> {
                c.variant = "silent after 3 bytes of a PDU header";
                p.send(new byte[] {1, 0, 0});
            }
            case 2 -> {
                c.variant = "silent inside an A-ASSOCIATE-RQ";
                byte[] rq = HostileBytes.associateRq(c.target.calledAe(), "FUZZER", HostileBytes.standardContexts());
                p.send(Arrays.copyOf(rq, rq.length / 2));
            }
            case 3 -> {
                c.variant = "silent after association";
                associate(c, p);
            }
            case 4 -> {
                c.variant = "silent inside a data set PDU";
                if (associate(c, p)) {
                    byte[] all = new Bytes()
                            .raw(pData(pdv(
                                    PC_CT_EXPLICIT,
                                    true,
                                    true,
                                    HostileBytes.storeRq(1, CT_IMAGE_STORAGE, ct.sopUid())
                                            .encode())))
                            .raw(pData(pdv(PC_CT_EXPLICIT, false, true, data)))
                            .toArray();
                    p.send(Arrays.copyOf(all, all.length - 10));
                }
            }
            default -> {
                c.variant = "silent between two data set fragments";
                if (associate(c, p)) {
                    p.send(pData(pdv(
                            PC_CT_EXPLICIT,
                            true,
                            true,
                            HostileBytes.storeRq(1, CT_IMAGE_STORAGE, ct.sopUid())
                                    .encode())));
                    p.send(pData(pdv(PC_CT_EXPLICIT, false, false, Arrays.copyOf(data, data.length / 2))));
                }
            }
        }
        c.stores.add(new StoreAttempt(c.index, ct.sopUid(), null, null, data, Expect.REFUSAL));
        long start = System.nanoTime();
        List<Answer> seen = p.drain(c.target.endWithinMillis());
        long waited = (System.nanoTime() - start) / 1_000_000;
        c.saw(seen);
        Answer last = seen.get(seen.size() - 1);
        c.expect(
                last.ended(),
                c.variant + ": still open after " + waited + " ms (idle timeout " + c.target.idleTimeoutMillis()
                        + " ms)");
    }

    /**
     * A peer that sends C-ECHO-RQs without ever reading the answers, then stays silent: once its window is full the
     * gateway's writes block, and the idle timeout (a read timeout) must still end the association. Detected
     * afterwards: when the peer finally reads, a gateway that gave up ends the stream within moments; one that was
     * stuck in its write carries on answering and only ends an idle timeout later.
     */
    static void neverReads(FuzzCase c) throws IOException {
        c.variant = "sends C-ECHOs and never reads the answers";
        RawPeer p = new RawPeer(c.target.port(), 10_000, 4096);
        try {
            if (!associate(c, p)) {
                ends(c, p);
                return;
            }
            Bytes batch = new Bytes();
            byte[] one = pData(pdv(PC_ECHO, true, true, HostileBytes.echoRq(7).encode()));
            for (int i = 0; i < 2000; i++) {
                batch.raw(one);
            }
            byte[] bytes = batch.toArray();
            ExecutorService writer =
                    Executors.newSingleThreadExecutor(Thread.ofVirtual().factory());
            int batches = 0;
            boolean blocked = false;
            try {
                // 200 x 2000 requests (32 MB): more than both sides' socket buffers hold, so the gateway must block
                for (; batches < 200; batches++) {
                    Future<Boolean> sent = writer.submit(() -> p.send(bytes));
                    try {
                        if (!sent.get(2, TimeUnit.SECONDS)) {
                            break;
                        }
                    } catch (TimeoutException e) {
                        blocked = true; // the gateway stopped reading: its answers have nowhere to go
                        break;
                    } catch (Exception e) {
                        break;
                    }
                }
                c.variant +=
                        blocked ? " (gateway blocked after " + batches + " x 2000)" : " (" + batches + " x 2000 sent)";
                pause(c.target.idleTimeoutMillis() + 2_000L);
                long start = System.nanoTime();
                List<Answer> seen = p.drain(c.target.endWithinMillis() + 20_000);
                long took = (System.nanoTime() - start) / 1_000_000;
                Answer last = seen.get(seen.size() - 1);
                // one label for the table whatever the count: how many answers were buffered is in the variant
                c.answers.add("buffered answers, then " + last.label());
                c.variant += ", " + (seen.size() - 1) + " answers read";
                c.expect(last.ended(), c.variant + ": the connection never ended");
                // a gateway that gave up has nothing left but what is buffered; one stuck in its write resumes now and
                // only ends an idle timeout after the last request it finds
                c.expect(
                        took < c.target.idleTimeoutMillis() / 2,
                        c.variant + ": the gateway still served the "
                                + "association " + (c.target.idleTimeoutMillis() + 2_000)
                                + " ms after the peer went silent "
                                + "(ended " + took
                                + " ms after the peer read again): a blocked write escapes the idle timeout");
            } finally {
                p.close();
                writer.shutdownNow();
            }
        } finally {
            p.close();
        }
    }

    // ================================================================== FLOOD

    static void flood(FuzzCase c) throws IOException {
        Random r = c.random;
        int max = c.target.maxAssociations();
        switch (r.nextInt(4)) {
            case 0, 1 -> associationFlood(c, max + 1 + r.nextInt(8));
            case 2 -> lengthBombFlood(c, 40);
            default -> {
                c.variant = "40 bare TCP connections";
                List<RawPeer> peers = new ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    peers.add(c.connect());
                }
                pause(200);
                peers.forEach(RawPeer::close);
                c.answers.add("closed by the campaign");
            }
        }
    }

    /** max + k valid requests at once: exactly max accepted, the rest rejected as transient "local limit exceeded". */
    static void associationFlood(FuzzCase c, int n) throws IOException {
        int max = c.target.maxAssociations();
        c.variant = n + " associations at once (limit " + max + ")";
        for (int attempt = 1; attempt <= 3; attempt++) {
            List<RawPeer> peers = new ArrayList<>();
            List<Answer> first = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                RawPeer p = c.connect();
                peers.add(p);
                p.send(HostileBytes.associateRq(c.target.calledAe(), "FLOOD" + i, HostileBytes.standardContexts()));
            }
            for (RawPeer p : peers) {
                first.add(p.next(10_000));
            }
            long accepted = first.stream().filter(a -> a.is(ASSOCIATE_AC)).count();
            long limited = first.stream()
                    .filter(a -> {
                        int[] rj = a.rejection();
                        return rj != null && rj[0] == 2 && rj[1] == 3 && rj[2] == 2;
                    })
                    .count();
            boolean last = attempt == 3 || accepted == max;
            if (last) {
                first.forEach(c::saw);
                c.expect(
                        accepted + limited == n,
                        c.variant + ": every request must be accepted or rejected for the limit, got " + labels(first));
                c.expect(accepted <= max, c.variant + ": " + accepted + " accepted, more than the limit");
                c.expect(
                        accepted == max,
                        c.variant + ": only " + accepted + " accepted in 3 tries (association slots leaked?)");
            }
            // what the accepted ones do with their association varies: echo and release, abort, or just hang up
            for (int i = 0; i < n; i++) {
                RawPeer p = peers.get(i);
                if (first.get(i).is(ASSOCIATE_AC) && last) {
                    switch (i % 3) {
                        case 0 -> {
                            echoOn(c, p, PC_ECHO);
                            release(c, p);
                        }
                        case 1 -> {
                            p.send(HostileBytes.abortRq());
                            ends(c, p);
                        }
                        default -> p.reset();
                    }
                } else if (last) {
                    ends(c, p);
                } else {
                    p.close();
                }
            }
            if (last) {
                return;
            }
            pause(300); // slots are released just after the gateway closes a socket
        }
    }

    /**
     * Many connections at once, each announcing an A-ASSOCIATE-RQ of up to 16 MiB and sending 1 KiB of it: what the
     * gateway reserves per announced length (before the association limit applies) multiplies by the connections.
     */
    static void lengthBombFlood(FuzzCase c, int n) throws IOException {
        c.variant = n + " connections each announcing a 16 MiB A-ASSOCIATE-RQ";
        List<RawPeer> peers = new ArrayList<>();
        byte[] head = new Bytes()
                .u8(ASSOCIATE_RQ)
                .u8(0)
                .u32be((16L << 20) - 16)
                .raw(HostileBytes.associateFixedFields(
                        HostileBytes.aeField(c.target.calledAe()), HostileBytes.aeField("BOMB")))
                .raw(new byte[1024 - 68])
                .toArray();
        for (int i = 0; i < n; i++) {
            RawPeer p = c.connect();
            peers.add(p);
            p.send(head);
        }
        pause(1_000);
        for (RawPeer p : peers) {
            List<Answer> seen = p.finish(c.target.endWithinMillis());
            c.saw(seen);
            c.expect(seen.get(seen.size() - 1).ended(), c.variant + ": a connection was not ended");
        }
    }

    // ================================================================== VALID

    static void valid(FuzzCase c) throws IOException {
        Random r = c.random;
        RawPeer p = c.connect();
        if (!associate(c, p)) {
            ends(c, p);
            return;
        }
        int instances = 1 + r.nextInt(3);
        boolean big = r.nextInt(5) == 0;
        c.variant = instances + " instance(s)" + (big ? ", 256 x 256 (several PDUs)" : "");
        echoOn(c, p, PC_ECHO);
        for (int k = 1; k <= instances; k++) {
            Ct ct = new Ct(c, k);
            ct.explicit = r.nextInt(3) != 0;
            ct.rows = ct.columns = big ? 256 : pick(r, List.of(8, 16, 32));
            store(c, p, ct, Expect.SUCCESS);
        }
        release(c, p);
    }

    static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
