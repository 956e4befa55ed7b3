package org.meddiff.gateway.dicom.pixelmed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.dicom.Dciodvfy;
import org.meddiff.gateway.dicom.DerivedSeriesResult;
import org.meddiff.gateway.dicom.DerivedSeriesSpec;
import org.meddiff.gateway.dicom.DicomDataException;
import org.meddiff.gateway.dicom.InstanceHeader;
import org.meddiff.gateway.infer.baseline.CubicSliceInterpolator;
import org.meddiff.gateway.volume.Volume;

/**
 * Real scanner data from the shared data folder (see its SOURCES.md); skipped where it is absent.
 * Set {@code -Dmeddiff.shared.data=DIR} to point elsewhere.
 */
class PixelMedDatasetsRealDataTest {

    private static final Path DATA = Path.of(System.getProperty("meddiff.shared.data", "/work/shared/data"));

    private final PixelMedDatasets datasets = new PixelMedDatasets();

    @TempDir
    Path tmp;

    private static List<Path> files(String dir, String suffix, int limit) throws Exception {
        Path d = DATA.resolve(dir);
        Assumptions.assumeTrue(Files.isDirectory(d), "real test data not present: " + d);
        try (Stream<Path> s = Files.list(d)) {
            return s.filter(p -> p.getFileName().toString().endsWith(suffix))
                    .sorted()
                    .limit(limit)
                    .toList();
        }
    }

    /** Siemens, 1 mm reconstructions every 0.8 mm (Mayo LDCT L067 full dose): read, resample, write, validate. */
    @Test
    void siemensAbdomenRoundTrip() throws Exception {
        List<Path> src = files("ct/mayo_L067_full1mm", ".IMA", 20);
        Assumptions.assumeTrue(src.size() == 20, "expected at least 20 slices");
        InstanceHeader h = datasets.readHeader(src.get(0));
        assertEquals("CT", h.modality());

        Volume v = datasets.readVolume(src);
        assertEquals(512, v.geometry().columns());
        assertEquals(20, v.geometry().slices());
        assertEquals(0.8, v.geometry().spacingZ(), 1e-3);
        assertEquals(1.0, v.geometry().sliceThickness(), 1e-9);

        Volume thin = CubicSliceInterpolator.resample(v, 0.4);
        DerivedSeriesSpec spec = new DerivedSeriesSpec(
                h.seriesInstanceUid() + "/sr/test",
                "[MedDiff-FM SR]",
                1000,
                "MedDiff-FM super-resolution (test)",
                40,
                400);
        DerivedSeriesResult r = datasets.writeDerivedSeries(src, thin, spec, tmp);
        assertEquals(39, r.files().size());
        Volume back = datasets.readVolume(r.files());
        float[] a = thin.voxels(), b = back.voxels();
        for (int i = 0; i < a.length; i += 7) {
            assertEquals(a[i], b[i], 0.5);
        }
        Collection<String> warnings = Dciodvfy.assertNoErrors(r.files());
        System.out.println("dciodvfy warnings on a derived Siemens series: " + warnings);
    }

    /** GE head CT with an 18.5 degree gantry tilt and varying slice steps (dcm_qa_ct): must be refused clearly. */
    @Test
    void tiltedGeHeadIsRefused() throws Exception {
        List<Path> src = files("ct/dcm_qa_ct/GE", ".dcm", 100);
        Assumptions.assumeTrue(src.size() > 2, "expected the GE series");
        DicomDataException e = assertThrows(DicomDataException.class, () -> datasets.readVolume(src));
        assertTrue(e.getMessage().startsWith("gantry tilt"), e.getMessage());
        assertTrue(e.getMessage().contains("18.5"), e.getMessage());
    }
}
