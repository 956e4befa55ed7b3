package org.meddiff.gateway.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.meddiff.gateway.dicom.Dciodvfy;
import org.meddiff.gateway.dicom.DerivedUids;
import org.meddiff.gateway.tools.SyntheticCtSeries.Params;
import org.meddiff.gateway.tools.SyntheticCtSeries.TransferSyntax;

class SyntheticCtSeriesTest {

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(TransferSyntax.class)
    void filesAreValidCtImagesInEveryTransferSyntax(TransferSyntax ts) throws Exception {
        List<Path> files = SyntheticCtSeries.write(tmp, Params.thick(32, 3).withTransferSyntax(ts));
        assertEquals(List.of("0001.dcm", "0002.dcm", "0003.dcm"),
                files.stream().map(f -> f.getFileName().toString()).toList());
        Collection<String> warnings = Dciodvfy.assertNoErrors(files);
        assertTrue(warnings.isEmpty(), "dciodvfy warnings: " + warnings);
    }

    @Test
    void signedPixelsAreValidToo() throws Exception {
        Dciodvfy.assertNoErrors(SyntheticCtSeries.write(tmp, Params.thick(16, 2).withSignedPixels(true)));
    }

    @Test
    void sameParametersSameBytesOtherSeedOtherUids() throws Exception {
        Params p = Params.thick(16, 2).withSeed(5);
        assertArrayEquals(SyntheticCtSeries.encode(p, 2), SyntheticCtSeries.encode(p, 2));
        Params q = p.withSeed(6);
        assertFalse(p.resolvedStudyUid().equals(q.resolvedStudyUid()));
        assertFalse(p.resolvedSeriesUid().equals(q.resolvedSeriesUid()));
        assertFalse(p.sopInstanceUid(1).equals(q.sopInstanceUid(1)));
        for (String uid : List.of(p.resolvedStudyUid(), p.resolvedSeriesUid(), p.sopInstanceUid(1), p.frameOfReferenceUid())) {
            assertTrue(DerivedUids.isValid(uid), uid);
        }
        Params given = p.withUids("1.2.3.4", "1.2.3.4.5");
        assertEquals("1.2.3.4", given.resolvedStudyUid());
        assertEquals("1.2.3.4.5", given.resolvedSeriesUid());
    }

    @Test
    void phantomHasTheAdvertisedAnatomy() {
        double fov = SyntheticCtSeries.DEFAULT_FOV_MM;
        assertEquals(-1000, SyntheticCtSeries.phantomHu(170, 170, 0.5, fov), 1); // air in the corner
        assertEquals(-100, SyntheticCtSeries.phantomHu(0, -(110 * 1.06 - 6), 0.5, fov), 15); // fat rim, anterior
        assertEquals(40, SyntheticCtSeries.phantomHu(40, 30, 0.0, fov), 5); // soft tissue
        assertEquals(700, SyntheticCtSeries.phantomHu(0, 76, 0.0, fov), 15); // spine
        assertEquals(-800, SyntheticCtSeries.phantomHu(-65, -5, 1.0, fov), 10); // lung, upper slices
        assertEquals(40, SyntheticCtSeries.phantomHu(-65, -5, 0.2, fov), 30); // no lung low down
        assertEquals(60, SyntheticCtSeries.phantomHu(-55, -10, 0.4, fov), 5); // liver
    }

    @Test
    void noiseIsSeededAndHasTheRequestedSpread() {
        Params p = Params.thick(64, 2).withNoise(10);
        Params clean = p.withNoise(0);
        float[] a = SyntheticCtSeries.sliceHu(p, 1);
        assertArrayEquals(a, SyntheticCtSeries.sliceHu(p, 1));
        float[] c = SyntheticCtSeries.sliceHu(clean, 1);
        double sum = 0, sumSq = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - c[i];
            sum += d;
            sumSq += d * d;
        }
        double sd = Math.sqrt(sumSq / a.length - Math.pow(sum / a.length, 2));
        assertEquals(10, sd, 1.0);
    }

    @Test
    void commandLineWritesASeries() throws Exception {
        Path out = tmp.resolve("cli");
        SyntheticCtSeries.main(new String[] {"--out", out.toString(), "--slices", "3", "--size", "16",
            "--thickness", "2.5", "--seed", "9", "--description", "CLI test", "--body-part", "CHEST", "--implicit"});
        List<Path> files;
        try (var s = Files.list(out)) {
            files = s.sorted().toList();
        }
        assertEquals(3, files.size());
        Dciodvfy.assertNoErrors(files);
        String text = new String(Files.readAllBytes(files.get(0)), java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(text.contains("CLI test"));
        assertTrue(text.contains("CHEST"));
        assertTrue(text.contains("1.2.840.10008.1.2\0"), "implicit VR transfer syntax in the meta header");
    }
}
