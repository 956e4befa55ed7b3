package org.meddiff.gateway.infer.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PositionEmbeddingTest {

    @Test
    void axisCoordinates() {
        assertArrayEquals(new double[] {-1, -0.5, 0, 0.5, 1}, PositionEmbedding.axisCoords(5), 0);
        assertArrayEquals(new double[] {0}, PositionEmbedding.axisCoords(1), 0);
        assertArrayEquals(new double[] {-1, 1}, PositionEmbedding.axisCoords(2), 0);
    }

    @Test
    void channelLayoutPerSpec() {
        int L = 4, D = 6, H = 5, W = 9;
        PositionEmbedding pe = new PositionEmbedding(L, D, H, W);
        assertEquals(24, pe.channels());
        float[] all = pe.wholeVolume();
        int vox = D * H * W;
        double[] pz = PositionEmbedding.axisCoords(D),
                py = PositionEmbedding.axisCoords(H),
                px = PositionEmbedding.axisCoords(W);
        for (int a = 0; a < 3; a++) {
            for (int l = 0; l < L; l++) {
                for (int z = 0; z < D; z++)
                    for (int y = 0; y < H; y++)
                        for (int x = 0; x < W; x++) {
                            double p = a == 0 ? px[x] : a == 1 ? py[y] : pz[z];
                            double arg = Math.pow(2, l) * Math.PI * p;
                            int v = (z * H + y) * W + x;
                            assertEquals((float) Math.sin(arg), all[(2 * L * a + 2 * l) * vox + v], 0f);
                            assertEquals((float) Math.cos(arg), all[(2 * L * a + 2 * l + 1) * vox + v], 0f);
                            assertEquals(all[(2 * L * a + 2 * l) * vox + v], pe.value(2 * L * a + 2 * l, z, y, x), 0f);
                        }
            }
        }
        // corner (-1,-1,-1): sin(-pi) ~ 0, cos(-pi) = -1 at l = 0
        assertEquals(-1f, all[vox], 0f);
    }

    @Test
    void patchTakesWholeVolumeValues() {
        int L = 2, D = 12, H = 10, W = 11, P = 4;
        PositionEmbedding pe = new PositionEmbedding(L, D, H, W);
        float[] all = pe.wholeVolume();
        float[] patch = new float[pe.channels() * P * P * P + 3];
        pe.fillPatch(5, 2, 7, P, patch, 3);
        int vox = D * H * W;
        for (int c = 0; c < pe.channels(); c++)
            for (int z = 0; z < P; z++)
                for (int y = 0; y < P; y++)
                    for (int x = 0; x < P; x++) {
                        float expect = all[c * vox + ((5 + z) * H + 2 + y) * W + 7 + x];
                        assertEquals(expect, patch[3 + c * P * P * P + (z * P + y) * P + x], 0f);
                    }
    }

    @Test
    void sizeOneAxisHasCoordinateZero() {
        PositionEmbedding pe = new PositionEmbedding(1, 1, 3, 3);
        assertEquals(0f, pe.value(4, 0, 1, 1), 0f); // sin(0) on z
        assertEquals(1f, pe.value(5, 0, 1, 1), 0f); // cos(0) on z
    }
}
