package org.meddiff.gateway.infer.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.meddiff.gateway.volume.ColourVolume;
import org.meddiff.gateway.volume.Volume;
import org.meddiff.gateway.volume.VolumeGeometry;

/** What a reader sees in the fused series: grey CT where the map is below the URGENT level, colour from there up. */
class AnomalyFusionTest {
    static final AnomalyFusion.Settings SHIPPED_LIKE = new AnomalyFusion.Settings(40, 400, 77.5, 90, 0.5);

    static VolumeGeometry row(int n) {
        return new VolumeGeometry(
                n,
                1,
                1,
                new double[] {0, 0, 0},
                new double[] {1, 0, 0},
                new double[] {0, 1, 0},
                new double[] {0, 0, 1},
                1,
                1,
                1,
                1);
    }

    static int[] pixel(ColourVolume c, int i) {
        return new int[] {c.rgb()[3 * i] & 0xff, c.rgb()[3 * i + 1] & 0xff, c.rgb()[3 * i + 2] & 0xff};
    }

    @Test
    void belowTheLowerLevelTheCtIsGreyUnderTheWindow() {
        float[] hu = {-1000, -160, 40, 240, 1500};
        ColourVolume c = AnomalyFusion.fuse(
                new Volume(row(5), hu), new Volume(row(5), new float[] {0, 10, 77.4f, Float.NaN, 50}), SHIPPED_LIKE);
        assertArrayEquals(new int[] {0, 0, 0}, pixel(c, 0), "air is black");
        assertArrayEquals(new int[] {0, 0, 0}, pixel(c, 1), "the window's lower edge is black");
        assertArrayEquals(new int[] {128, 128, 128}, pixel(c, 2), "the window centre is mid-grey");
        assertArrayEquals(
                new int[] {255, 255, 255}, pixel(c, 3), "the upper edge is white; a NaN map level adds no colour");
        assertArrayEquals(new int[] {255, 255, 255}, pixel(c, 4), "bone is white");
    }

    @Test
    void fromTheLowerLevelRedOverTheGreyToOpaqueYellowAtTheUpperLevel() {
        float[] hu = {40, 40, 40, 40};
        ColourVolume c = AnomalyFusion.fuse(
                new Volume(row(4), hu), new Volume(row(4), new float[] {77.5f, 83.75f, 90, 500}), SHIPPED_LIKE);
        // at lower: half red over grey 127.5 -> (191.25, 63.75, 63.75)
        assertArrayEquals(new int[] {191, 64, 64}, pixel(c, 0));
        // half-way: t 0.5, alpha 0.75 -> r 0.25*127.5+0.75*255, g 0.25*127.5+0.75*127.5, b 0.25*127.5
        assertArrayEquals(new int[] {223, 128, 32}, pixel(c, 1));
        assertArrayEquals(new int[] {255, 255, 0}, pixel(c, 2), "opaque yellow at the upper level");
        assertArrayEquals(new int[] {255, 255, 0}, pixel(c, 3), "and above it");
        int[] red = pixel(c, 0);
        assertTrue(red[0] > red[1] && red[1] == red[2], "a coloured voxel is never grey");
    }

    @Test
    void settingsAndGridsAreChecked() {
        assertThrows(
                IllegalArgumentException.class,
                () -> new AnomalyFusion.Settings(40, 400, 90, 77.5, 0.5),
                "upper below lower");
        ColourVolume step = AnomalyFusion.fuse(
                new Volume(row(2), new float[] {40, 40}),
                new Volume(row(2), new float[] {79, 80}),
                new AnomalyFusion.Settings(40, 400, 80, 80, 0.5));
        assertArrayEquals(new int[] {128, 128, 128}, pixel(step, 0), "lower = upper (URGENT = STAT): grey below");
        assertArrayEquals(new int[] {255, 255, 0}, pixel(step, 1), "and opaque yellow from there");
        assertThrows(IllegalArgumentException.class, () -> new AnomalyFusion.Settings(40, 0, 1, 2, 0.5), "no window");
        assertThrows(
                IllegalArgumentException.class, () -> new AnomalyFusion.Settings(40, 400, 1, 2, 0), "invisible colour");
        assertThrows(
                IllegalArgumentException.class,
                () -> AnomalyFusion.fuse(
                        new Volume(row(2), new float[2]), new Volume(row(3), new float[3]), SHIPPED_LIKE),
                "map on another grid");
    }
}
