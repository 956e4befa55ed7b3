package org.meddiff.gateway.infer.diffusion;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Epsilon models with known outputs for the sampler tests. */
final class FakeModels {

    private FakeModels() {}

    /** eps = slope * x + offset (+ condSlope * condition): every patch agrees, so smoothing is the identity. */
    static final class Linear implements EpsilonModel {
        final double slope, offset, condSlope;
        final boolean conditioned;
        final List<Integer> batchSizes = new ArrayList<>();
        final List<Integer> ts = new ArrayList<>();

        Linear(double slope, double offset) {
            this(slope, offset, false, 0);
        }

        Linear(double slope, double offset, boolean conditioned, double condSlope) {
            this.slope = slope;
            this.offset = offset;
            this.conditioned = conditioned;
            this.condSlope = condSlope;
        }

        @Override
        public int positionChannels() {
            return 24;
        }

        @Override
        public boolean conditioned() {
            return conditioned;
        }

        @Override
        public float[] predict(PatchBatch b) {
            batchSizes.add(b.count());
            ts.add(b.t());
            int n = b.count() * b.patchVoxels();
            float[] out = new float[n];
            for (int i = 0; i < n; i++) {
                double v = slope * b.x()[i] + offset + (conditioned ? condSlope * b.condition()[i] : 0);
                out[i] = (float) v;
            }
            return out;
        }

        double eps(double x, double c) {
            return (float) (slope * (float) x + offset + (conditioned ? condSlope * (float) c : 0));
        }
    }

    /** Every patch returns its running index (0, 1, 2, ... over all calls). */
    static final class Counter implements EpsilonModel {
        int seen;
        final List<Integer> batchSizes = new ArrayList<>();

        @Override
        public int positionChannels() {
            return 24;
        }

        @Override
        public boolean conditioned() {
            return false;
        }

        @Override
        public float[] predict(PatchBatch b) {
            batchSizes.add(b.count());
            int pv = b.patchVoxels();
            float[] out = new float[b.count() * pv];
            for (int k = 0; k < b.count(); k++) {
                Arrays.fill(out, k * pv, (k + 1) * pv, seen++);
            }
            return out;
        }
    }
}
