package org.meddiff.gateway.dicom.net;

/** An answered presentation context (A-ASSOCIATE-AC item 0x21); result 0 means accepted. */
public record PresentationContextResult(int id, String abstractSyntax, int result, String transferSyntax) {
    public static final int ACCEPTANCE = 0;
    public static final int ABSTRACT_SYNTAX_NOT_SUPPORTED = 3;
    public static final int TRANSFER_SYNTAXES_NOT_SUPPORTED = 4;

    public boolean accepted() {
        return result == ACCEPTANCE;
    }
}
