package org.meddiff.gateway.infer.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CosineScheduleTest {

    private final CosineSchedule s = CosineSchedule.cosine();

    @Test
    void tableShapeAndEnds() {
        assertEquals(1000, s.steps());
        assertEquals(1.0, s.alphaBar(-1));
        assertTrue(s.alphaBar(0) < 1 && s.alphaBar(0) > 0.9999);
        for (int t = 1; t < 1000; t++) {
            assertTrue(s.alphaBar(t) < s.alphaBar(t - 1), "strictly decreasing at " + t);
        }
        assertTrue(s.alphaBar(999) > 0 && s.alphaBar(999) < 1e-4);
        // first step by hand: 1 - beta_0 = f(1/T)/f(0)
        double f0 = Math.pow(Math.cos((0.008 / 1.008) * Math.PI / 2), 2);
        double f1 = Math.pow(Math.cos(((0.001 + 0.008) / 1.008) * Math.PI / 2), 2);
        assertEquals(f1 / f0, s.alphaBar(0), 1e-15);
    }

    @Test
    void betaClippedAtTheEnd() {
        // the last beta is clipped at 0.999: alpha_bar[999] = alpha_bar[998] * 0.001
        assertEquals(s.alphaBar(998) * 0.001, s.alphaBar(999), 1e-20);
    }

    @Test
    void tStartFromSigmaPerReadme() {
        assertEquals(87, s.tStartFor(0.15));
        assertEquals(495, s.tStartFor(1.0));
        assertEquals(0, s.tStartFor(0.0));
        assertEquals(999, s.tStartFor(1e9));
        // sigma_bar at t_start brackets sigma_n
        int t = s.tStartFor(0.15);
        assertTrue(Math.abs(s.sigmaBar(t) - 0.15) <= Math.abs(s.sigmaBar(t + 1) - 0.15));
        assertTrue(Math.abs(s.sigmaBar(t) - 0.15) <= Math.abs(s.sigmaBar(t - 1) - 0.15));
        assertThrows(IllegalArgumentException.class, () -> s.tStartFor(Double.NaN));
    }

    @Test
    void uniformSkipping() {
        assertArrayEquals(new int[] {87, 58, 29}, CosineSchedule.timesteps(87, 3));
        assertArrayEquals(new int[] {495, 330, 165}, CosineSchedule.timesteps(495, 3));
        assertArrayEquals(new int[] {5, 4, 3, 2, 1, 0}, CosineSchedule.timesteps(5, 6));
        assertArrayEquals(new int[] {5, 4, 3, 2, 1, 0}, CosineSchedule.timesteps(5, 100));
        assertArrayEquals(new int[] {10, 6, 3}, CosineSchedule.timesteps(10, 3));
        assertArrayEquals(new int[] {0}, CosineSchedule.timesteps(0, 10));
        assertArrayEquals(new int[] {999}, CosineSchedule.timesteps(999, 1));
        int[] ts = CosineSchedule.timesteps(495, 100);
        assertEquals(100, ts.length);
        assertEquals(495, ts[0]);
        assertEquals(4, ts[99]); // floor(495 * 1 / 100)
        for (int i = 1; i < ts.length; i++) {
            assertTrue(ts[i] < ts[i - 1]);
        }
        assertThrows(IllegalArgumentException.class, () -> CosineSchedule.timesteps(10, 0));
    }

    @Test
    void fromTableKeepsTheTable() {
        CosineSchedule t = CosineSchedule.fromTable(s.table());
        assertEquals(0.0, t.maxRelativeDifference(s));
        assertThrows(IllegalArgumentException.class, () -> CosineSchedule.fromTable(new double[] {0.5, 0.6}));
    }
}
