package org.meddiff.gateway.dicom.net;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A-ASSOCIATE-RQ (PS3.8 section 9.3.2): what a peer asks for, parsed from or encoded to bytes. */
public record AssociationRequest(
        String calledAe,
        String callingAe,
        String applicationContext,
        List<PresentationContext> presentationContexts,
        int maxPduLength) {
    /** Presentation context IDs are the odd numbers 1..255 (PS3.8 section 9.3.2.2): at most 128 contexts. */
    static final int MAX_PRESENTATION_CONTEXTS = 128;

    /** Protocol version, reserved, called AE, calling AE, 32 reserved bytes: the items start after them. */
    static final int FIXED_FIELDS_LENGTH = 68;

    static AssociationRequest parse(byte[] body, int length) throws DicomProtocolException {
        if (length < FIXED_FIELDS_LENGTH) {
            throw new DicomProtocolException("A-ASSOCIATE-RQ too short (" + length + " bytes)");
        }
        String called = Pdu.text(body, 4, 16);
        String calling = Pdu.text(body, 20, 16);
        String appContext = "";
        List<PresentationContext> contexts = new ArrayList<>();
        boolean[] idsSeen = new boolean[256];
        int maxPdu = 0;
        int pos = FIXED_FIELDS_LENGTH;
        while (pos + 4 <= length) {
            int type = body[pos] & 0xff;
            int itemLength = Pdu.u16(body, pos + 2);
            int start = pos + 4;
            int end = start + itemLength;
            if (end > length) {
                throw new DicomProtocolException(
                        "A-ASSOCIATE-RQ item 0x" + Integer.toHexString(type) + " overruns the PDU");
            }
            switch (type) {
                case 0x10 -> appContext = Pdu.text(body, start, itemLength);
                case 0x20 -> {
                    // A repeated ID makes every PDV on it ambiguous; more than 128 cannot have distinct odd IDs, and a
                    // request of tens of thousands of tiny contexts would otherwise be parsed and answered in full.
                    if (contexts.size() == MAX_PRESENTATION_CONTEXTS) {
                        throw new DicomProtocolException("A-ASSOCIATE-RQ proposes more than "
                                + MAX_PRESENTATION_CONTEXTS + " presentation contexts");
                    }
                    PresentationContext pc = parsePresentationContext(body, start, end);
                    if (idsSeen[pc.id()]) {
                        throw new DicomProtocolException(
                                "A-ASSOCIATE-RQ proposes presentation context " + pc.id() + " twice");
                    }
                    idsSeen[pc.id()] = true;
                    contexts.add(pc);
                }
                case 0x50 -> maxPdu = parseMaxLength(body, start, end, maxPdu);
                default -> {
                    /* other items are optional and ignored */
                }
            }
            pos = end;
        }
        return new AssociationRequest(called, calling, appContext, contexts, maxPdu);
    }

    private static PresentationContext parsePresentationContext(byte[] b, int start, int end)
            throws DicomProtocolException {
        if (end - start < 4) {
            throw new DicomProtocolException("presentation context item of " + (end - start) + " bytes is too short");
        }
        int id = b[start] & 0xff;
        String abstractSyntax = null;
        List<String> transferSyntaxes = new ArrayList<>();
        int pos = start + 4;
        while (pos + 4 <= end) {
            int type = b[pos] & 0xff;
            int len = Pdu.u16(b, pos + 2);
            if (len > end - pos - 4) {
                throw new DicomProtocolException("presentation context " + id + " sub-item overruns its item");
            }
            String uid = Pdu.text(b, pos + 4, len);
            if (type == 0x30) {
                abstractSyntax = uid;
            } else if (type == 0x40) {
                transferSyntaxes.add(uid);
            }
            pos += 4 + len;
        }
        if (abstractSyntax == null) {
            throw new DicomProtocolException("presentation context " + id + " has no abstract syntax");
        }
        return new PresentationContext(id, abstractSyntax, List.copyOf(transferSyntaxes));
    }

    private static int parseMaxLength(byte[] b, int start, int end, int current) {
        int pos = start;
        while (pos + 4 <= end) {
            int type = b[pos] & 0xff;
            int len = Pdu.u16(b, pos + 2);
            if (type == 0x51 && len == 4 && pos + 8 <= end) {
                return Pdu.u32(b, pos + 4);
            }
            pos += 4 + len;
        }
        return current;
    }

    /** Writes this request as an A-ASSOCIATE-RQ PDU (the SCU side). */
    void write(OutputStream out, int ourMaxPduLength) throws IOException {
        ByteArrayOutputStream body = fixedFields(calledAe, callingAe);
        writeUidItem(body, 0x10, applicationContext);
        for (PresentationContext pc : presentationContexts) {
            ByteArrayOutputStream item = new ByteArrayOutputStream();
            item.write(new byte[] {(byte) pc.id(), 0, 0, 0});
            writeUidItem(item, 0x30, pc.abstractSyntax());
            for (String ts : pc.transferSyntaxes()) {
                writeUidItem(item, 0x40, ts);
            }
            writeItem(body, 0x20, item.toByteArray());
        }
        writeItem(body, 0x50, userInformation(ourMaxPduLength));
        send(out, Pdu.ASSOCIATE_RQ, body);
    }

    /** Protocol version, called and calling AE titles and the reserved block: the start of an RQ and an AC alike. */
    static ByteArrayOutputStream fixedFields(String calledAe, String callingAe) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(new byte[] {0, 1, 0, 0});
        body.write(Pdu.aeTitleField(calledAe));
        body.write(Pdu.aeTitleField(callingAe));
        body.write(new byte[32]);
        return body;
    }

    static void send(OutputStream out, int pduType, ByteArrayOutputStream body) throws IOException {
        byte[] bytes = body.toByteArray();
        Pdu.writeHeader(out, pduType, bytes.length);
        out.write(bytes);
        out.flush();
    }

    static byte[] userInformation(int maxPduLength) throws IOException {
        ByteArrayOutputStream user = new ByteArrayOutputStream();
        writeItem(user, 0x51, new byte[] {
            (byte) (maxPduLength >>> 24), (byte) (maxPduLength >>> 16), (byte) (maxPduLength >>> 8), (byte) maxPduLength
        });
        writeUidItem(user, 0x52, Pdu.IMPLEMENTATION_CLASS_UID);
        writeItem(user, 0x55, Pdu.IMPLEMENTATION_VERSION.getBytes(StandardCharsets.US_ASCII));
        return user.toByteArray();
    }

    static void writeUidItem(ByteArrayOutputStream out, int type, String uid) throws IOException {
        writeItem(out, type, uid.getBytes(StandardCharsets.US_ASCII));
    }

    static void writeItem(ByteArrayOutputStream out, int type, byte[] value) throws IOException {
        out.write(type);
        out.write(0);
        out.write(value.length >>> 8);
        out.write(value.length);
        out.write(value);
    }
}
