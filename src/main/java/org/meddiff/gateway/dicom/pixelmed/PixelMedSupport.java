package org.meddiff.gateway.dicom.pixelmed;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;

import com.pixelmed.dicom.Attribute;
import com.pixelmed.dicom.AttributeFactory;
import com.pixelmed.dicom.AttributeList;
import com.pixelmed.dicom.AttributeTag;
import com.pixelmed.dicom.DicomException;
import com.pixelmed.dicom.DicomInputStream;
import com.pixelmed.dicom.TagFromName;
import com.pixelmed.dicom.TransferSyntax;
import org.meddiff.gateway.Failures;
import org.meddiff.gateway.dicom.DicomDataException;

/** Small PixelMed helpers shared by {@link PixelMedDatasets}: reading, typed getters, DS formatting. */
final class PixelMedSupport {

    /** Uncompressed transfer syntaxes whose pixel data {@code readVolume} decodes. */
    static final Set<String> NATIVE_TRANSFER_SYNTAXES = Set.of(
            TransferSyntax.ImplicitVRLittleEndian,
            TransferSyntax.ExplicitVRLittleEndian,
            TransferSyntax.ExplicitVRBigEndian,
            TransferSyntax.DeflatedExplicitVRLittleEndian);

    private PixelMedSupport() {}

    /**
     * Reads a Part-10 file. With {@code untilPixelData} the read stops before (7FE0,0010), otherwise the
     * whole file is parsed and a pixel data element shorter than the image needs counts as truncation.
     */
    static AttributeList read(Path file, boolean untilPixelData) throws DicomDataException {
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            throw new DicomDataException(file + ": no such file");
        } catch (IOException e) {
            throw new DicomDataException(file + ": cannot read: " + Failures.reason(e), e);
        }
        if (size < 132) {
            throw new DicomDataException(file + ": not a DICOM Part-10 file (" + size + " bytes, truncated or empty)");
        }
        AttributeList list = new AttributeList();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            in.mark(256);
            byte[] preamble = in.readNBytes(132);
            if (!"DICM".equals(new String(preamble, 128, 4, StandardCharsets.US_ASCII))) {
                throw new DicomDataException(file + ": not a DICOM Part-10 file (no DICM prefix at byte 128)");
            }
            in.reset();
            Part10Scanner.check(file); // PixelMed would swallow a truncated tail: find it first
            DicomInputStream dis = new DicomInputStream(in);
            if (untilPixelData) {
                list.read(dis, TagFromName.PixelData);
            } else {
                list.read(dis);
            }
        } catch (DicomDataException e) {
            throw e;
        } catch (EOFException e) {
            throw new DicomDataException(file + ": truncated (unexpected end of file)", e);
        } catch (IOException | DicomException | RuntimeException e) {
            throw new DicomDataException(
                    file + ": unreadable DICOM (" + e.getClass().getSimpleName()
                            + (e.getMessage() == null || e.getMessage().isBlank() ? "" : ": " + e.getMessage()) + ")",
                    e);
        } catch (OutOfMemoryError e) { // a corrupt value length can ask PixelMed for a huge array
            throw new DicomDataException(file + ": unreadable DICOM (corrupt value length)", e);
        } catch (
                StackOverflowError
                        e) { // nesting the scanner cannot see (implicit VR, defined lengths) recurses too deep
            throw new DicomDataException(file + ": unreadable DICOM (sequences nested too deeply)");
        }
        if (!untilPixelData) {
            checkPixelDataComplete(file, list);
        }
        return list;
    }

    /** Native pixel data must hold rows x columns x frames x samples x bitsAllocated bits. */
    private static void checkPixelDataComplete(Path file, AttributeList list) throws DicomDataException {
        Attribute pixelData = list.get(TagFromName.PixelData);
        String ts = string(list, TagFromName.TransferSyntaxUID);
        if (pixelData == null) {
            if (list.get(TagFromName.Rows) != null && list.get(TagFromName.BitsAllocated) != null) {
                throw new DicomDataException(file + ": truncated (image attributes present but no PixelData)");
            }
            return;
        }
        if (ts != null && !NATIVE_TRANSFER_SYNTAXES.contains(ts)) {
            return; // encapsulated: fragments, no fixed length to check
        }
        long rows = intOr(list, TagFromName.Rows, 0);
        long columns = intOr(list, TagFromName.Columns, 0);
        long frames = Math.max(1, intOr(list, TagFromName.NumberOfFrames, 1));
        long samples = Math.max(1, intOr(list, TagFromName.SamplesPerPixel, 1));
        long bits = intOr(list, TagFromName.BitsAllocated, 0);
        long expected;
        try {
            expected = Math.addExact(
                            Math.multiplyExact(
                                    Math.multiplyExact(
                                            Math.multiplyExact(Math.multiplyExact(rows, columns), frames), samples),
                                    bits),
                            7)
                    / 8;
        } catch (ArithmeticException e) {
            // dimensions no file can hold: unchecked, the product wrapped around and a few bytes passed for them
            expected = Long.MAX_VALUE;
        }
        long actual = pixelData.getVL();
        if (actual < expected) {
            throw new DicomDataException(
                    file + ": truncated (PixelData has " + actual + " bytes, image needs " + expected + ")");
        }
    }

    static String string(AttributeList list, AttributeTag tag) {
        String s = Attribute.getSingleStringValueOrNull(list, tag);
        if (s == null) {
            return null;
        }
        s = s.trim();
        return s.isEmpty() ? null : s;
    }

    static Integer integer(AttributeList list, AttributeTag tag) {
        String s = string(list, tag);
        if (s == null) {
            return null;
        }
        try {
            return Integer.valueOf(s.startsWith("+") ? s.substring(1) : s);
        } catch (NumberFormatException e) {
            try {
                return (int) Math.round(Double.parseDouble(s));
            } catch (NumberFormatException e2) {
                return null;
            }
        }
    }

    static int intOr(AttributeList list, AttributeTag tag, int fallback) {
        Attribute a = list.get(tag);
        if (a == null || a.getVM() == 0) {
            return fallback;
        }
        return a.getSingleIntegerValueOrDefault(fallback);
    }

    static Double decimal(AttributeList list, AttributeTag tag) {
        String s = string(list, tag);
        if (s == null) {
            return null;
        }
        try {
            return Double.valueOf(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** All values as doubles, or null when absent, empty, malformed, or not exactly {@code count} values. */
    static double[] decimals(AttributeList list, AttributeTag tag, int count) {
        String[] values = Attribute.getStringValues(list, tag);
        if (values == null || values.length != count) {
            return null;
        }
        double[] out = new double[count];
        for (int i = 0; i < count; i++) {
            try {
                out[i] = Double.parseDouble(values[i].trim());
            } catch (NumberFormatException e) {
                return null;
            }
            if (!Double.isFinite(out[i])) {
                return null;
            }
        }
        return out;
    }

    static String[] strings(AttributeList list, AttributeTag tag) {
        String[] values = Attribute.getStringValues(list, tag);
        if (values == null) {
            return new String[0];
        }
        return Arrays.stream(values).map(v -> v == null ? "" : v.trim()).toArray(String[]::new);
    }

    /** DS text of at most 16 characters (PS3.5 6.2): plain notation, as many significant digits as fit. */
    static String ds(double v) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException("DS must be finite: " + v);
        }
        if (v == 0) {
            return "0";
        }
        for (int digits = 15; digits >= 1; digits--) {
            BigDecimal rounded =
                    new BigDecimal(v).round(new MathContext(digits)).stripTrailingZeros();
            String s = rounded.abs().compareTo(new BigDecimal("1e-6")) < 0
                            || rounded.abs().compareTo(new BigDecimal("1e15")) >= 0
                    ? rounded.toString()
                    : rounded.toPlainString();
            if (s.length() <= 16) {
                return s.equals("-0") ? "0" : s;
            }
        }
        throw new IllegalArgumentException("value does not fit a DS: " + v);
    }

    /** Puts a new attribute (VR from the dictionary) with the given string values; no values = empty (Type 2). */
    static void put(AttributeList list, AttributeTag tag, String... values) throws DicomException {
        Attribute a = AttributeFactory.newAttribute(tag);
        for (String v : values) {
            a.addValue(v);
        }
        list.put(a);
    }

    static void putDs(AttributeList list, AttributeTag tag, double... values) throws DicomException {
        Attribute a = AttributeFactory.newAttribute(tag);
        for (double v : values) {
            a.addValue(ds(v));
        }
        list.put(a);
    }

    static void putUs(AttributeList list, AttributeTag tag, int value) throws DicomException {
        Attribute a = AttributeFactory.newAttribute(tag);
        a.addValue(value);
        list.put(a);
    }

    static String truncate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max);
    }
}
