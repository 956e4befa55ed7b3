package org.meddiff.gateway.infer.baseline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.DoubleUnaryOperator;

import org.junit.jupiter.api.Test;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.volume.Volume;
import org.meddiff.gateway.volume.VolumeGeometry;

class CubicSliceInterpolatorTest {

    /** A voxel value as a function of (x index, y index, distance along the slice direction in mm). */
    interface Field {
        double at(int x, int y, double zMm);
    }

    private static VolumeGeometry geometry(
            int columns, int rows, int slices, double spacingZ, double[] origin, double[] sliceDirection) {
        return new VolumeGeometry(
                columns,
                rows,
                slices,
                origin,
                new double[] {1, 0, 0},
                new double[] {0, 1, 0},
                sliceDirection,
                0.8,
                0.8,
                spacingZ,
                spacingZ);
    }

    private static Volume sample(VolumeGeometry g, Field f) {
        float[] v = new float[g.columns() * g.rows() * g.slices()];
        for (int z = 0; z < g.slices(); z++) {
            for (int y = 0; y < g.rows(); y++) {
                for (int x = 0; x < g.columns(); x++) {
                    v[(z * g.rows() + y) * g.columns() + x] = (float) f.at(x, y, z * g.spacingZ());
                }
            }
        }
        return new Volume(g, v);
    }

    @Test
    void weightsArePartitionOfUnityAndInterpolating() {
        for (double t = 0; t < 1; t += 0.05) {
            double[] w = CubicSliceInterpolator.weights(t);
            assertEquals(1.0, w[0] + w[1] + w[2] + w[3], 1e-12);
        }
        assertArrayEquals(new double[] {0, 1, 0, 0}, CubicSliceInterpolator.weights(0), 0);
        assertArrayEquals(new double[] {-0.0625, 0.5625, 0.5625, -0.0625}, CubicSliceInterpolator.weights(0.5), 1e-12);
    }

    @Test
    void outputCountAndPositions() {
        double[] dir = {0, Math.sin(0.3), Math.cos(0.3)}; // oblique stack
        VolumeGeometry g = geometry(4, 3, 5, 5.0, new double[] {-10, 20, -30}, dir);
        Volume out = CubicSliceInterpolator.resample(sample(g, (x, y, z) -> z), 1.0);
        VolumeGeometry o = out.geometry();
        assertEquals(21, o.slices()); // floor(20 / 1) + 1
        assertEquals(1.0, o.spacingZ(), 0);
        assertEquals(1.0, o.sliceThickness(), 0);
        assertArrayEquals(g.origin(), o.origin(), 0);
        assertArrayEquals(dir, o.sliceDirection(), 0);
        assertArrayEquals(g.slicePosition(4), o.slicePosition(20), 1e-9); // last output on the last source slice
        for (int k = 0; k < o.slices(); k++) {
            assertArrayEquals(new double[] {-10, 20 + dir[1] * k, -30 + dir[2] * k}, o.slicePosition(k), 1e-9);
        }
        assertEquals(4 * 3 * 21, out.voxels().length);

        assertEquals(8, CubicSliceInterpolator.outputSliceCount(4, 2.5, 1.0)); // 7.5 mm -> 0..7
        assertEquals(10, CubicSliceInterpolator.outputSliceCount(4, 3.0, 1.0)); // exactly 9 mm -> 0..9
        assertEquals(2, CubicSliceInterpolator.outputSliceCount(2, 1.25, 1.0));
        assertEquals(13, CubicSliceInterpolator.outputSliceCount(3, 0.625 * 5, 0.5)); // 6.25 mm -> 0..12
        assertEquals(1, CubicSliceInterpolator.outputSliceCount(1, 5, 1.0));
        assertThrows(IllegalArgumentException.class, () -> new CubicSliceInterpolator(0));
    }

    @Test
    void sourceSlicesAreReproducedExactlyOnTheGrid() {
        VolumeGeometry g = geometry(5, 4, 6, 5.0, new double[] {0, 0, 0}, new double[] {0, 0, 1});
        Volume src = sample(g, (x, y, z) -> Math.sin(x + 3 * y + z) * 1000);
        Volume out = CubicSliceInterpolator.resample(src, 1.25);
        for (int z = 0; z < 6; z++) {
            for (int y = 0; y < 4; y++) {
                for (int x = 0; x < 5; x++) {
                    assertEquals(src.at(x, y, z), out.at(x, y, 4 * z), 0, "source slice " + z);
                }
            }
        }
    }

    @Test
    void exactForLinearAndQuadraticRampsAwayFromTheEdges() {
        double spacing = 5.0;
        VolumeGeometry g = geometry(3, 2, 8, spacing, new double[] {0, 0, 0}, new double[] {0, 0, 1});
        DoubleUnaryOperator[] ramps = {
            z -> -1000 + 37.5 * z, z -> 200 - 3.0 * z + 0.25 * z * z,
        };
        for (DoubleUnaryOperator ramp : ramps) {
            Volume src = sample(g, (x, y, z) -> ramp.applyAsDouble(z) + 10 * x - 7 * y);
            Volume out = CubicSliceInterpolator.resample(src, 0.7);
            int checked = 0;
            for (int k = 0; k < out.geometry().slices(); k++) {
                double zMm = k * 0.7;
                double u = zMm / spacing;
                if (u < 1 || u > g.slices() - 2) {
                    continue; // an edge tap is clamped: not exact there
                }
                for (int y = 0; y < 2; y++) {
                    for (int x = 0; x < 3; x++) {
                        double truth = ramp.applyAsDouble(zMm) + 10 * x - 7 * y;
                        assertEquals(truth, out.at(x, y, k), 2e-3, "z = " + zMm);
                    }
                }
                checked++;
            }
            assertTrue(checked > 30, "checked " + checked);
        }
    }

    @Test
    void singleSliceVolumeIsReturnedAsIs() {
        VolumeGeometry g = geometry(2, 2, 1, 5.0, new double[] {0, 0, 0}, new double[] {0, 0, 1});
        Volume one = new Volume(g, new float[] {1, 2, 3, 4});
        Volume out = CubicSliceInterpolator.resample(one, 1.0);
        assertEquals(1, out.geometry().slices());
        assertArrayEquals(one.voxels(), out.voxels());
        assertSame(g.origin(), out.geometry().origin());
    }

    /**
     * The point of a baseline: on a smooth field sampled at 5 mm, cubic convolution must recover the
     * 1 mm truth clearly better than nearest-neighbour and linear interpolation. On the synthetic CT
     * phantom, whose organ boundaries sweep through a pixel within a few mm of z (edges, not smooth
     * signal, at 5 mm sampling), it must still not lose to linear and must beat nearest clearly.
     */
    @Test
    void beatsNearestAndLinearOnSmoothPhantoms() {
        int size = 48;
        double pixel = SyntheticCtSeries.DEFAULT_FOV_MM / size;
        double extent = 150;
        // an analytic smooth field: in-plane varying phase and a Gaussian bump along z
        Field analytic = (x, y, z) -> 300 * Math.sin(2 * Math.PI * z / 45.0 + 0.2 * x + 0.1 * y)
                + 500 * Math.exp(-Math.pow((z - 70 - y) / 18.0, 2));
        double[] smooth = rmse(analytic, size);
        System.out.printf(
                "smooth field, RMSE vs truth (HU): cubic %.3f, linear %.3f, nearest %.3f%n",
                smooth[0], smooth[1], smooth[2]);
        assertTrue(smooth[0] < 0.5 * smooth[1], "cubic " + smooth[0] + " vs linear " + smooth[1]);
        assertTrue(smooth[0] < 0.1 * smooth[2], "cubic " + smooth[0] + " vs nearest " + smooth[2]);

        // the synthetic CT phantom (noise free): organs grow in and out along z
        Field phantom = (x, y, z) -> SyntheticCtSeries.phantomHu(
                (x - (size - 1) / 2.0) * pixel,
                (y - (size - 1) / 2.0) * pixel,
                z / extent,
                SyntheticCtSeries.DEFAULT_FOV_MM);
        double[] ct = rmse(phantom, size);
        System.out.printf(
                "CT phantom, RMSE vs truth (HU): cubic %.3f, linear %.3f, nearest %.3f%n", ct[0], ct[1], ct[2]);
        assertTrue(ct[0] < 0.95 * ct[1], "cubic " + ct[0] + " vs linear " + ct[1]);
        assertTrue(ct[0] < 0.6 * ct[2], "cubic " + ct[0] + " vs nearest " + ct[2]);
    }

    /** RMSE of {cubic, linear, nearest} at 1 mm vs the truth, from 31 slices 5 mm apart. */
    private static double[] rmse(Field truth, int size) {
        VolumeGeometry thick = geometry(size, size, 31, 5.0, new double[] {0, 0, 0}, new double[] {0, 0, 1});
        Volume src = sample(thick, truth);
        Volume cubic = CubicSliceInterpolator.resample(src, 1.0);
        assertEquals(151, cubic.geometry().slices());
        double[] rmse = new double[3];
        long n = 0;
        for (int k = 0; k < 151; k++) {
            double zMm = k;
            double u = zMm / 5.0;
            int i = Math.min((int) Math.floor(u), 29);
            double t = u - i;
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    double tr = truth.at(x, y, zMm);
                    double lin = (1 - t) * src.at(x, y, i) + t * src.at(x, y, i + 1);
                    double near = src.at(x, y, t < 0.5 ? i : i + 1);
                    rmse[0] += sq(cubic.at(x, y, k) - tr);
                    rmse[1] += sq(lin - tr);
                    rmse[2] += sq(near - tr);
                    n++;
                }
            }
        }
        for (int m = 0; m < 3; m++) {
            rmse[m] = Math.sqrt(rmse[m] / n);
        }
        return rmse;
    }

    private static double sq(double v) {
        return v * v;
    }
}
