package org.meddiff.gateway.infer.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.meddiff.gateway.infer.diffusion.DiffPirSuperResolver;
import org.meddiff.gateway.infer.diffusion.FloatVolume;
import org.meddiff.gateway.volume.Volume;
import org.meddiff.gateway.volume.VolumeGeometry;

class CtPreprocessingTest {

    private static VolumeGeometry geometry(int cols, int rows, int slices, double sx, double sy, double sz) {
        return new VolumeGeometry(
                cols,
                rows,
                slices,
                new double[] {-100, -120, 50},
                new double[] {1, 0, 0},
                new double[] {0, 1, 0},
                new double[] {0, 0, -1},
                sx,
                sy,
                sz,
                sz);
    }

    /** A smooth body in air: soft tissue ellipse with a gentle gradient, a bone disc. */
    private static Volume body(VolumeGeometry g) {
        float[] v = new float[g.columns() * g.rows() * g.slices()];
        for (int z = 0; z < g.slices(); z++)
            for (int y = 0; y < g.rows(); y++)
                for (int x = 0; x < g.columns(); x++) {
                    double mx = (x - g.columns() / 2.0) * g.spacingX(), my = (y - g.rows() / 2.0) * g.spacingY();
                    double r = mx * mx / (18.0 * 18) + my * my / (14.0 * 14);
                    double hu = -1000;
                    if (r <= 1) {
                        hu = 40 + 20 * Math.sin(z * g.spacingZ() / 15.0) + mx;
                        if ((mx - 5) * (mx - 5) + my * my < 9) {
                            hu = 700;
                        }
                    }
                    v[(z * g.rows() + y) * g.columns() + x] = (float) hu;
                }
        return new Volume(g, v);
    }

    @Test
    void windowsNormalizeAndBack() {
        assertEquals(-1f, Region.ABDOMEN.normalize(-120f), 0f);
        assertEquals(1f, Region.ABDOMEN.normalize(240f), 0f);
        assertEquals(0f, Region.ABDOMEN.normalize(60f), 0f);
        assertEquals(-1f, Region.ABDOMEN.normalize(-1000f), 0f);
        assertEquals(-500f, Region.CHEST.denormalize(0f), 0f);
        for (Region r : Region.values()) {
            for (float hu = (float) (r.level() - r.width() / 2); hu <= r.level() + r.width() / 2; hu += 7.3f) {
                assertEquals(hu, r.denormalize(r.normalize(hu)), 1e-3f * (float) r.width() / 100);
            }
        }
        assertEquals(Region.HAN, Region.fromName("HaN").orElseThrow());
        assertEquals(Region.ABDOMEN, Region.ofIndex(2));
    }

    @Test
    void resamplingSizesAndLinearity() {
        assertEquals(12, Resampling.size(5, 2.5, 1.0)); // 12.5 rounds half to even like Python
        assertEquals(14, Resampling.size(5, 2.7, 1.0));
        FloatVolume v = FloatVolume.zeros(4, 2, 2);
        for (int z = 0; z < 4; z++) for (int i = 0; i < 4; i++) v.data()[z * 4 + i] = 10 * z;
        FloatVolume r = Resampling.resample(v, new double[] {2, 1, 1}, new double[] {1, 1, 1});
        assertEquals(8, r.depth());
        for (int z = 0; z < 8; z++) {
            assertEquals(
                    Math.min(5 * z, 30), r.get(z, 1, 1), 1e-5f); // linear inside, edge value beyond the last centre
        }
    }

    @Test
    void cubicResamplingKeepsSamplesAndQuadraticsAndBeatsLinearOnFineDetail() {
        // a quadratic profile along x on a 0.74 mm grid, sampled at 1 mm: Keys' kernel reproduces it inside the grid
        int n = 40;
        float[] q = new float[3 * 4 * n];
        for (int i = 0; i < q.length; i++) {
            double x = (i % n) * 0.74;
            q[i] = (float) (0.5 * x * x - 3 * x + 7);
        }
        FloatVolume quad = new FloatVolume(3, 4, n, q);
        FloatVolume at1mm = Resampling.resampleCubic(quad, new double[] {1, 1, 0.74}, new double[] {1, 1, 1});
        assertEquals(Resampling.size(n, 0.74, 1), at1mm.width());
        for (int x = 2; x < at1mm.width() - 2; x++) {
            assertEquals(0.5 * x * x - 3 * x + 7, at1mm.get(1, 2, x), 2e-3 * (1 + x * x), "x = " + x + " mm");
        }
        // same grid: the samples themselves
        assertEquals(quad, Resampling.resampleCubic(quad, new double[] {1, 1, 1}, new double[] {1, 1, 1}));
        // fine detail (a 3 mm period) through 1 mm and back, as a 0.74 mm series goes through the pipeline
        float[] f = new float[2 * 64 * 64];
        for (int i = 0; i < f.length; i++) {
            int x = i % 64, y = (i / 64) % 64;
            f[i] = (float) (100 * Math.sin(2 * Math.PI * x * 0.74 / 3.0) * Math.cos(2 * Math.PI * y * 0.74 / 4.0));
        }
        FloatVolume fine = new FloatVolume(2, 64, 64, f);
        double[] src = {1, 0.74, 0.74};
        double[] mm = {1, 1, 1};
        FloatVolume cubic = Resampling.resampleCubic(Resampling.resampleCubic(fine, src, mm), 2, 64, 64, mm, src);
        FloatVolume linear = Resampling.resample(Resampling.resample(fine, src, mm), 2, 64, 64, mm, src);
        double eCubic = rmsInterior(cubic, fine), eLinear = rmsInterior(linear, fine);
        assertTrue(eCubic < 0.6 * eLinear, "round-trip RMS error: cubic " + eCubic + " vs linear " + eLinear);
    }

    private static double rmsInterior(FloatVolume a, FloatVolume ref) {
        double se = 0;
        int n = 0;
        for (int z = 0; z < a.depth(); z++)
            for (int y = 4; y < a.height() - 4; y++)
                for (int x = 4; x < a.width() - 4; x++) {
                    double d = a.get(z, y, x) - ref.get(z, y, x);
                    se += d * d;
                    n++;
                }
        return Math.sqrt(se / n);
    }

    @Test
    void padAndCrop() {
        FloatVolume v = FloatVolume.zeros(3, 2, 2);
        for (int i = 0; i < v.size(); i++) v.data()[i] = i;
        FloatVolume p = Resampling.padEdge(v, 8, 8, 8);
        assertEquals(v.get(2, 1, 1), p.get(7, 7, 7), 0f);
        assertEquals(v.get(1, 0, 1), p.get(1, 0, 5), 0f);
        assertEquals(v, Resampling.crop(p, 3, 2, 2));
        assertEquals(24, Resampling.paddedSize(20, 24, 8));
        assertEquals(32, Resampling.paddedSize(25, 24, 8));
        assertEquals(40, Resampling.paddedSize(40, 24, 8));
    }

    @Test
    void prepareAndBackToTheSourceGrid() {
        VolumeGeometry g = geometry(50, 44, 12, 0.8, 0.8, 2.5);
        Volume src = body(g);
        CtPreprocessing pre = new CtPreprocessing(24, 8);
        CtPreprocessing.Prepared p = pre.prepare(src, Region.ABDOMEN);
        assertEquals(30, p.sizeZ()); // 12 * 2.5
        assertEquals(35, p.sizeY()); // 44 * 0.8 = 35.2
        assertEquals(40, p.sizeX());
        assertEquals(32, p.normalized().depth());
        assertEquals(40, p.normalized().height());
        assertEquals(40, p.normalized().width());
        assertEquals(p.normalized().depth(), p.anatomy().depth());
        // the anatomy map knows air outside, soft tissue and bone inside
        assertEquals(AnatomyClasses.OUTSIDE, p.anatomy().get(5, 0, 0), 0f);
        assertEquals(AnatomyClasses.SOFT_TISSUE, p.anatomy().get(5, 17, 14), 0f);
        // identity round trip: the normalized volume itself goes back to the source HU within the window
        Volume back = pre.toSourceGrid(p.normalized(), p, src);
        assertEquals(g, back.geometry());
        double maxErr = 0;
        for (int z = 0; z < g.slices(); z++)
            for (int y = 8; y < g.rows() - 8; y++)
                for (int x = 10; x < g.columns() - 10; x++) {
                    float hu = src.at(x, y, z);
                    boolean smooth = hu > -60 && hu < 200;
                    boolean nearEdge = false;
                    // cubic resampling both ways reaches about 3.6 mm (two taps at 0.8 mm, then two at 1 mm): 4 voxels
                    // in-plane
                    for (int dz = -2; dz <= 2 && !nearEdge; dz++)
                        for (int dy = -4; dy <= 4 && !nearEdge; dy++)
                            for (int dx = -4; dx <= 4; dx++) {
                                int zz = Math.min(Math.max(z + dz, 0), g.slices() - 1);
                                if (Math.abs(src.at(x + dx, y + dy, zz) - hu) > 60) {
                                    nearEdge = true;
                                    break;
                                }
                            }
                    if (smooth && !nearEdge) {
                        maxErr = Math.max(maxErr, Math.abs(back.at(x, y, z) - hu));
                    }
                }
        assertTrue(maxErr < 2.0, "HU error after 1 mm and back: " + maxErr);
        // outside the abdomen window (-120..240 HU) the source HU comes back, not the window edge
        int bone = 0;
        int air = 0;
        for (int z = 0; z < g.slices(); z++)
            for (int y = 0; y < g.rows(); y++)
                for (int x = 0; x < g.columns(); x++) {
                    float hu = src.at(x, y, z);
                    if (back.at(x, y, z) == hu && hu > 400) {
                        bone++;
                    }
                    if (back.at(x, y, z) == hu && hu < -500) {
                        air++;
                    }
                }
        assertTrue(bone > 0 && air > 0, "bone voxels kept " + bone + ", air voxels kept " + air);
    }

    /** 8 slices of 5 mm, 30 x 30 at 1 mm: the thick series of the super-resolution tests. */
    private static Volume thickBody() {
        return body(geometry(30, 30, 8, 1.0, 1.0, 5.0));
    }

    @Test
    void thickToThinGrid() {
        Volume thick = thickBody();
        CtPreprocessing pre = new CtPreprocessing(24, 8);
        CtPreprocessing.PreparedThick p = pre.prepareThick(thick, Region.ABDOMEN, 1.0);
        assertEquals(5, p.sf());
        assertEquals(40, p.thinSlices());
        assertEquals(40, p.thinSlicesPadded());
        assertEquals(8, p.thickNormalized().depth());
        assertEquals(32, p.thickNormalized().height()); // 30 padded to 32
        assertEquals(40, p.anatomyThin().depth());
        // anatomy of thin slice z comes from thick slice z / 5
        FloatVolume hu = CtPreprocessing.asFloatVolume(thick);
        FloatVolume expectAnat =
                AnatomyClasses.map(DiffPirSuperResolver.replicate(Resampling.padEdge(hu, 8, 32, 32), 40, 5));
        assertArrayEquals(expectAnat.data(), p.anatomyThin().data(), 0f);
        // back: the replicated thick volume on the thin grid, centred on the slabs
        FloatVolume thinNorm = DiffPirSuperResolver.replicate(p.thickNormalized(), 40, 5);
        Volume thin = pre.toThinGrid(thinNorm, p, true);
        assertEquals(40, thin.geometry().slices());
        assertEquals(1.0, thin.geometry().spacingZ(), 1e-12);
        assertEquals(30, thin.geometry().columns());
        assertArrayEquals(
                new double[] {-100, -120, 52}, thin.geometry().origin(), 1e-9); // 2 mm before slice 0 along -z
        assertEquals(
                Region.ABDOMEN.denormalize(Region.ABDOMEN.normalize(thick.at(15, 15, 3))), thin.at(15, 15, 17), 1e-3f);
        // odd size: 7 thick slices of 3 mm -> sf 3, 21 thin slices padded to 24 -> 8 thick (one replicated edge slab)
        CtPreprocessing.PreparedThick q = pre.prepareThick(body(geometry(24, 24, 7, 1, 1, 3)), Region.HAN, 1.0);
        assertEquals(3, q.sf());
        assertEquals(21, q.thinSlices());
        assertEquals(24, q.thinSlicesPadded());
        assertEquals(8, q.thickNormalized().depth());
    }

    @Test
    void classicalConditionIsTheClassicalEstimateAndKeepsTheSlabMeans() {
        Volume thick = thickBody();
        CtPreprocessing pre = new CtPreprocessing(24, 8);
        CtPreprocessing.PreparedThick rep = pre.prepareThick(thick, Region.ABDOMEN, 1.0);
        CtPreprocessing.PreparedThick cl = pre.prepareThick(thick, Region.ABDOMEN, 1.0, ThinCondition.CLASSICAL);
        // the default condition is H^T of the normalized thick slices, as before
        assertArrayEquals(
                DiffPirSuperResolver.replicate(rep.thickNormalized(), 40, 5).data(),
                rep.conditionThin().data(),
                0f);
        FloatVolume thinHu = ClassicalThinSlices.estimate(cl.thickHu(), 40, 5);
        assertArrayEquals(
                CtPreprocessing.normalize(thinHu, Region.ABDOMEN).data(),
                cl.conditionThin().data(),
                0f);
        assertArrayEquals(AnatomyClasses.map(thinHu).data(), cl.anatomyThin().data(), 0f);
        // in HU every slab of the classical condition averages to its thick slice
        FloatVolume slabs = DiffPirSuperResolver.slabAverage(thinHu, 5);
        for (int i = 0; i < slabs.size(); i++) {
            assertEquals(cl.thickHu().data()[i], slabs.data()[i], 1e-3, "slab voxel " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> ThinCondition.fromCard("bicubic"));
        assertEquals(ThinCondition.CLASSICAL, ThinCondition.fromCard("classical"));
    }

    @Test
    void anatomyBodyMaskFillsHolesAndKeepsTheLargestComponent() {
        int d = 3, h = 20, w = 20;
        FloatVolume hu = FloatVolume.zeros(d, h, w);
        Arrays.fill(hu.data(), -1000f);
        for (int z = 0; z < d; z++) {
            for (int y = 2; y < 16; y++)
                for (int x = 2; x < 16; x++) {
                    boolean ring = y == 2 || y == 15 || x == 2 || x == 15;
                    hu.data()[hu.index(z, y, x)] =
                            ring ? 500f : (x < 6 ? -900f : x < 9 ? -100f : 50f); // lung-like air inside
                }
            hu.data()[hu.index(z, 18, 18)] = 100f; // separate small blob (table)
        }
        FloatVolume a = AnatomyClasses.map(hu);
        assertEquals(AnatomyClasses.BONE, a.get(1, 2, 5), 0f);
        assertEquals(AnatomyClasses.AIR_LUNG, a.get(1, 8, 4), 0f); // hole filled: air inside the body is lung
        assertEquals(AnatomyClasses.FAT, a.get(1, 8, 7), 0f);
        assertEquals(AnatomyClasses.SOFT_TISSUE, a.get(1, 8, 12), 0f);
        assertEquals(AnatomyClasses.OUTSIDE, a.get(1, 18, 18), 0f); // not the largest component
        assertEquals(AnatomyClasses.OUTSIDE, a.get(1, 0, 0), 0f);
        FloatVolume soft = AnatomyClasses.mask(a, AnatomyClasses.SOFT_TISSUE, AnatomyClasses.FAT);
        assertEquals(1f, soft.get(1, 8, 7), 0f);
        assertEquals(0f, soft.get(1, 8, 4), 0f);
    }
}
