package org.meddiff.gateway.infer.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;

import org.junit.jupiter.api.Test;

class SlidingWindowEstimatorTest {

    private static FloatVolume ramp(int d, int h, int w) {
        FloatVolume v = FloatVolume.zeros(d, h, w);
        for (int i = 0; i < v.size(); i++) {
            v.data()[i] = (i % 97) / 97f - 0.5f;
        }
        return v;
    }

    @Test
    void overlappingEstimatesAreAveragedPerVoxel() {
        int d = 10, h = 9, w = 7, p = 6, s = 3;
        FloatVolume x = ramp(d, h, w);
        FakeModels.Counter m = new FakeModels.Counter();
        FloatVolume eps = new SlidingWindowEstimator(m, p, s, 4, 4).estimate(x, 100, FloatVolume.zeros(d, h, w), 2);
        // by hand: voxel value = mean of the indices of the patches covering it (patch index = grid order)
        List<PatchGrid.Offset> offs = new PatchGrid(d, h, w, p, s).offsets();
        for (int z = 0; z < d; z++)
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++) {
                    float sum = 0, cnt = 0;
                    for (int k = 0; k < offs.size(); k++) {
                        PatchGrid.Offset o = offs.get(k);
                        if (z >= o.z()
                                && z < o.z() + p
                                && y >= o.y()
                                && y < o.y() + p
                                && xx >= o.x()
                                && xx < o.x() + p) {
                            sum += k;
                            cnt += 1;
                        }
                    }
                    assertEquals(sum / cnt, eps.get(z, y, xx), 0f, "voxel " + z + "," + y + "," + xx);
                }
        // corner voxel: only patch 0; last corner: only the last patch
        assertEquals(0f, eps.get(0, 0, 0), 0f);
        assertEquals(offs.size() - 1, eps.get(d - 1, h - 1, w - 1), 0f);
        // z 0,3,4 x y 0,3 x x 0,1 = 12 patches in batches of 4
        assertEquals(12, offs.size());
        assertEquals(List.of(4, 4, 4), m.batchSizes);
    }

    @Test
    void resultDoesNotDependOnBatching() {
        FloatVolume x = ramp(12, 12, 12);
        FloatVolume an = FloatVolume.zeros(12, 12, 12);
        FloatVolume ref = null;
        for (int b : new int[] {1, 3, 8, 100}) {
            FloatVolume e = new SlidingWindowEstimator(new FakeModels.Counter(), 8, 4, 4, b).estimate(x, 5, an, 0);
            if (ref == null) {
                ref = e;
            } else {
                assertArrayEquals(ref.data(), e.data(), 0f, "batch " + b);
            }
        }
    }

    @Test
    void patchesCarryTheirOwnInputsAndGlobalPositions() {
        int d = 8, h = 8, w = 12, p = 8;
        FloatVolume x = ramp(d, h, w);
        FloatVolume an = ramp(d, h, w);
        List<float[]> seenPe = new ArrayList<>();
        EpsilonModel spy = new EpsilonModel() {
            public int positionChannels() {
                return 12;
            }

            public boolean conditioned() {
                return false;
            }

            public float[] predict(PatchBatch b) {
                assertEquals(7, b.t());
                assertEquals(1, b.region());
                int pv = b.patchVoxels();
                for (int k = 0; k < b.count(); k++) {
                    float[] pe = new float[12 * pv];
                    System.arraycopy(b.positions(), k * 12 * pv, pe, 0, 12 * pv);
                    seenPe.add(pe);
                }
                float[] out = new float[b.count() * pv];
                System.arraycopy(b.x(), 0, out, 0, out.length); // eps = x: averaging returns x itself
                return out;
            }
        };
        FloatVolume eps = new SlidingWindowEstimator(spy, p, 4, 2, 2).estimate(x, 7, an, 1);
        assertArrayEquals(x.data(), eps.data(), 0f);
        PositionEmbedding pe = new PositionEmbedding(2, d, h, w);
        float[] expect = new float[12 * p * p * p];
        pe.fillPatch(0, 0, 4, p, expect, 0);
        assertEquals(2, seenPe.size()); // x positions 0, 4
        assertArrayEquals(expect, seenPe.get(1), 0f);
    }

    @Test
    void progressAndCancellation() {
        FloatVolume x = ramp(16, 16, 16);
        List<String> calls = new ArrayList<>();
        SlidingWindowEstimator e = new SlidingWindowEstimator(new FakeModels.Counter(), 8, 4, 4, 10)
                .withBatchListener((done, total) -> calls.add(done + "/" + total));
        e.estimate(x, 1, FloatVolume.zeros(16, 16, 16), 0);
        assertEquals(List.of("10/27", "20/27", "27/27"), calls);
        assertTrue(e.lastPatchesPerSecond() > 0);
        Thread.currentThread().interrupt();
        try {
            assertThrows(CancellationException.class, () -> e.estimate(x, 1, FloatVolume.zeros(16, 16, 16), 0));
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void rejectsMismatches() {
        FakeModels.Counter m = new FakeModels.Counter();
        assertThrows(
                IllegalArgumentException.class, () -> new SlidingWindowEstimator(m, 8, 4, 3, 1)); // 18 != 24 channels
        assertThrows(IllegalArgumentException.class, () -> new SlidingWindowEstimator(m, 8, 9, 4, 1)); // stride > patch
        SlidingWindowEstimator e = new SlidingWindowEstimator(m, 8, 4, 4, 1);
        assertThrows(IllegalArgumentException.class, () -> e.estimate(ramp(8, 8, 8), 1, FloatVolume.zeros(8, 8, 9), 0));
        assertThrows(IllegalArgumentException.class, () -> e.estimate(ramp(6, 8, 8), 1, FloatVolume.zeros(6, 8, 8), 0));
    }
}
