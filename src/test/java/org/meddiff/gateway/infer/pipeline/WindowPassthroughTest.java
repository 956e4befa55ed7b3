package org.meddiff.gateway.infer.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.meddiff.gateway.infer.diffusion.FloatVolume;

class WindowPassthroughTest {

    @Test
    void edgesTakeTheReferenceInsideIsTheModel() {
        // abdomen window -120..240 HU: model says bone (1), air (-1), 60 HU (0), 150 HU (0.5), and 42 HU (-0.4)
        // where the reference is air (the model saw that voxel clipped)
        FloatVolume model = new FloatVolume(1, 1, 5, new float[] {1f, -1f, 0f, 0.5f, -0.4f});
        FloatVolume reference = new FloatVolume(1, 1, 5, new float[] {900f, -1000f, 55f, 140f, -800f});
        FloatVolume out = WindowPassthrough.merge(model, Region.ABDOMEN, reference);
        assertArrayEquals(new float[] {900f, -1000f, 60f, 150f, -800f}, out.data(), 1e-3f);
        assertEquals(0.6, WindowPassthrough.passthroughFraction(model, Region.ABDOMEN, reference), 1e-12);
    }

    @Test
    void aNoisyReferenceNearAnEdgeDoesNotPassItsNoiseThrough() {
        // fat near the lower edge (-120 HU): the noisy source reads -130 and -100 HU, the model says -110 HU
        // (-0.944); with a 0.5 margin (90 HU) only the air voxel (-1000 HU) and the model's edge voxel take the source
        float m = Region.ABDOMEN.normalize(-110f);
        FloatVolume model = new FloatVolume(1, 1, 4, new float[] {m, m, -0.9f, 1f});
        FloatVolume reference = new FloatVolume(1, 1, 4, new float[] {-130f, -100f, -1000f, 260f});
        assertArrayEquals(
                new float[] {-130f, -110f, -1000f, 260f},
                WindowPassthrough.merge(model, Region.ABDOMEN, reference).data(),
                1e-3f);
        assertArrayEquals(
                new float[] {-110f, -110f, -1000f, 260f},
                WindowPassthrough.merge(model, Region.ABDOMEN, reference, 0.5).data(),
                1e-3f);
        assertEquals(0.5, WindowPassthrough.passthroughFraction(model, Region.ABDOMEN, reference, 0.5), 1e-12);
    }
}
