package org.meddiff.gateway.campaign;

/** The hostile categories of the campaign (the list), with their share of the cases. */
public enum Category {
    GARBAGE(8, "garbage bytes instead of PDUs"),
    ASSOCIATE_RQ(14, "mutated A-ASSOCIATE-RQ: lying lengths, truncation, odd AE titles, 128+ presentation contexts"),
    PDV_LENGTH(8, "PDV lengths that exceed their PDU"),
    DATA_BEFORE_COMMAND(4, "data before command"),
    UNKNOWN_CONTEXT(6, "unknown or refused presentation context"),
    COMMAND_SET(10, "command-set mutations and length bombs"),
    DATA_SET(12, "truncated and bit-flipped data sets"),
    NESTED_SEQUENCES(5, "deeply nested sequences"),
    UID_ESCAPE(8, "UIDs that try to leave the spool or are too long"),
    SHORT_PIXEL_DATA(5, "pixel data shorter than Rows x Columns"),
    ABORT_MID_DATA(8, "aborts and closes mid-data set"),
    IDLE(2, "idle connections"),
    FLOOD(2, "association floods past max-associations"),
    VALID(8, "valid control instances (must store)");

    public final int weight;
    public final String description;

    Category(int weight, String description) {
        this.weight = weight;
        this.description = description;
    }

    /** One cycle of the schedule: every category {@code weight} times, so a run of one cycle covers them all. */
    static int cycleLength() {
        int n = 0;
        for (Category c : values()) {
            n += c.weight;
        }
        return n;
    }
}
