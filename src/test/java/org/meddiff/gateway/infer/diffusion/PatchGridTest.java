package org.meddiff.gateway.infer.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class PatchGridTest {

    @Test
    void borderFlushPositions() {
        assertArrayEquals(new int[] {0, 16}, PatchGrid.positions(40, 24, 16));
        assertArrayEquals(new int[] {0, 8}, PatchGrid.positions(32, 24, 16));
        assertArrayEquals(new int[] {0}, PatchGrid.positions(24, 24, 16));
        assertArrayEquals(new int[] {0, 16, 24}, PatchGrid.positions(48, 24, 16));
        assertArrayEquals(new int[] {0, 16, 32}, PatchGrid.positions(56, 24, 16)); // 32 = n - P already last
        assertArrayEquals(new int[] {0, 1, 2}, PatchGrid.positions(10, 8, 1));
        assertArrayEquals(new int[] {0, 2}, PatchGrid.positions(10, 8, 8));
    }

    @Test
    void smallerThanPatchIsAnError() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> PatchGrid.positions(20, 24, 16));
        assertTrue(e.getMessage().contains("pad"));
    }

    @Test
    void zMajorOrderAndCoverage() {
        PatchGrid g = new PatchGrid(40, 40, 32, 24, 16);
        List<PatchGrid.Offset> o = g.offsets();
        assertEquals(8, g.size());
        assertEquals(new PatchGrid.Offset(0, 0, 0), o.get(0));
        assertEquals(new PatchGrid.Offset(0, 0, 8), o.get(1));
        assertEquals(new PatchGrid.Offset(0, 16, 0), o.get(2));
        assertEquals(new PatchGrid.Offset(16, 0, 0), o.get(4));
        assertEquals(new PatchGrid.Offset(16, 16, 8), o.get(7));
        int[] cover = new int[40 * 40 * 32];
        for (PatchGrid.Offset p : o) {
            for (int z = 0; z < 24; z++)
                for (int y = 0; y < 24; y++)
                    for (int x = 0; x < 24; x++) {
                        cover[((p.z() + z) * 40 + p.y() + y) * 32 + p.x() + x]++;
                    }
        }
        for (int c : cover) {
            assertTrue(c >= 1);
        }
    }
}
