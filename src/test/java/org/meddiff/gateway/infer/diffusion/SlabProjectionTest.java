package org.meddiff.gateway.infer.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;

import org.junit.jupiter.api.Test;

class SlabProjectionTest {

    private static FloatVolume random(int d, int h, int w, long seed) {
        Random r = new Random(seed);
        float[] v = new float[d * h * w];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return new FloatVolume(d, h, w, v);
    }

    @Test
    void projectedSlabsAverageToTheMeasurement() {
        FloatVolume thin = random(13, 4, 5, 1); // 3 slabs of 5, the last one partial (3 slices)
        FloatVolume thick = random(3, 4, 5, 2);
        FloatVolume p = SlabProjection.project(thin, thick, 5);
        assertArrayEquals(thick.data(), DiffPirSuperResolver.slabAverage(p, 5).data(), 1e-5f);
    }

    @Test
    void withinSlabDetailIsKeptAndConsistentInputIsUnchanged() {
        FloatVolume thin = random(10, 3, 3, 3);
        FloatVolume p = SlabProjection.project(thin, random(2, 3, 3, 4), 5);
        // the projection shifts each slab by a constant: differences between slices of a slab survive
        for (int z = 1; z < 5; z++) {
            assertEquals(thin.get(z, 1, 2) - thin.get(0, 1, 2), p.get(z, 1, 2) - p.get(0, 1, 2), 1e-5f);
        }
        FloatVolume again = SlabProjection.project(p, DiffPirSuperResolver.slabAverage(p, 5), 5);
        assertArrayEquals(p.data(), again.data(), 1e-6f);
    }
}
