package org.meddiff.gateway.infer.diffusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

class ClassicalBlendTest {

    private static FloatVolume filled(float value) {
        FloatVolume v = FloatVolume.zeros(5, 6, 7);
        Arrays.fill(v.data(), value);
        return v;
    }

    @Test
    void mixesTheEstimateWithTheFilteredReference() {
        FloatVolume own = filled(100f);
        FloatVolume ref = filled(40f);
        ref.data()[2 * 42 + 3 * 7 + 3] = 1040f; // one bright voxel in the reference
        double[] sigma = {0.5, 1.0, 1.0};
        FloatVolume out = ClassicalBlend.apply(own, ref, 0.25, sigma);
        float[] g = GaussianFilter.apply(ref, sigma).data();
        for (int i = 0; i < g.length; i++) {
            assertEquals(0.75 * 100 + 0.25 * g[i], out.data()[i], 1e-4, "voxel " + i);
        }
        // far from the bright voxel the reference is flat at 40 HU: 0.75 * 100 + 0.25 * 40
        assertEquals(85f, out.data()[0], 1e-4);
        // the bright voxel reaches the output spread along y and x (sigma 1) twice as far as along z (sigma 0.5)
        float centre = out.data()[2 * 42 + 3 * 7 + 3] - 85f;
        float nextX = out.data()[2 * 42 + 3 * 7 + 4] - 85f;
        float nextZ = out.data()[3 * 42 + 3 * 7 + 3] - 85f;
        assertEquals(Math.exp(-0.5), nextX / centre, 1e-4);
        assertEquals(Math.exp(-2.0), nextZ / centre, 1e-4);
        assertEquals(100f, own.data()[0], 0f, "the inputs are not changed");
    }

    @Test
    void weightZeroIsTheEstimateItselfAndBadArgumentsAreRefused() {
        FloatVolume own = filled(1f);
        assertSame(own, ClassicalBlend.apply(own, filled(2f), 0, new double[] {1, 1, 1}));
        assertThrows(
                IllegalArgumentException.class,
                () -> ClassicalBlend.apply(own, filled(2f), -0.1, new double[] {1, 1, 1}));
        assertThrows(
                IllegalArgumentException.class,
                () -> ClassicalBlend.apply(own, filled(2f), 0.95, new double[] {1, 1, 1}));
        assertThrows(
                IllegalArgumentException.class,
                () -> ClassicalBlend.apply(own, FloatVolume.zeros(5, 6, 8), 0.3, new double[] {1, 1, 1}));
        assertThrows(
                IllegalArgumentException.class, () -> ClassicalBlend.apply(own, filled(2f), 0.3, new double[] {1, 1}));
    }
}
