package org.meddiff.gateway.dicom.pixelmed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.BiConsumer;

import com.pixelmed.dicom.Attribute;
import com.pixelmed.dicom.AttributeFactory;
import com.pixelmed.dicom.AttributeList;
import com.pixelmed.dicom.AttributeTag;
import com.pixelmed.dicom.OtherWordAttribute;
import com.pixelmed.dicom.TagFromName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.meddiff.gateway.dicom.DicomDataException;
import org.meddiff.gateway.dicom.InstanceHeader;
import org.meddiff.gateway.dicom.net.Part10;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.fixtures.SyntheticCtSeries.Params;
import org.meddiff.gateway.fixtures.SyntheticCtSeries.TransferSyntax;
import org.meddiff.gateway.spool.Uids;
import org.meddiff.gateway.volume.Volume;
import org.meddiff.gateway.volume.VolumeGeometry;

class PixelMedDatasetsReadTest {

    private final PixelMedDatasets datasets = new PixelMedDatasets();

    @TempDir
    Path tmp;

    // ------------------------------------------------------------------ readHeader

    @Test
    void headerRoundTrip() throws Exception {
        Params p = Params.thick(32, 3)
                .withSeed(42)
                .withDescription("Abdomen 5mm")
                .withBodyPart("ABDOMEN")
                .withSeriesNumber(3);
        List<Path> files = SyntheticCtSeries.write(tmp, p);
        InstanceHeader h = datasets.readHeader(files.get(1));
        assertEquals(SyntheticCtSeries.CT_IMAGE_STORAGE, h.sopClassUid());
        assertEquals(p.sopInstanceUid(2), h.sopInstanceUid());
        assertEquals(p.resolvedStudyUid(), h.studyInstanceUid());
        assertEquals(p.resolvedSeriesUid(), h.seriesInstanceUid());
        assertEquals("CT", h.modality());
        assertEquals(3, h.seriesNumber());
        assertEquals(2, h.instanceNumber());
        assertEquals(5.0, h.sliceThicknessMm(), 1e-9);
        assertEquals("Abdomen 5mm", h.seriesDescription());
        assertEquals("ABDOMEN", h.bodyPartExamined());
        assertEquals(List.of("ORIGINAL", "PRIMARY", "AXIAL"), h.imageType());
        assertNull(h.derivationDescription());
    }

    @ParameterizedTest
    @EnumSource(TransferSyntax.class)
    void headerInEveryTransferSyntax(TransferSyntax ts) throws Exception {
        Params p = Params.thick(16, 2).withTransferSyntax(ts);
        InstanceHeader h = datasets.readHeader(SyntheticCtSeries.write(tmp, p).get(0));
        assertEquals(p.sopInstanceUid(1), h.sopInstanceUid());
        assertEquals(1, h.instanceNumber());
    }

    @Test
    void headerFailsOnMissingUid() throws Exception {
        Path file = SyntheticCtSeries.write(tmp, Params.thick(16, 1)).get(0);
        edit(file, l -> l.remove(TagFromName.SeriesInstanceUID));
        DicomDataException e = assertThrows(DicomDataException.class, () -> datasets.readHeader(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("missing SeriesInstanceUID"), e.getMessage());
    }

    @Test
    void headerFailsOnTruncatedFile() throws Exception {
        Path file = SyntheticCtSeries.write(tmp, Params.thick(16, 1)).get(0);
        byte[] bytes = Files.readAllBytes(file);
        // cut in the pixel data, in the header, and exactly before the pixel data element
        for (int cut : new int[] {bytes.length - 100, 700, bytes.length - 16 * 16 * 2 - 12}) {
            Path cutFile = tmp.resolve("cut-" + cut + ".dcm");
            Files.write(cutFile, Arrays.copyOf(bytes, cut));
            DicomDataException e = assertThrows(DicomDataException.class, () -> datasets.readHeader(cutFile));
            assertTrue(e.getMessage().contains(cutFile.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        }
    }

    /**
     * Found by the fuzz campaign (a bit flip in a UID's NUL padding): a UID ending in a control character was trimmed to
     * a valid one and the instance stored under it, while the file kept the control character, so the spool path and
     * the announced UID differed from the data set's own. Only the padding (trailing NUL, spaces) is insignificant.
     */
    @Test
    void headerKeepsControlCharactersOfAUidSoTheUidCheckSeesThem() throws Exception {
        Path file = SyntheticCtSeries.write(tmp, Params.thick(16, 1)).get(0);
        edit(file, l -> set(l, TagFromName.StudyInstanceUID, "1.2.3\u0001"));
        InstanceHeader h = datasets.readHeader(file);
        assertFalse(Uids.isValid(h.studyInstanceUid()), "read as '" + h.studyInstanceUid() + "'");
        Path padded = tmp.resolve("padded");
        Path other = SyntheticCtSeries.write(padded, Params.thick(16, 1)).get(0);
        edit(other, l -> set(l, TagFromName.SeriesInstanceUID, " 1.2.4 "));
        assertEquals("1.2.4", datasets.readHeader(other).seriesInstanceUid(), "spaces around a UID are padding");
    }

    /**
     * A Part-10 file of an explicit VR little endian data set with its UIDs and {@code depth} sequences nested in one
     * another, of defined or undefined length (bytes written here: PixelMed writes sequences one way only).
     */
    Path nestedSequences(int depth, boolean undefinedLength) throws Exception {
        ByteArrayOutputStream d = new ByteArrayOutputStream();
        BiConsumer<Integer, String> ui = (tag, value) -> {
            byte[] v = (value.length() % 2 == 0 ? value : value + "\0").getBytes(StandardCharsets.US_ASCII);
            d.writeBytes(new byte[] {
                (byte) (tag >>> 16),
                (byte) (tag >>> 24),
                (byte) (int) tag,
                (byte) (tag >>> 8),
                'U',
                'I',
                (byte) v.length,
                (byte) (v.length >>> 8)
            });
            d.writeBytes(v);
        };
        ui.accept(0x00080016, SyntheticCtSeries.CT_IMAGE_STORAGE);
        ui.accept(0x00080018, "1.2.3.4.1");
        ByteBuffer sq = ByteBuffer.allocate(depth * 36 + 16).order(ByteOrder.LITTLE_ENDIAN);
        if (undefinedLength) {
            for (int i = 0; i < depth; i++) {
                sq.putShort((short) 0x0008)
                        .putShort((short) 0x1140)
                        .put((byte) 'S')
                        .put((byte) 'Q')
                        .putShort((short) 0)
                        .putInt(-1);
                sq.putShort((short) 0xFFFE).putShort((short) 0xE000).putInt(-1);
            }
            for (int i = 0; i < depth; i++) {
                sq.putShort((short) 0xFFFE).putShort((short) 0xE00D).putInt(0);
                sq.putShort((short) 0xFFFE).putShort((short) 0xE0DD).putInt(0);
            }
        } else {
            for (int level = depth; level >= 1; level--) { // each level holds 20 header bytes per level below it
                int item = 20 * (level - 1);
                sq.putShort((short) 0x0008)
                        .putShort((short) 0x1140)
                        .put((byte) 'S')
                        .put((byte) 'Q')
                        .putShort((short) 0)
                        .putInt(item + 8);
                sq.putShort((short) 0xFFFE).putShort((short) 0xE000).putInt(item);
            }
        }
        d.write(sq.array(), 0, sq.position());
        ui.accept(0x0020000D, "1.2.3.4.2");
        ui.accept(0x0020000E, "1.2.3.4.3");
        Path file = tmp.resolve("nested-" + depth + (undefinedLength ? "-undefined" : "-defined") + ".dcm");
        Files.write(file, Part10.header(SyntheticCtSeries.CT_IMAGE_STORAGE, "1.2.3.4.1", "1.2.840.10008.1.2.1", null));
        Files.write(file, d.toByteArray(), StandardOpenOption.APPEND);
        return file;
    }

    /**
     * Found by the fuzz campaign: the 32-level bound on nested sequences held for undefined lengths only. Defined-length
     * sequences were skipped unread, so 40 levels were stored, and 5000 reached PixelMed's recursive reader, whose
     * StackOverflowError killed the association thread.
     */
    @Test
    void sequencesNestedDeeperThan32LevelsFailWhateverTheirLengthEncoding() throws Exception {
        for (boolean undefined : new boolean[] {false, true}) {
            assertEquals(
                    "1.2.3.4.1",
                    datasets.readHeader(nestedSequences(8, undefined)).sopInstanceUid(),
                    "8 levels are fine");
            for (int depth : new int[] {40, 5000}) {
                Path file = nestedSequences(depth, undefined);
                DicomDataException e = assertThrows(
                        DicomDataException.class,
                        () -> datasets.readHeader(file),
                        depth + " levels, " + (undefined ? "undefined" : "defined") + " length");
                assertTrue(e.getMessage().contains("nested deeper than 32"), e.getMessage());
            }
        }
    }

    /**
     * Found by the fuzz campaign: a UID with several values ("1.2.3\\..\\..\\x" or "1.2.3\\1.2.4") was read as its
     * first value, a valid UID, and the instance stored with Success under it. A UID has one value: the header now
     * carries all of them, which no UID check passes (DurableIngest refuses it with 0xC000 "invalid UID").
     */
    @Test
    void headerKeepsEveryValueOfAMultiValuedUid() throws Exception {
        Path file = SyntheticCtSeries.write(tmp, Params.thick(16, 1)).get(0);
        edit(file, l -> {
            set(l, TagFromName.StudyInstanceUID, "1.2.3\\1.2.4");
            set(l, TagFromName.SeriesInstanceUID, "1.2.5\\..\\..\\x");
        });
        InstanceHeader h = datasets.readHeader(file);
        assertEquals("1.2.3\\1.2.4", h.studyInstanceUid());
        assertEquals("1.2.5\\..\\..\\x", h.seriesInstanceUid());
        assertFalse(Uids.isValid(h.studyInstanceUid()));
    }

    /**
     * Found by the fuzz campaign: Rows x Columns x NumberOfFrames x SamplesPerPixel x BitsAllocated overflowed a long
     * for huge (but encodable) dimensions, the "bytes needed" came out negative, and 4 KiB of pixel data passed for a
     * 65535 x 65535 image of 2^31 - 1 frames (stored with Success).
     */
    @Test
    void headerFailsWhenHugeDimensionsOverflowThePixelDataCheck() throws Exception {
        for (String frames : new String[] {"2147483647", "999999999"}) {
            Path file = SyntheticCtSeries.write(tmp.resolve(frames), Params.thick(16, 1))
                    .get(0);
            edit(file, l -> {
                set(l, TagFromName.Rows, "65535");
                set(l, TagFromName.Columns, "65535");
                set(l, TagFromName.NumberOfFrames, frames);
            });
            DicomDataException e =
                    assertThrows(DicomDataException.class, () -> datasets.readHeader(file), frames + " frames");
            assertTrue(e.getMessage().contains("PixelData has 512 bytes"), e.getMessage());
        }
    }

    @Test
    void headerFailsOnNonDicomAndMissingFiles() throws Exception {
        Path text = tmp.resolve("notes.txt");
        Files.writeString(text, "hello ".repeat(100));
        DicomDataException e = assertThrows(DicomDataException.class, () -> datasets.readHeader(text));
        assertTrue(e.getMessage().contains("not a DICOM Part-10 file"), e.getMessage());
        DicomDataException missing =
                assertThrows(DicomDataException.class, () -> datasets.readHeader(tmp.resolve("nope.dcm")));
        assertTrue(missing.getMessage().contains("nope.dcm"), missing.getMessage());
    }

    // ------------------------------------------------------------------ readVolume

    @ParameterizedTest
    @EnumSource(TransferSyntax.class)
    void volumeOfSyntheticSeries(TransferSyntax ts) throws Exception {
        Params p = Params.thick(32, 6).withTransferSyntax(ts).withFirstSliceZ(100);
        Volume v = datasets.readVolume(SyntheticCtSeries.write(tmp, p));
        VolumeGeometry g = v.geometry();
        assertEquals(32, g.columns());
        assertEquals(32, g.rows());
        assertEquals(6, g.slices());
        // sorted along +z: the first voxel plane is the last (most inferior) instance
        assertArrayEquals(p.imagePosition(6), g.origin(), 1e-6);
        assertArrayEquals(new double[] {1, 0, 0}, g.rowDirection(), 1e-12);
        assertArrayEquals(new double[] {0, 1, 0}, g.columnDirection(), 1e-12);
        assertArrayEquals(new double[] {0, 0, 1}, g.sliceDirection(), 1e-12);
        assertEquals(p.pixelSpacingMm(), g.spacingX(), 1e-6);
        assertEquals(p.pixelSpacingMm(), g.spacingY(), 1e-6);
        assertEquals(5.0, g.spacingZ(), 1e-9);
        assertEquals(5.0, g.sliceThickness(), 1e-9);
        assertHuMatches(p, v);
    }

    @Test
    void signedPixelsAndValuesOutsideTheUnsignedRange() throws Exception {
        Params p = Params.thick(32, 3).withSignedPixels(true).withNoise(0);
        Volume v = datasets.readVolume(SyntheticCtSeries.write(tmp, p));
        assertHuMatches(p, v);
        assertEquals(-1000, v.at(0, 0, 0), 1.0); // air
        float max = Float.NEGATIVE_INFINITY;
        for (float f : v.voxels()) max = Math.max(max, f);
        assertTrue(max > 600, "bone present: " + max);
    }

    @Test
    void sortsShuffledFiles() throws Exception {
        Params p = Params.thick(16, 10);
        List<Path> files = new ArrayList<>(SyntheticCtSeries.write(tmp, p));
        Volume ordered = datasets.readVolume(files);
        Collections.shuffle(files, new Random(7));
        Volume shuffled = datasets.readVolume(files);
        assertArrayEquals(ordered.voxels(), shuffled.voxels());
        assertArrayEquals(ordered.geometry().origin(), shuffled.geometry().origin(), 0);
        assertHuMatches(p, shuffled);
    }

    @Test
    void realisticSizeAndThinSlices() throws Exception {
        Params p = Params.thick(128, 5).withThicknessAndSpacing(1.25, 0.625).withNoise(0);
        Volume v = datasets.readVolume(SyntheticCtSeries.write(tmp, p));
        assertEquals(0.625, v.geometry().spacingZ(), 1e-9);
        assertEquals(1.25, v.geometry().sliceThickness(), 1e-9);
        assertHuMatches(p, v);
    }

    @Test
    void missingSliceIsReportedWithNumbers() throws Exception {
        List<Path> files = new ArrayList<>(SyntheticCtSeries.write(tmp, Params.thick(16, 8)));
        files.remove(3);
        DicomDataException e = assertThrows(DicomDataException.class, () -> datasets.readVolume(files));
        assertTrue(e.getMessage().startsWith("missing slices"), e.getMessage());
        assertTrue(e.getMessage().contains("gap of 10.000 mm"), e.getMessage());
        assertTrue(e.getMessage().contains("spacing is 5.000 mm"), e.getMessage());
        assertTrue(e.getMessage().contains("about 1 slice(s) missing"), e.getMessage());
    }

    @Test
    void irregularSpacingIsReported() throws Exception {
        Params p = Params.thick(16, 8);
        List<Path> files = SyntheticCtSeries.write(tmp, p);
        double[] ipp = p.imagePosition(5);
        edit(files.get(4), l -> set(l, TagFromName.ImagePositionPatient, ipp[0] + "\\" + ipp[1] + "\\" + (ipp[2] - 1)));
        DicomDataException e = assertThrows(DicomDataException.class, () -> datasets.readVolume(files));
        assertTrue(e.getMessage().startsWith("irregular slice spacing"), e.getMessage());
        assertTrue(e.getMessage().contains("median spacing is 5.000 mm"), e.getMessage());
    }

    @Test
    void smallPositionRoundingIsTolerated() throws Exception {
        Params p = Params.thick(16, 4);
        List<Path> files = SyntheticCtSeries.write(tmp, p);
        double[] ipp = p.imagePosition(2);
        edit(
                files.get(1),
                l -> set(l, TagFromName.ImagePositionPatient, ipp[0] + "\\" + ipp[1] + "\\" + (ipp[2] + 0.02)));
        assertEquals(4, datasets.readVolume(files).geometry().slices());
    }

    @Test
    void mixedOrientationIsReported() throws Exception {
        List<Path> files = SyntheticCtSeries.write(tmp, Params.thick(16, 4));
        double c = Math.cos(Math.toRadians(5)), s = Math.sin(Math.toRadians(5));
        edit(
                files.get(2),
                l -> set(l, TagFromName.ImageOrientationPatient, c + "\\" + s + "\\0\\" + (-s) + "\\" + c + "\\0"));
        DicomDataException e = assertThrows(DicomDataException.class, () -> datasets.readVolume(files));
        assertTrue(e.getMessage().startsWith("mixed orientation"), e.getMessage());
        assertTrue(e.getMessage().contains(files.get(2).toString()), e.getMessage());
    }

    @Test
    void gantryTiltIsReported() throws Exception {
        Params p = Params.thick(16, 4);
        List<Path> files = SyntheticCtSeries.write(tmp, p);
        for (int i = 0; i < files.size(); i++) {
            double[] ipp = p.imagePosition(i + 1);
            double shiftedY = ipp[1] + ipp[2] * Math.tan(Math.toRadians(15)); // 15 degree tilt: y moves with z
            edit(files.get(i), l -> set(l, TagFromName.ImagePositionPatient, ipp[0] + "\\" + shiftedY + "\\" + ipp[2]));
        }
        DicomDataException e = assertThrows(DicomDataException.class, () -> datasets.readVolume(files));
        assertTrue(e.getMessage().startsWith("gantry tilt"), e.getMessage());
    }

    @Test
    void duplicatePositionsAreReported() throws Exception {
        List<Path> files = new ArrayList<>(SyntheticCtSeries.write(tmp, Params.thick(16, 4)));
        files.add(files.get(1));
        DicomDataException e = assertThrows(DicomDataException.class, () -> datasets.readVolume(files));
        assertTrue(e.getMessage().startsWith("duplicate slice position"), e.getMessage());
    }

    @Test
    void truncatedSliceIsReported() throws Exception {
        List<Path> files = SyntheticCtSeries.write(tmp, Params.thick(16, 4));
        byte[] bytes = Files.readAllBytes(files.get(2));
        Files.write(files.get(2), Arrays.copyOf(bytes, bytes.length - 50));
        DicomDataException e = assertThrows(DicomDataException.class, () -> datasets.readVolume(files));
        assertTrue(e.getMessage().contains(files.get(2).toString()), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void mixedSizesSeriesAndTooFewSlicesAreReported() throws Exception {
        List<Path> a = SyntheticCtSeries.write(tmp.resolve("a"), Params.thick(16, 3));
        List<Path> b =
                SyntheticCtSeries.write(tmp.resolve("b"), Params.thick(16, 3).withSeed(2));
        List<Path> mixedSeries = List.of(a.get(0), a.get(1), b.get(2));
        assertTrue(assertThrows(DicomDataException.class, () -> datasets.readVolume(mixedSeries))
                .getMessage()
                .startsWith("mixed series"));

        edit(a.get(2), l -> {
            set(l, TagFromName.Rows, "8");
            l.put(pixels(8 * 16));
        });
        assertTrue(assertThrows(DicomDataException.class, () -> datasets.readVolume(a))
                .getMessage()
                .startsWith("mixed image sizes"));

        assertTrue(assertThrows(DicomDataException.class, () -> datasets.readVolume(List.of(b.get(0))))
                .getMessage()
                .contains("at least 2 slices"));
    }

    // ------------------------------------------------------------------ helpers

    /** Every voxel equals the HU the synthetic encoder stored, at the slice it came from. */
    static void assertHuMatches(Params p, Volume v) {
        int n = v.geometry().slices();
        for (int z = 0; z < n; z++) {
            int instance = n - z; // instance 1 is the superior slice; the volume runs inferior -> superior
            float[] hu = SyntheticCtSeries.sliceHu(p, instance);
            for (int y = 0; y < p.rows(); y += 3) {
                for (int x = 0; x < p.columns(); x += 3) {
                    double expected = SyntheticCtSeries.encodedHu(p, hu[y * p.columns() + x]);
                    assertEquals(expected, v.at(x, y, z), 1e-3, "voxel " + x + "," + y + "," + z);
                }
            }
        }
    }

    interface Change {
        void apply(AttributeList list) throws Exception;
    }

    /** Rewrites a Part-10 file with a change (tests only: production code never edits source files). */
    static void edit(Path file, Change change) throws Exception {
        AttributeList list = new AttributeList();
        list.read(file.toString());
        change.apply(list);
        String ts = Attribute.getSingleStringValueOrNull(list, TagFromName.TransferSyntaxUID);
        Path out = file.resolveSibling(file.getFileName() + ".new");
        list.write(out.toString(), ts, true, true);
        Files.move(out, file, StandardCopyOption.REPLACE_EXISTING);
    }

    static void set(AttributeList list, AttributeTag tag, String backslashValues) throws Exception {
        Attribute a = AttributeFactory.newAttribute(tag);
        for (String v : backslashValues.split("\\\\")) {
            a.addValue(v);
        }
        list.put(a);
    }

    static Attribute pixels(int count) throws Exception {
        OtherWordAttribute a = new OtherWordAttribute(TagFromName.PixelData);
        a.setValues(new short[count]);
        return a;
    }
}
