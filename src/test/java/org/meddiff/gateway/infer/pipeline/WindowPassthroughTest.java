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
}
