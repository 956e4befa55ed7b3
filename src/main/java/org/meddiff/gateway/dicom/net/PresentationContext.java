package org.meddiff.gateway.dicom.net;

import java.util.List;

/** A proposed presentation context (A-ASSOCIATE-RQ item 0x20). */
public record PresentationContext(int id, String abstractSyntax, List<String> transferSyntaxes) {}
