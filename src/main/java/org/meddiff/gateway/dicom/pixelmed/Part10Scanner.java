package org.meddiff.gateway.dicom.pixelmed;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.meddiff.gateway.dicom.DicomDataException;

/**
 * Structural pre-check of a Part-10 file: walks every element header (into sequences and items of
 * undefined length) and fails if a value or a delimiter lies beyond the end of the file.
 *
 * <p>Why: PixelMed's {@code AttributeList.read} logs and swallows an exception for an element it cannot
 * read to the end and returns the attributes before it, so a truncated file would otherwise look like a
 * complete one with fewer attributes. Reads only element headers (a few KB per file via positioned reads);
 * values are skipped. Deflated data sets are not walked (PixelMed inflates and checks those itself).
 */
final class Part10Scanner {

    private static final String EXPLICIT_LE = "1.2.840.10008.1.2.1";
    private static final String IMPLICIT_LE = "1.2.840.10008.1.2";
    private static final String EXPLICIT_BE = "1.2.840.10008.1.2.2";
    private static final String DEFLATED = "1.2.840.10008.1.2.1.99";
    private static final long UNDEFINED = 0xFFFFFFFFL;
    private static final int ITEM = 0xFFFEE000;
    private static final int ITEM_END = 0xFFFEE00D;
    private static final int SEQUENCE_END = 0xFFFEE0DD;
    private static final int MAX_DEPTH = 32;
    private static final int PIXEL_DATA = 0x7FE00010;

    private final Path file;
    private final FileChannel channel;
    private final long size;
    private boolean explicitVr;
    private ByteOrder order;

    private Part10Scanner(Path file, FileChannel channel) throws IOException {
        this.file = file;
        this.channel = channel;
        this.size = channel.size();
    }

    /** Returns the transfer syntax UID of the data set; throws if the file is cut short. */
    static String check(Path file) throws DicomDataException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return new Part10Scanner(file, channel).scan();
        } catch (IOException e) {
            throw new DicomDataException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private String scan() throws IOException, DicomDataException {
        long pos = 132; // preamble + "DICM", checked by the caller
        explicitVr = true;
        order = ByteOrder.LITTLE_ENDIAN;
        String transferSyntax = null;
        while (pos + 8 <= size) {
            ByteBuffer h = read(pos, 8);
            int group = h.getShort(0) & 0xffff;
            if (group != 0x0002) {
                break;
            }
            int tag = (group << 16) | (h.getShort(2) & 0xffff);
            long[] header = explicitHeader(pos, h, tag);
            long valueStart = pos + header[0];
            long length = header[1];
            if (length == UNDEFINED || valueStart + length > size) {
                throw truncated(tag, pos, length, valueStart);
            }
            if (tag == 0x00020010) {
                transferSyntax = new String(
                                read(valueStart, (int) Math.min(length, 64)).array(), StandardCharsets.US_ASCII)
                        .replace("\0", "")
                        .trim();
            }
            pos = valueStart + length;
        }
        if (transferSyntax == null) {
            throw new DicomDataException(
                    file + ": no TransferSyntaxUID in the file meta information (truncated or not Part-10)");
        }
        switch (transferSyntax) {
            case IMPLICIT_LE -> explicitVr = false;
            case EXPLICIT_BE -> order = ByteOrder.BIG_ENDIAN;
            case DEFLATED -> {
                return transferSyntax;
            }
            default -> { // explicit LE and all encapsulated (compressed) syntaxes
            }
        }
        if (pos < size && pos + 8 > size) {
            throw new DicomDataException(file + ": truncated (partial element header at byte " + pos + ")");
        }
        walk(pos, size, 0, false);
        return transferSyntax;
    }

    /** Walks elements from {@code pos} to {@code end} (or to an item delimiter if {@code inItem}); returns the end. */
    private long walk(long pos, long end, int depth, boolean inItem) throws IOException, DicomDataException {
        if (depth > MAX_DEPTH) {
            throw new DicomDataException(file + ": sequences nested deeper than " + MAX_DEPTH + " levels (corrupt?)");
        }
        while (pos < end) {
            if (pos + 8 > size) {
                throw new DicomDataException(file + ": truncated (partial element header at byte " + pos + ")");
            }
            ByteBuffer h = read(pos, 8);
            int tag = ((h.getShort(0) & 0xffff) << 16) | (h.getShort(2) & 0xffff);
            if (tag == ITEM_END) {
                if (inItem) {
                    return pos + 8;
                }
                pos += 8; // stray delimiter: tolerate, as PixelMed does
                continue;
            }
            long headerLength;
            long length;
            boolean sequence;
            if (explicitVr && (tag >>> 16) != 0xFFFE) {
                long[] header = explicitHeader(pos, h, tag);
                headerLength = header[0];
                length = header[1];
                sequence = header[2] == 1;
            } else {
                headerLength = 8;
                length = h.getInt(4) & 0xFFFFFFFFL;
                sequence = length == UNDEFINED; // implicit VR: undefined length means SQ (or encapsulated data)
            }
            long valueStart = pos + headerLength;
            boolean fragments = tag == PIXEL_DATA; // encapsulated pixel data: its items are compressed bytes
            if (length == UNDEFINED) {
                if (!sequence) {
                    throw new DicomDataException(
                            file + ": undefined length on a non-sequence element " + tagText(tag) + " at byte " + pos);
                }
                pos = walkSequence(valueStart, Long.MAX_VALUE, depth + 1, fragments);
            } else {
                if (valueStart + length > size) {
                    throw truncated(tag, pos, length, valueStart);
                }
                if (sequence && !fragments) {
                    // walked too, not skipped: the depth bound must hold for defined lengths, or thousands of nested
                    // defined-length sequences reach PixelMed's recursive reader and overflow its stack
                    walkSequence(valueStart, valueStart + length, depth + 1, false);
                }
                pos = valueStart + length;
            }
        }
        if (inItem) {
            throw new DicomDataException(file + ": truncated (item without delimiter at end of file)");
        }
        return pos;
    }

    /**
     * Items of a sequence (or of encapsulated pixel data: {@code fragments}, not walked into) up to the sequence
     * delimiter, or up to {@code end} for a sequence of defined length ({@code Long.MAX_VALUE}: undefined).
     */
    private long walkSequence(long pos, long end, int depth, boolean fragments) throws IOException, DicomDataException {
        while (true) {
            if (end != Long.MAX_VALUE && pos >= end) {
                return pos;
            }
            if (pos + 8 > size) {
                throw new DicomDataException(file + ": truncated (sequence without delimiter at end of file)");
            }
            ByteBuffer h = read(pos, 8);
            int tag = ((h.getShort(0) & 0xffff) << 16) | (h.getShort(2) & 0xffff);
            long length = h.getInt(4) & 0xFFFFFFFFL;
            if (tag == SEQUENCE_END) {
                return pos + 8;
            }
            if (tag != ITEM) {
                throw new DicomDataException(file + ": corrupt sequence: " + tagText(tag) + " at byte " + pos
                        + " where an item was expected");
            }
            if (length == UNDEFINED) {
                pos = walk(pos + 8, Long.MAX_VALUE, depth, true);
            } else {
                if (pos + 8 + length > size) {
                    throw truncated(tag, pos, length, pos + 8);
                }
                if (!fragments) {
                    walk(pos + 8, pos + 8 + length, depth, false);
                }
                pos = pos + 8 + length;
            }
        }
    }

    /** {header length, value length, is-sequence (1/0)} of an explicit VR element whose first 8 bytes are {@code h}. */
    private long[] explicitHeader(long pos, ByteBuffer h, int tag) throws IOException, DicomDataException {
        char v1 = (char) (h.get(4) & 0xff);
        char v2 = (char) (h.get(5) & 0xff);
        String vr = "" + v1 + v2;
        boolean longForm = switch (vr) {
            case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV" -> true;
            default -> false;
        };
        if (longForm) {
            if (pos + 12 > size) {
                throw new DicomDataException(
                        file + ": truncated (partial header of " + tagText(tag) + " at byte " + pos + ")");
            }
            long length = read(pos + 8, 4).getInt(0) & 0xFFFFFFFFL;
            boolean sequence = vr.equals("SQ") || (length == UNDEFINED && (vr.equals("UN") || vr.startsWith("O")));
            return new long[] {12, length, sequence ? 1 : 0};
        }
        return new long[] {8, h.getShort(6) & 0xffff, 0};
    }

    private ByteBuffer read(long pos, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n).order(order);
        while (b.hasRemaining()) {
            int r = channel.read(b, pos + b.position());
            if (r < 0) {
                break;
            }
        }
        b.flip();
        if (b.remaining() < n) {
            ByteBuffer full = ByteBuffer.allocate(n).order(order);
            full.put(b);
            full.flip();
            return full;
        }
        return b;
    }

    private DicomDataException truncated(int tag, long pos, long length, long valueStart) {
        if (length == UNDEFINED) {
            return new DicomDataException(file + ": corrupt file meta information: undefined length at byte " + pos);
        }
        return new DicomDataException(file + ": truncated or corrupt: element " + tagText(tag) + " at byte " + pos
                + " declares " + length + " bytes but only " + Math.max(0, size - valueStart) + " remain");
    }

    private static String tagText(int tag) {
        return String.format("(%04X,%04X)", tag >>> 16, tag & 0xffff);
    }
}
