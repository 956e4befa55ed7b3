package org.meddiff.gateway.dicom.pixelmed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import com.pixelmed.dicom.Attribute;
import com.pixelmed.dicom.AttributeList;
import com.pixelmed.dicom.SequenceAttribute;
import com.pixelmed.dicom.TagFromName;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.dicom.Dciodvfy;
import org.meddiff.gateway.dicom.DerivedSeriesResult;
import org.meddiff.gateway.dicom.DerivedSeriesSpec;
import org.meddiff.gateway.dicom.DerivedUids;
import org.meddiff.gateway.dicom.DicomDataException;
import org.meddiff.gateway.dicom.InstanceHeader;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.fixtures.SyntheticCtSeries.Params;
import org.meddiff.gateway.infer.baseline.CubicSliceInterpolator;
import org.meddiff.gateway.volume.ColourVolume;
import org.meddiff.gateway.volume.Volume;
import org.meddiff.gateway.volume.VolumeGeometry;

class PixelMedDatasetsWriteTest {

    private static final String DERIVATION = "MedDiff-FM super-resolution 1.0.0 (test)";

    private final PixelMedDatasets datasets = new PixelMedDatasets();

    @TempDir
    Path tmp;

    private Params params;
    private List<Path> sources;
    private Volume source;

    @BeforeEach
    void source() throws Exception {
        params = Params.thick(32, 6)
                .withSeed(11)
                .withDescription("Abdomen 5.0 B30f")
                .withSeriesNumber(4);
        sources = SyntheticCtSeries.write(tmp.resolve("src"), params);
        source = datasets.readVolume(sources);
    }

    private static DerivedSeriesSpec spec(String seed) {
        return new DerivedSeriesSpec(seed, "[MedDiff-FM SR 1mm]", 1000, DERIVATION, 40, 400);
    }

    @Test
    void sameSeedSameUidsDifferentSeedDifferentUids() throws Exception {
        Volume thin = CubicSliceInterpolator.resample(source, 1.0);
        DerivedSeriesResult a = datasets.writeDerivedSeries(sources, thin, spec("s/sr/v1"), tmp.resolve("a"));
        DerivedSeriesResult b = datasets.writeDerivedSeries(sources, thin, spec("s/sr/v1"), tmp.resolve("b"));
        DerivedSeriesResult c = datasets.writeDerivedSeries(sources, thin, spec("s/sr/v2"), tmp.resolve("c"));

        assertEquals(a.seriesInstanceUid(), b.seriesInstanceUid());
        assertEquals(DerivedUids.seriesInstanceUid("s/sr/v1"), a.seriesInstanceUid());
        assertNotEquals(a.seriesInstanceUid(), c.seriesInstanceUid());
        assertNotEquals(params.resolvedSeriesUid(), a.seriesInstanceUid());

        Set<String> all = new HashSet<>();
        for (int i = 0; i < a.files().size(); i++) {
            InstanceHeader ha = datasets.readHeader(a.files().get(i));
            InstanceHeader hb = datasets.readHeader(b.files().get(i));
            InstanceHeader hc = datasets.readHeader(c.files().get(i));
            assertEquals(ha.sopInstanceUid(), hb.sopInstanceUid());
            assertEquals(DerivedUids.sopInstanceUid("s/sr/v1", i + 1), ha.sopInstanceUid());
            assertNotEquals(ha.sopInstanceUid(), hc.sopInstanceUid());
            assertEquals(a.seriesInstanceUid(), ha.seriesInstanceUid());
            for (String uid : List.of(ha.sopInstanceUid(), hc.sopInstanceUid(), ha.seriesInstanceUid())) {
                assertTrue(DerivedUids.isValid(uid), uid);
            }
            assertTrue(all.add(ha.sopInstanceUid()));
            assertTrue(all.add(hc.sopInstanceUid()));
        }
    }

    @Test
    void filesAreNamedByInstanceNumberAndNoTemporaryFilesRemain() throws Exception {
        Path out = tmp.resolve("out/nested");
        DerivedSeriesResult r = datasets.writeDerivedSeries(sources, source, spec("names"), out);
        List<String> names =
                r.files().stream().map(f -> f.getFileName().toString()).toList();
        assertEquals(List.of("0001.dcm", "0002.dcm", "0003.dcm", "0004.dcm", "0005.dcm", "0006.dcm"), names);
        try (Stream<Path> listing = Files.list(out)) {
            assertEquals(6, listing.count(), "only the six instances, no temporary files");
        }
        // a retry overwrites in place with the same names and UIDs
        DerivedSeriesResult again = datasets.writeDerivedSeries(sources, source, spec("names"), out);
        assertEquals(r, again);
    }

    @Test
    void headerAttributesOfTheDerivedSeries() throws Exception {
        Volume thin = CubicSliceInterpolator.resample(source, 1.0);
        DerivedSeriesResult r = datasets.writeDerivedSeries(sources, thin, spec("attrs"), tmp.resolve("out"));
        InstanceHeader h = datasets.readHeader(r.files().get(0));
        assertEquals("1.2.840.10008.5.1.4.1.1.2", h.sopClassUid());
        assertEquals(params.resolvedStudyUid(), h.studyInstanceUid());
        assertEquals("CT", h.modality());
        assertEquals(1004, h.seriesNumber());
        assertEquals(1, h.instanceNumber());
        assertEquals("Abdomen 5.0 B30f [MedDiff-FM SR 1mm]", h.seriesDescription());
        assertEquals(List.of("DERIVED", "SECONDARY", "AXIAL"), h.imageType());
        assertEquals(DERIVATION, h.derivationDescription());
        assertEquals(1.0, h.sliceThicknessMm(), 1e-9);
        assertEquals("ABDOMEN", h.bodyPartExamined());

        AttributeList l = read(r.files().get(0));
        assertEquals("meddiff-gateway", Attribute.getSingleStringValueOrNull(l, TagFromName.SoftwareVersions));
        assertEquals("MedDiff Synthetic", Attribute.getSingleStringValueOrNull(l, TagFromName.Manufacturer));
        assertEquals("HFS", Attribute.getSingleStringValueOrNull(l, TagFromName.PatientPosition));
        assertEquals("SYN-11", Attribute.getSingleStringValueOrNull(l, TagFromName.PatientID));
        assertEquals(
                params.frameOfReferenceUid(), Attribute.getSingleStringValueOrNull(l, TagFromName.FrameOfReferenceUID));
        assertEquals("1.2.840.10008.1.2.1", Attribute.getSingleStringValueOrNull(l, TagFromName.TransferSyntaxUID));
        assertEquals("40", Attribute.getSingleStringValueOrNull(l, TagFromName.WindowCenter));
        assertEquals("400", Attribute.getSingleStringValueOrNull(l, TagFromName.WindowWidth));
        assertEquals(1, Attribute.getSingleIntegerValueOrDefault(l, TagFromName.PixelRepresentation, -1));
        assertEquals(
                params.resolvedSeriesUid(),
                SequenceAttribute.getNamedAttributeFromWithinSequenceWithSingleItem(
                                l, TagFromName.ReferencedSeriesSequence, TagFromName.SeriesInstanceUID)
                        .getSingleStringValueOrNull());

        String longDescription = "x".repeat(60);
        DerivedSeriesSpec longSpec = new DerivedSeriesSpec("long", longDescription, 0, DERIVATION, 40, 400);
        InstanceHeader truncated =
                datasets.readHeader(datasets.writeDerivedSeries(sources, source, longSpec, tmp.resolve("long"))
                        .files()
                        .get(0));
        assertEquals(64, truncated.seriesDescription().length());
    }

    @Test
    void geometryAndSourceReferencesPerSlice() throws Exception {
        Volume thin = CubicSliceInterpolator.resample(source, 1.0);
        VolumeGeometry g = thin.geometry();
        assertEquals(26, g.slices()); // 25 mm from first to last source slice, every 1 mm
        DerivedSeriesResult r = datasets.writeDerivedSeries(sources, thin, spec("geometry"), tmp.resolve("out"));
        assertEquals(26, r.files().size());
        for (int z = 0; z < g.slices(); z++) {
            AttributeList l = read(r.files().get(z));
            double[] ipp = Attribute.getDoubleValues(l, TagFromName.ImagePositionPatient);
            assertArrayEquals(g.slicePosition(z), ipp, 1e-6, "slice " + z);
            assertEquals(
                    ipp[2], Attribute.getSingleDoubleValueOrDefault(l, TagFromName.SliceLocation, Double.NaN), 1e-6);
            assertEquals(1.0, Attribute.getSingleDoubleValueOrDefault(l, TagFromName.SliceThickness, 0), 1e-9);
            assertEquals(1.0, Attribute.getSingleDoubleValueOrDefault(l, TagFromName.SpacingBetweenSlices, 0), 1e-9);
            assertEquals(z + 1, Attribute.getSingleIntegerValueOrDefault(l, TagFromName.InstanceNumber, -1));
            assertArrayEquals(
                    new double[] {1, 0, 0, 0, 1, 0},
                    Attribute.getDoubleValues(l, TagFromName.ImageOrientationPatient),
                    1e-9);
            assertArrayEquals(
                    new double[] {params.pixelSpacingMm(), params.pixelSpacingMm()},
                    Attribute.getDoubleValues(l, TagFromName.PixelSpacing),
                    1e-9);

            // the referenced source slice is the nearest one along z
            String referenced = SequenceAttribute.getNamedAttributeFromWithinSequenceWithSingleItem(
                            l, TagFromName.SourceImageSequence, TagFromName.ReferencedSOPInstanceUID)
                    .getSingleStringValueOrNull();
            int nearestInstance = 1;
            double best = Double.MAX_VALUE;
            for (int i = 1; i <= params.slices(); i++) {
                double d = Math.abs(params.imagePosition(i)[2] - ipp[2]);
                if (d < best - 1e-9) {
                    best = d;
                    nearestInstance = i;
                }
            }
            assertEquals(params.sopInstanceUid(nearestInstance), referenced, "slice " + z);
        }
    }

    @Test
    void pixelValuesRoundTripWithinHalfHu() throws Exception {
        Volume thin = CubicSliceInterpolator.resample(source, 1.0); // fractional HU
        DerivedSeriesResult r = datasets.writeDerivedSeries(sources, thin, spec("values"), tmp.resolve("out"));
        Volume back = datasets.readVolume(r.files());
        assertGeometryEquals(thin.geometry(), back.geometry());
        assertClose(thin, back, 0.5);
    }

    @Test
    void wideHuRangeUsesAShiftedInterceptAndStaysLossless() throws Exception {
        VolumeGeometry g = source.geometry();
        float[] voxels = source.voxels().clone();
        voxels[0] = -3000;
        voxels[1] = 40_000;
        voxels[2] = 12_345.4f;
        Volume wide = new Volume(g, voxels);
        DerivedSeriesWriter.Rescale rescale = DerivedSeriesWriter.Rescale.fitting(voxels);
        assertNotEquals(-1024.0, rescale.intercept());
        DerivedSeriesResult r = datasets.writeDerivedSeries(sources, wide, spec("wide"), tmp.resolve("out"));
        assertClose(wide, datasets.readVolume(r.files()), 0.5);
        Dciodvfy.assertNoErrors(r.files());
    }

    @Test
    void rescaleChoice() {
        assertEquals(
                new DerivedSeriesWriter.Rescale(-1024, 1),
                DerivedSeriesWriter.Rescale.fitting(new float[] {-1024, 3071, 0}));
        assertEquals(
                new DerivedSeriesWriter.Rescale(-1024, 1),
                DerivedSeriesWriter.Rescale.fitting(new float[] {-33792, 31743}));
        DerivedSeriesWriter.Rescale shifted = DerivedSeriesWriter.Rescale.fitting(new float[] {0, 60000});
        assertEquals(32768, shifted.intercept());
        assertEquals(Short.MIN_VALUE, shifted.stored(0));
        assertEquals(60000 - 32768, shifted.stored(60000));
        DerivedSeriesWriter.Rescale clamped = DerivedSeriesWriter.Rescale.fitting(new float[] {-40000, 40000});
        assertEquals(Short.MIN_VALUE, clamped.stored(-40000));
        assertEquals(Short.MAX_VALUE, clamped.stored(40000));
    }

    @Test
    void dciodvfyReportsNoErrorsOnEveryDerivedFile() throws Exception {
        Volume thin = CubicSliceInterpolator.resample(source, 1.0);
        DerivedSeriesResult r = datasets.writeDerivedSeries(sources, thin, spec("dciodvfy"), tmp.resolve("out"));
        Collection<String> warnings = Dciodvfy.assertNoErrors(r.files());
        System.out.println("dciodvfy warnings on the derived series: " + (warnings.isEmpty() ? "none" : warnings));
    }

    @Test
    void derivedFromImplicitVrSourceWithOddGeometryIsValid() throws Exception {
        Params odd = Params.thick(24, 4)
                .withTransferSyntax(SyntheticCtSeries.TransferSyntax.IMPLICIT_VR_LITTLE_ENDIAN)
                .withThicknessAndSpacing(3.0, 2.7)
                .withPixelSpacing(0.7031249876543)
                .withFirstSliceZ(-123.456789);
        List<Path> src = SyntheticCtSeries.write(tmp.resolve("odd"), odd);
        Volume v = CubicSliceInterpolator.resample(datasets.readVolume(src), 0.7);
        DerivedSeriesResult r = datasets.writeDerivedSeries(src, v, spec("odd"), tmp.resolve("odd-out"));
        Dciodvfy.assertNoErrors(r.files());
        for (Path f : r.files()) {
            AttributeList l = read(f);
            for (String ds : Attribute.getStringValues(l, TagFromName.ImagePositionPatient)) {
                assertTrue(ds.length() <= 16, ds);
            }
        }
        Volume back = datasets.readVolume(r.files());
        assertGeometryEquals(v.geometry(), back.geometry());
        assertClose(v, back, 0.5);
    }

    /** The colour-fused anomaly series: RGB secondary captures on the CT's grid, beside the map in one directory. */
    @Test
    void colourSeriesIsRgbSecondaryCaptureOnTheSourceGridBesideAMap() throws Exception {
        VolumeGeometry g = source.geometry();
        byte[] rgb = new byte[3 * source.voxels().length];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (byte) (i * 7 % 251);
        }
        Path out = tmp.resolve("anomaly");
        DerivedSeriesResult map = datasets.writeDerivedSeries(sources, source, spec("anomaly"), out);
        DerivedSeriesResult fused = datasets.writeColourSeries(
                sources,
                new ColourVolume(g, rgb),
                new DerivedSeriesSpec("anomaly/fused", "[MedDiff-FM anomaly fused]", 1001, DERIVATION, 40, 400),
                "fused",
                out);
        assertEquals(g.slices(), fused.files().size());
        assertEquals(
                2 * g.slices(),
                Files.list(out).filter(f -> f.toString().endsWith(".dcm")).count(),
                "both series in one dir");
        assertTrue(
                fused.files().get(0).getFileName().toString().equals("fused-0001.dcm"),
                fused.files().get(0).toString());
        assertFalse(map.seriesInstanceUid().equals(fused.seriesInstanceUid()));
        int plane = 3 * g.rows() * g.columns();
        for (int z = 0; z < g.slices(); z++) {
            AttributeList c = read(fused.files().get(z));
            AttributeList m = read(map.files().get(z));
            assertEquals("1.2.840.10008.5.1.4.1.1.7", Attribute.getSingleStringValueOrNull(c, TagFromName.SOPClassUID));
            assertEquals("RGB", Attribute.getSingleStringValueOrNull(c, TagFromName.PhotometricInterpretation));
            assertEquals(3, Attribute.getSingleIntegerValueOrDefault(c, TagFromName.SamplesPerPixel, 0));
            assertEquals(0, Attribute.getSingleIntegerValueOrDefault(c, TagFromName.PlanarConfiguration, -1));
            assertEquals("WSD", Attribute.getSingleStringValueOrNull(c, TagFromName.ConversionType));
            assertEquals("L\\P", Attribute.getDelimitedStringValuesOrEmptyString(c, TagFromName.PatientOrientation));
            assertTrue(Attribute.getSingleStringValueOrNull(c, TagFromName.SeriesDescription)
                    .endsWith("[MedDiff-FM anomaly fused]"));
            for (var tag : List.of(
                    TagFromName.StudyInstanceUID,
                    TagFromName.PatientID,
                    TagFromName.FrameOfReferenceUID,
                    TagFromName.ImagePositionPatient,
                    TagFromName.ImageOrientationPatient,
                    TagFromName.PixelSpacing)) {
                assertEquals(
                        Attribute.getDelimitedStringValuesOrEmptyString(m, tag),
                        Attribute.getDelimitedStringValuesOrEmptyString(c, tag),
                        "the fused image lies where the map's does: " + tag);
            }
            byte[] pixels = c.get(TagFromName.PixelData).getByteValues();
            assertArrayEquals(Arrays.copyOfRange(rgb, z * plane, (z + 1) * plane), pixels, "slice " + z);
        }
        Collection<String> warnings = Dciodvfy.assertNoErrors(fused.files());
        System.out.println("dciodvfy warnings on the colour series: " + (warnings.isEmpty() ? "none" : warnings));
    }

    @Test
    void colourSeriesRefusesAFileNamePrefixThatCouldCollide() {
        var image = new ColourVolume(source.geometry(), new byte[3 * source.voxels().length]);
        for (String bad : new String[] {"", "../x", "Fused", "0001"}) {
            assertThrows(
                    DicomDataException.class,
                    () -> datasets.writeColourSeries(sources, image, spec("bad"), bad, tmp.resolve("bad")),
                    bad);
        }
    }

    // ------------------------------------------------------------------ helpers

    private static AttributeList read(Path file) throws Exception {
        AttributeList l = new AttributeList();
        l.read(file.toString());
        return l;
    }

    private static void assertGeometryEquals(VolumeGeometry expected, VolumeGeometry actual) {
        assertEquals(expected.columns(), actual.columns());
        assertEquals(expected.rows(), actual.rows());
        assertEquals(expected.slices(), actual.slices());
        assertArrayEquals(expected.origin(), actual.origin(), 1e-4);
        assertArrayEquals(expected.sliceDirection(), actual.sliceDirection(), 1e-9);
        assertEquals(expected.spacingX(), actual.spacingX(), 1e-6);
        assertEquals(expected.spacingY(), actual.spacingY(), 1e-6);
        assertEquals(expected.spacingZ(), actual.spacingZ(), 1e-6);
        assertEquals(expected.sliceThickness(), actual.sliceThickness(), 1e-6);
    }

    private static void assertClose(Volume expected, Volume actual, double tolerance) {
        float[] a = expected.voxels(), b = actual.voxels();
        assertEquals(a.length, b.length);
        List<String> bad = new ArrayList<>();
        double maxError = 0;
        for (int i = 0; i < a.length; i++) {
            double e = Math.abs(a[i] - b[i]);
            maxError = Math.max(maxError, e);
            if (e > tolerance && bad.size() < 5) {
                bad.add(i + ": " + a[i] + " vs " + b[i]);
            }
        }
        assertTrue(bad.isEmpty(), "max error " + maxError + " HU; e.g. " + bad);
    }
}
