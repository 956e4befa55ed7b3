package org.meddiff.gateway.infer.diffusion;

/**
 * A noise-prediction network evaluated on a batch of cubic patches (the ONNX contract of the model
 * cards): x_t, t, position embedding, anatomy, region [, condition] -&gt; eps. Implementations must be
 * safe to call from one thread at a time; batching is the caller's choice.
 */
public interface EpsilonModel {

    /** Number of position-embedding channels the network expects (6 L). */
    int positionChannels();

    /** Whether the network takes the ControlNet {@code condition} input. */
    boolean conditioned();

    /**
     * Evaluates {@code batch.count()} patches; returns eps as [N, P, P, P] (C order), N * P^3 floats.
     */
    float[] predict(PatchBatch batch);

    /**
     * One batch of patches, all at the same t and region; arrays in C order.
     *
     * @param count     N
     * @param patch     P (edge of the cube)
     * @param t         diffusion step (integer value)
     * @param x         [N, 1, P, P, P]
     * @param positions [N, 6L, P, P, P]
     * @param anatomy   [N, 1, P, P, P] class indices as floats
     * @param region    region class index
     * @param condition [N, 1, P, P, P] or null for the base model
     */
    record PatchBatch(
            int count, int patch, int t, float[] x, float[] positions, float[] anatomy, int region, float[] condition) {
        public PatchBatch {
            long voxels = (long) count * patch * patch * patch;
            if (count < 1 || patch < 1) {
                throw new IllegalArgumentException("empty batch");
            }
            if (x.length < voxels
                    || anatomy.length < voxels
                    || positions.length < voxels
                    || (condition != null && condition.length < voxels)) {
                throw new IllegalArgumentException(
                        "batch arrays shorter than " + count + " patches of " + patch + "^3");
            }
        }

        public int patchVoxels() {
            return patch * patch * patch;
        }
    }
}
