package org.meddiff.gateway.infer.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.meddiff.gateway.infer.diffusion.DiffPirSuperResolver;
import org.meddiff.gateway.infer.diffusion.FloatVolume;

class ClassicalThinSlicesTest {

    /** Thick slices of a smooth profile f(z) = 100 sin(z / 6) on 1 mm, averaged over slabs of 5. */
    private static FloatVolume thinTruth(int n) {
        float[] v = new float[n * 2 * 2];
        for (int z = 0; z < n; z++) {
            for (int i = 0; i < 4; i++) {
                v[z * 4 + i] = (float) (100 * Math.sin(z / 6.0));
            }
        }
        return new FloatVolume(n, 2, 2, v);
    }

    @Test
    void consistentWithTheThickSlicesAndCloserThanReplication() {
        FloatVolume truth = thinTruth(40);
        FloatVolume thick = DiffPirSuperResolver.slabAverage(truth, 5);
        FloatVolume est = ClassicalThinSlices.estimate(thick, 40, 5);
        assertArrayEquals(thick.data(), DiffPirSuperResolver.slabAverage(est, 5).data(), 1e-3f);
        FloatVolume rep = DiffPirSuperResolver.replicate(thick, 40, 5);
        double eEst = 0;
        double eRep = 0;
        for (int i = 2 * 4; i < 38 * 4; i++) { // between the first and last slab centres
            eEst += Math.pow(est.data()[i] - truth.data()[i], 2);
            eRep += Math.pow(rep.data()[i] - truth.data()[i], 2);
        }
        assertTrue(eEst < 0.2 * eRep, "squared error cubic+projection " + eEst + " vs replication " + eRep);
    }

    @Test
    void constantStaysConstant() {
        FloatVolume thick = new FloatVolume(3, 1, 1, new float[] {7, 7, 7});
        FloatVolume est = ClassicalThinSlices.estimate(thick, 15, 5);
        for (float v : est.data()) {
            assertEquals(7f, v, 1e-5f);
        }
    }
}
