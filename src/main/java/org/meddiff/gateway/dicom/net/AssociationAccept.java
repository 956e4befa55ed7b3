package org.meddiff.gateway.dicom.net;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;

/** A-ASSOCIATE-AC (PS3.8 section 9.3.3): the answer to each proposed presentation context. */
record AssociationAccept(String calledAe, String callingAe, List<PresentationContextResult> results, int maxPduLength) {

    void write(OutputStream out, int ourMaxPduLength) throws IOException {
        ByteArrayOutputStream body = AssociationRequest.fixedFields(calledAe, callingAe);
        AssociationRequest.writeUidItem(body, 0x10, Pdu.APPLICATION_CONTEXT);
        for (PresentationContextResult r : results) {
            ByteArrayOutputStream item = new ByteArrayOutputStream();
            item.write(new byte[] {(byte) r.id(), 0, (byte) r.result(), 0});
            AssociationRequest.writeUidItem(item, 0x40, r.transferSyntax() == null ? "" : r.transferSyntax());
            AssociationRequest.writeItem(body, 0x21, item.toByteArray());
        }
        AssociationRequest.writeItem(body, 0x50, AssociationRequest.userInformation(ourMaxPduLength));
        AssociationRequest.send(out, Pdu.ASSOCIATE_AC, body);
    }

    /** Parses an A-ASSOCIATE-AC; abstract syntaxes come from the request we sent. */
    static AssociationAccept parse(byte[] body, int length, List<PresentationContext> proposed)
            throws DicomProtocolException {
        if (length < 68) {
            throw new DicomProtocolException("A-ASSOCIATE-AC too short");
        }
        List<PresentationContextResult> results = new ArrayList<>();
        int maxPdu = 0;
        int pos = 68;
        while (pos + 4 <= length) {
            int type = body[pos] & 0xff;
            int len = Pdu.u16(body, pos + 2);
            int start = pos + 4;
            if (start + len > length) {
                throw new DicomProtocolException("A-ASSOCIATE-AC item overruns the PDU");
            }
            if (type == 0x21) {
                int id = body[start] & 0xff;
                int result = body[start + 2] & 0xff;
                String ts = null;
                int sub = start + 4;
                while (sub + 4 <= start + len) {
                    int subLen = Pdu.u16(body, sub + 2);
                    if ((body[sub] & 0xff) == 0x40) {
                        ts = Pdu.text(body, sub + 4, subLen);
                    }
                    sub += 4 + subLen;
                }
                String abstractSyntax = proposed.stream()
                        .filter(p -> p.id() == id)
                        .map(PresentationContext::abstractSyntax)
                        .findFirst()
                        .orElse(null);
                results.add(new PresentationContextResult(id, abstractSyntax, result, ts));
            } else if (type == 0x50) {
                int sub = start;
                while (sub + 4 <= start + len) {
                    int subLen = Pdu.u16(body, sub + 2);
                    if ((body[sub] & 0xff) == 0x51 && subLen == 4) {
                        maxPdu = Pdu.u32(body, sub + 4);
                    }
                    sub += 4 + subLen;
                }
            }
            pos = start + len;
        }
        return new AssociationAccept(Pdu.text(body, 4, 16), Pdu.text(body, 20, 16), results, maxPdu);
    }
}
