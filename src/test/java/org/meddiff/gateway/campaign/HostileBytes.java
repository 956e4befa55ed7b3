package org.meddiff.gateway.campaign;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Byte builders of the fuzz campaign, written by hand from PS3.8 (upper layer) and PS3.5 / PS3.7 (encodings),
 * independent of the product's encoder: the campaign must be able to say things the product would never write
 * (lengths that lie, items that overrun, odd AE titles, command sets with bombs in them).
 */
final class HostileBytes {
    static final int ASSOCIATE_RQ = 0x01;
    static final int ASSOCIATE_AC = 0x02;
    static final int ASSOCIATE_RJ = 0x03;
    static final int P_DATA_TF = 0x04;
    static final int RELEASE_RQ = 0x05;
    static final int RELEASE_RP = 0x06;
    static final int ABORT = 0x07;

    static final String APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1";
    static final String VERIFICATION = "1.2.840.10008.1.1";
    static final String CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2";
    static final String MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4";
    static final String IMPLICIT_LE = "1.2.840.10008.1.2";
    static final String EXPLICIT_LE = "1.2.840.10008.1.2.1";
    static final String JPEG_BASELINE = "1.2.840.10008.1.2.4.50";

    static final int C_STORE_RQ = 0x0001;
    static final int C_STORE_RSP = 0x8001;
    static final int C_ECHO_RQ = 0x0030;
    static final int C_ECHO_RSP = 0x8030;
    static final int NO_DATA_SET = 0x0101;

    static final int PC_ECHO = 1;
    static final int PC_CT_EXPLICIT = 3;
    static final int PC_CT_IMPLICIT = 5;
    static final int PC_MR_REFUSED = 7;
    static final int PC_JPEG_REFUSED = 9;

    private HostileBytes() {}

    // ------------------------------------------------------------------ PDUs

    /** A PDU: type, reserved byte, 32-bit big-endian length (the body's real length), body. */
    static byte[] pdu(int type, byte[] body) {
        return pduClaiming(type, body.length, body);
    }

    /** A PDU whose length field says {@code claimedLength}, whatever the body holds. */
    static byte[] pduClaiming(int type, long claimedLength, byte[] body) {
        Bytes b = new Bytes();
        b.u8(type).u8(0).u32be(claimedLength).raw(body);
        return b.toArray();
    }

    static byte[] releaseRq() {
        return pdu(RELEASE_RQ, new byte[4]);
    }

    static byte[] abortRq() {
        return pdu(ABORT, new byte[] {0, 0, 0, 0});
    }

    /** A 16-byte AE title field: the given bytes, space padded (or cut) to 16. */
    static byte[] aeField(byte[] ae) {
        byte[] f = new byte[16];
        Arrays.fill(f, (byte) ' ');
        System.arraycopy(ae, 0, f, 0, Math.min(16, ae.length));
        return f;
    }

    static byte[] aeField(String ae) {
        return aeField(ae.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** An item of an A-ASSOCIATE-RQ: type, reserved, 16-bit length, value. */
    static byte[] item(int type, byte[] value) {
        return itemClaiming(type, value.length, value);
    }

    static byte[] itemClaiming(int type, int claimedLength, byte[] value) {
        return new Bytes().u8(type).u8(0).u16be(claimedLength).raw(value).toArray();
    }

    static byte[] uidItem(int type, String uid) {
        return item(type, uid.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** A presentation context item (0x20): id, abstract syntax, transfer syntaxes. */
    static byte[] presentationContext(int id, String abstractSyntax, List<String> transferSyntaxes) {
        Bytes v = new Bytes().u8(id).u8(0).u8(0).u8(0).raw(uidItem(0x30, abstractSyntax));
        for (String ts : transferSyntaxes) {
            v.raw(uidItem(0x40, ts));
        }
        return item(0x20, v.toArray());
    }

    /** User information (0x50) with a maximum length sub-item (0x51) and an implementation class UID (0x52). */
    static byte[] userInformation(long maxPduLength) {
        byte[] max = new Bytes().u32be(maxPduLength).toArray();
        return item(
                0x50,
                new Bytes()
                        .raw(item(0x51, max))
                        .raw(uidItem(0x52, "1.2.826.0.1.3680043.10.1427.77"))
                        .toArray());
    }

    /** The fixed part of an A-ASSOCIATE-RQ body: protocol version 1, reserved, called, calling, 32 reserved bytes. */
    static byte[] associateFixedFields(byte[] calledField, byte[] callingField) {
        return new Bytes()
                .u16be(1)
                .u16be(0)
                .raw(calledField)
                .raw(callingField)
                .raw(new byte[32])
                .toArray();
    }

    /** The body of a plain A-ASSOCIATE-RQ from the given items. */
    static byte[] associateBody(String called, String calling, List<byte[]> items) {
        Bytes b = new Bytes().raw(associateFixedFields(aeField(called), aeField(calling)));
        items.forEach(b::raw);
        return b.toArray();
    }

    /** A well-formed A-ASSOCIATE-RQ proposing {@code contexts} (each: id, abstract syntax, transfer syntaxes). */
    static byte[] associateRq(String called, String calling, List<byte[]> contexts) {
        List<byte[]> items = new ArrayList<>();
        items.add(uidItem(0x10, APPLICATION_CONTEXT));
        items.addAll(contexts);
        items.add(userInformation(64 * 1024));
        return pdu(ASSOCIATE_RQ, associateBody(called, calling, items));
    }

    /** The usual proposal of the campaign: 1 = Verification, 3 = CT explicit LE, 5 = CT implicit LE, 7 = MR (refused). */
    static List<byte[]> standardContexts() {
        return List.of(
                presentationContext(1, VERIFICATION, List.of(IMPLICIT_LE)),
                presentationContext(3, CT_IMAGE_STORAGE, List.of(EXPLICIT_LE)),
                presentationContext(5, CT_IMAGE_STORAGE, List.of(IMPLICIT_LE)),
                presentationContext(7, MR_IMAGE_STORAGE, List.of(EXPLICIT_LE)),
                presentationContext(9, CT_IMAGE_STORAGE, List.of(JPEG_BASELINE)));
    }

    // ------------------------------------------------------------------ P-DATA

    /** One PDV item: 32-bit length (= value length + 2), context id, control header (bit 0 command, bit 1 last). */
    static byte[] pdv(int contextId, boolean command, boolean last, byte[] value) {
        return pdvClaiming(value.length + 2L, contextId, (command ? 1 : 0) | (last ? 2 : 0), value);
    }

    static byte[] pdvClaiming(long claimedItemLength, int contextId, int control, byte[] value) {
        return new Bytes()
                .u32be(claimedItemLength)
                .u8(contextId)
                .u8(control)
                .raw(value)
                .toArray();
    }

    /** A P-DATA-TF PDU holding the given PDV items. */
    static byte[] pData(byte[]... pdvs) {
        Bytes b = new Bytes();
        for (byte[] p : pdvs) {
            b.raw(p);
        }
        return pdu(P_DATA_TF, b.toArray());
    }

    /** A message in P-DATA-TF PDUs of at most {@code maxPdv} value bytes each (last fragment flagged). */
    static byte[] fragmented(int contextId, boolean command, byte[] message, int maxPdv) {
        Bytes b = new Bytes();
        int pos = 0;
        do {
            int n = Math.min(maxPdv, message.length - pos);
            boolean last = pos + n == message.length;
            b.raw(pData(pdv(contextId, command, last, Arrays.copyOfRange(message, pos, pos + n))));
            pos += n;
        } while (pos < message.length);
        return b.toArray();
    }

    // ------------------------------------------------------------------ DIMSE command sets (implicit VR LE, group
    // 0000)

    /** A command set under construction: elements in the order added, group length first on {@link #encode()}. */
    static final class Command {
        private final List<byte[]> elements = new ArrayList<>();
        private boolean groupLength = true;

        Command us(int element, int value) {
            return raw(element, new byte[] {(byte) value, (byte) (value >>> 8)});
        }

        /** A UI value, NUL padded to even length. */
        Command ui(int element, String uid) {
            byte[] v = uid.getBytes(StandardCharsets.ISO_8859_1);
            return raw(element, v.length % 2 == 0 ? v : Arrays.copyOf(v, v.length + 1));
        }

        Command raw(int element, byte[] value) {
            return rawClaiming(0x0000, element, value.length & 0xFFFFFFFFL, value);
        }

        /** An element with any group and any claimed length. */
        Command rawClaiming(int group, int element, long claimedLength, byte[] value) {
            elements.add(new Bytes()
                    .u16le(group)
                    .u16le(element)
                    .u32le(claimedLength)
                    .raw(value)
                    .toArray());
            return this;
        }

        Command withoutGroupLength() {
            groupLength = false;
            return this;
        }

        byte[] encode() {
            Bytes rest = new Bytes();
            elements.forEach(rest::raw);
            byte[] r = rest.toArray();
            Bytes all = new Bytes();
            if (groupLength) {
                all.u16le(0).u16le(0).u32le(4).u32le(r.length);
            }
            return all.raw(r).toArray();
        }
    }

    static Command echoRq(int messageId) {
        return new Command()
                .ui(0x0002, VERIFICATION)
                .us(0x0100, C_ECHO_RQ)
                .us(0x0110, messageId)
                .us(0x0800, NO_DATA_SET);
    }

    static Command storeRq(int messageId, String sopClass, String sopInstance) {
        return new Command()
                .ui(0x0002, sopClass)
                .us(0x0100, C_STORE_RQ)
                .us(0x0110, messageId)
                .us(0x0700, 0)
                .us(0x0800, 0x0000)
                .ui(0x1000, sopInstance);
    }

    // ------------------------------------------------------------------ data sets

    /**
     * A data set under construction in explicit or implicit VR little endian. Remembers where each top-level
     * element starts and ends, so a mutation can tell a cut inside a value from a cut between elements.
     */
    static final class DataSet {
        final boolean explicit;
        private final Bytes bytes = new Bytes();
        private final List<int[]> elementBounds = new ArrayList<>();

        DataSet(boolean explicit) {
            this.explicit = explicit;
        }

        DataSet element(int group, int element, String vr, byte[] value) {
            int start = bytes.size();
            header(group, element, vr, value.length & 0xFFFFFFFFL);
            bytes.raw(value);
            elementBounds.add(new int[] {start, bytes.size()});
            return this;
        }

        /** A string value padded to even length (NUL for UI, space otherwise). */
        DataSet string(int group, int element, String vr, String value) {
            byte[] v = value.getBytes(StandardCharsets.ISO_8859_1);
            if (v.length % 2 != 0) {
                v = Arrays.copyOf(v, v.length + 1);
                v[v.length - 1] = vr.equals("UI") ? 0 : (byte) ' ';
            }
            return element(group, element, vr, v);
        }

        /** A UI value exactly as given (even odd length or NULs inside): hostile UIDs are meant to arrive intact. */
        DataSet rawUid(int group, int element, byte[] value) {
            return element(group, element, "UI", value);
        }

        DataSet us(int group, int element, int value) {
            return element(group, element, "US", new byte[] {(byte) value, (byte) (value >>> 8)});
        }

        /** Appends already encoded bytes (e.g. a sequence) as one top-level element. */
        DataSet encoded(byte[] elementBytes) {
            int start = bytes.size();
            bytes.raw(elementBytes);
            elementBounds.add(new int[] {start, bytes.size()});
            return this;
        }

        /** Element header; long form (explicit VR: OB OW SQ UN UT) with a 32-bit length. */
        private void header(int group, int element, String vr, long length) {
            bytes.u16le(group).u16le(element);
            if (!explicit) {
                bytes.u32le(length);
            } else if (longForm(vr)) {
                bytes.raw(vr.getBytes(StandardCharsets.US_ASCII)).u16le(0).u32le(length);
            } else {
                bytes.raw(vr.getBytes(StandardCharsets.US_ASCII)).u16le((int) length);
            }
        }

        static boolean longForm(String vr) {
            return switch (vr) {
                case "OB", "OW", "OF", "SQ", "UN", "UT", "UC", "UR" -> true;
                default -> false;
            };
        }

        byte[] toArray() {
            return bytes.toArray();
        }

        /** Whether {@code offset} (a cut: bytes before it are kept) falls strictly inside a top-level element. */
        boolean cutsInsideAnElement(int offset) {
            for (int[] b : elementBounds) {
                if (offset > b[0] && offset < b[1]) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * {@code depth} explicit VR LE sequences, each of one item holding the next, around {@code inner}; built in one
     * pass (outer headers first), so 20,000 levels cost no more than their bytes.
     */
    static byte[] nestedSequences(int group, int element, byte[] inner, int depth, boolean undefinedLength) {
        Bytes b = new Bytes();
        if (undefinedLength) {
            for (int i = 0; i < depth; i++) {
                b.u16le(group)
                        .u16le(element)
                        .raw("SQ".getBytes(StandardCharsets.US_ASCII))
                        .u16le(0)
                        .u32le(0xFFFFFFFFL);
                b.u16le(0xFFFE).u16le(0xE000).u32le(0xFFFFFFFFL);
            }
            b.raw(inner);
            for (int i = 0; i < depth; i++) {
                b.u16le(0xFFFE).u16le(0xE00D).u32le(0); // item delimitation
                b.u16le(0xFFFE).u16le(0xE0DD).u32le(0); // sequence delimitation
            }
        } else {
            // level k (counted from the inside) holds 20 bytes of headers per level below it plus the inner bytes
            for (int level = depth; level >= 1; level--) {
                long itemLength = inner.length + 20L * (level - 1);
                b.u16le(group)
                        .u16le(element)
                        .raw("SQ".getBytes(StandardCharsets.US_ASCII))
                        .u16le(0)
                        .u32le(itemLength + 8);
                b.u16le(0xFFFE).u16le(0xE000).u32le(itemLength);
            }
            b.raw(inner);
        }
        return b.toArray();
    }

    // ------------------------------------------------------------------ a tiny byte writer

    static final class Bytes {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Bytes u8(int v) {
            out.write(v);
            return this;
        }

        Bytes u16be(int v) {
            out.write(v >>> 8);
            out.write(v);
            return this;
        }

        Bytes u32be(long v) {
            out.write((int) (v >>> 24));
            out.write((int) (v >>> 16));
            out.write((int) (v >>> 8));
            out.write((int) v);
            return this;
        }

        Bytes u16le(int v) {
            out.write(v);
            out.write(v >>> 8);
            return this;
        }

        Bytes u32le(long v) {
            out.write((int) v);
            out.write((int) (v >>> 8));
            out.write((int) (v >>> 16));
            out.write((int) (v >>> 24));
            return this;
        }

        Bytes raw(byte[] b) {
            out.writeBytes(b);
            return this;
        }

        int size() {
            return out.size();
        }

        byte[] toArray() {
            return out.toByteArray();
        }
    }

    // ------------------------------------------------------------------ reading what the gateway says

    static int u16be(byte[] b, int off) {
        return ((b[off] & 0xff) << 8) | (b[off + 1] & 0xff);
    }

    static long u32be(byte[] b, int off) {
        return ((b[off] & 0xffL) << 24)
                | ((b[off + 1] & 0xffL) << 16)
                | ((b[off + 2] & 0xffL) << 8)
                | (b[off + 3] & 0xffL);
    }

    static long u32le(byte[] b, int off) {
        return (b[off] & 0xffL)
                | ((b[off + 1] & 0xffL) << 8)
                | ((b[off + 2] & 0xffL) << 16)
                | ((b[off + 3] & 0xffL) << 24);
    }

    /** The unsigned 16-bit value of {@code element} in an implicit VR LE command set, or -1. */
    static int commandUs(byte[] command, int element) {
        int pos = 0;
        while (pos + 8 <= command.length) {
            int el = (command[pos + 2] & 0xff) | (command[pos + 3] & 0xff) << 8;
            long len = u32le(command, pos + 4);
            if (len > command.length - pos - 8) {
                return -1;
            }
            if (el == element && len >= 2) {
                return (command[pos + 8] & 0xff) | (command[pos + 9] & 0xff) << 8;
            }
            pos += 8 + (int) len;
        }
        return -1;
    }
}
