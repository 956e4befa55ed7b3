package org.meddiff.gateway.campaign;

import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

/**
 * One hostile case: its category, the seeded mutation it chose ({@link #variant}), what the gateway answered,
 * which expectations failed, and the C-STORE data sets it sent (checked against the spool at the end).
 */
final class FuzzCase {
    /** What the campaign requires of a C-STORE's outcome. */
    enum Expect {
        SUCCESS,
        REFUSAL,
        ANY
    }

    /** One C-STORE data set sent: where it must be if answered Success, and how it was answered. */
    static final class StoreAttempt {
        final int caseIndex;
        final String sopInstanceUid;
        /** From the campaign's own reading of the bytes sent; null when the mutation left them unreadable. */
        final String studyUid;

        final String seriesUid;
        final String sha256;
        final int length;
        final Expect expect;
        /** False when the command carried no SOP Instance UID: the gateway's log cannot name it then. */
        boolean namedInCommand = true;
        /** The case's mutation, for failure messages. */
        String variant = "";
        /** -1: no C-STORE-RSP came. */
        int status = -1;

        String errorComment;

        StoreAttempt(
                int caseIndex,
                String sopInstanceUid,
                String studyUid,
                String seriesUid,
                byte[] dataSet,
                Expect expect) {
            this.caseIndex = caseIndex;
            this.sopInstanceUid = sopInstanceUid;
            this.studyUid = studyUid;
            this.seriesUid = seriesUid;
            this.sha256 = sha256(dataSet);
            this.length = dataSet.length;
            this.expect = expect;
        }

        boolean answeredSuccess() {
            return status == 0;
        }
    }

    final int index;
    final Category category;
    final Random random;
    final FuzzTarget target;
    String variant = "";
    final List<String> answers = new ArrayList<>();
    final List<String> failures = new ArrayList<>();
    final List<StoreAttempt> stores = new ArrayList<>();
    /** Local ports of the connections this case opened (to find the gateway's log lines about them). */
    final List<Integer> abortedPorts = new ArrayList<>();

    private final List<RawPeer> peers = new ArrayList<>();
    private int messageId = 1;

    FuzzCase(int index, Category category, long seed, FuzzTarget target) {
        this.index = index;
        this.category = category;
        // one generator per case from (seed, index): any case of a run can be replayed alone
        this.random = new Random(seed * 0x9E3779B97F4A7C15L + index * 0xBF58476D1CE4E5B9L + category.ordinal());
        this.target = target;
    }

    RawPeer connect() throws IOException {
        RawPeer p = new RawPeer(target.port(), 10_000);
        peers.add(p);
        return p;
    }

    void closeAll() {
        peers.forEach(RawPeer::close);
    }

    int nextMessageId() {
        return messageId++;
    }

    void fail(String what) {
        failures.add(what);
    }

    void expect(boolean condition, String what) {
        if (!condition) {
            fail(what);
        }
    }

    /** Records the answers of one peer (labels) for the report. */
    void saw(List<RawPeer.Answer> seen) {
        for (RawPeer.Answer a : seen) {
            answers.add(a.label());
        }
    }

    /** Gives a C-STORE-RSP status to the first attempt still without one. */
    void answerPendingStore(int status) {
        for (StoreAttempt s : stores) {
            if (s.status < 0) {
                s.status = status;
                return;
            }
        }
    }

    void saw(RawPeer.Answer a) {
        answers.add(a.label());
    }

    /** A UID root unique to this case of this run: 2.25.RUN.CASE. */
    String uidRoot() {
        return "2.25." + target.runId() + "." + index;
    }

    /** A marker for path names the hostile UIDs try to create: found anywhere afterwards = an escape. */
    String marker() {
        return "fzesc" + target.runId() + "x" + index;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
