package org.meddiff.gateway.infer.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class GaussianFilterTest {

    /** An impulse in the middle of a 9^3 volume. */
    private static FloatVolume impulse() {
        FloatVolume v = FloatVolume.zeros(9, 9, 9);
        v.data()[4 * 81 + 4 * 9 + 4] = 1f;
        return v;
    }

    @Test
    void inPlaneSmoothingLeavesOtherSlicesAlone() {
        FloatVolume out = GaussianFilter.applyInPlane(impulse(), 1.0);
        double inSlice = 0;
        for (int i = 0; i < 81; i++) {
            inSlice += out.data()[4 * 81 + i];
            assertEquals(0f, out.data()[3 * 81 + i], 0f, "slice 3 must stay empty");
        }
        assertEquals(1.0, inSlice, 1e-6, "the slice keeps its sum");
        // 1-D kernel value at 1 voxel over the centre's: exp(-1/2) along x, exp(-1/2)^2 diagonally
        float c = out.data()[4 * 81 + 4 * 9 + 4];
        assertEquals(Math.exp(-0.5), out.data()[4 * 81 + 4 * 9 + 5] / c, 1e-6);
        assertEquals(Math.exp(-1.0), out.data()[4 * 81 + 5 * 9 + 5] / c, 1e-6);
    }

    @Test
    void isotropicSigmaEqualsPerAxisSigma() {
        assertArrayEquals(
                GaussianFilter.apply(impulse(), new double[] {0.7, 0.7, 0.7}).data(),
                GaussianFilter.apply(impulse(), 0.7).data(),
                0f);
        assertArrayEquals(impulse().data(), GaussianFilter.apply(impulse(), 0).data(), 0f);
        assertThrows(IllegalArgumentException.class, () -> GaussianFilter.applyInPlane(impulse(), -1));
    }
}
