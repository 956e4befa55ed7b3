package org.meddiff.gateway.campaign;

import java.io.ByteArrayOutputStream;

/** The campaign's own reading of a byte stream it sends after association, as the listener must frame it. */
final class PduStream {
    private PduStream() {}

    /**
     * The data set a listener receives from {@code stream} on presentation context {@code pc}: the values of its data
     * PDVs up to the one marked last, or null if the stream ends (or stops being P-DATA) before that.
     */
    static byte[] completedDataSet(byte[] stream, int pc) {
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        int pos = 0;
        while (pos + 6 <= stream.length) {
            int type = stream[pos] & 0xff;
            long length = HostileBytes.u32be(stream, pos + 2);
            if (type != HostileBytes.P_DATA_TF || pos + 6 + length > stream.length) {
                return null;
            }
            int item = pos + 6;
            int end = (int) (pos + 6 + length);
            while (item + 6 <= end) {
                long itemLength = HostileBytes.u32be(stream, item);
                if (itemLength < 2 || item + 4 + itemLength > end) {
                    return null;
                }
                int control = stream[item + 5];
                if ((control & 1) == 0 && (stream[item + 4] & 0xff) == pc) {
                    data.write(stream, item + 6, (int) itemLength - 2);
                    if ((control & 2) != 0) {
                        return data.toByteArray();
                    }
                }
                item += 4 + (int) itemLength;
            }
            pos = end;
        }
        return null;
    }
}
