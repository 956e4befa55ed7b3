package org.meddiff.gateway.infer.diffusion;

import java.util.List;
import java.util.concurrent.CancellationException;

/**
 * Smoothed whole-volume noise estimate E(x, t [, cond]) (spec 6): evaluate the network on every patch
 * of the {@link PatchGrid} (with that patch's global position embedding), add each patch's eps into a
 * float32 sum volume and 1 into a float32 count volume in grid order, return sum / count.
 *
 * <p>Patches are sent to the model in batches of up to {@code maxBatch}. The order of accumulation is
 * the grid order whatever the batching, so results do not depend on it (beyond the network's own
 * float rounding per batch size). Interrupting the calling thread stops between batches with a
 * {@link CancellationException}.
 */
public final class SlidingWindowEstimator {

    /** Called after every network call while an estimate is computed. */
    @FunctionalInterface
    public interface BatchListener {
        void batchDone(int patchesDone, int patchesTotal);
    }

    private final EpsilonModel model;
    private final int patch;
    private final int stride;
    private final int levels;
    private final int maxBatch;
    private BatchListener batchListener = (d, n) -> {};

    private long networkNanos;
    private long patchesEvaluated;
    private long calls;
    private double lastPatchesPerSecond = Double.NaN;

    public SlidingWindowEstimator(EpsilonModel model, int patch, int stride, int peLevels, int maxBatch) {
        if (patch < 1 || stride < 1 || stride > patch) {
            throw new IllegalArgumentException("need 1 <= stride <= patch: patch " + patch + ", stride " + stride);
        }
        if (maxBatch < 1) {
            throw new IllegalArgumentException("max batch must be >= 1: " + maxBatch);
        }
        if (model.positionChannels() != 6 * peLevels) {
            throw new IllegalArgumentException("model expects " + model.positionChannels() + " position channels, pe_L "
                    + peLevels + " gives " + 6 * peLevels);
        }
        this.model = model;
        this.patch = patch;
        this.stride = stride;
        this.levels = peLevels;
        this.maxBatch = maxBatch;
    }

    public SlidingWindowEstimator withBatchListener(BatchListener listener) {
        this.batchListener = listener == null ? (d, n) -> {} : listener;
        return this;
    }

    public int patch() {
        return patch;
    }

    public int stride() {
        return stride;
    }

    public int levels() {
        return levels;
    }

    public int maxBatch() {
        return maxBatch;
    }

    public EpsilonModel model() {
        return model;
    }

    public PatchGrid grid(FloatVolume v) {
        return new PatchGrid(v.depth(), v.height(), v.width(), patch, stride);
    }

    /** Patches per second of the last {@link #estimate} call (network time only). */
    public double lastPatchesPerSecond() {
        return lastPatchesPerSecond;
    }

    /** Totals since construction: network calls, patches, nanoseconds inside the model. */
    public long calls() {
        return calls;
    }

    public long patchesEvaluated() {
        return patchesEvaluated;
    }

    public long networkNanos() {
        return networkNanos;
    }

    /** E(x, t) of the base model. */
    public FloatVolume estimate(FloatVolume x, int t, FloatVolume anatomy, int region) {
        return estimate(x, t, anatomy, region, null);
    }

    /** E(x, t, cond); cond must be given exactly when the model is conditioned. */
    public FloatVolume estimate(FloatVolume x, int t, FloatVolume anatomy, int region, FloatVolume condition) {
        x.requireSameShape(anatomy, "anatomy");
        if (condition != null) {
            x.requireSameShape(condition, "condition");
        }
        if (model.conditioned() != (condition != null)) {
            throw new IllegalArgumentException(
                    model.conditioned() ? "the model needs a condition volume" : "the model takes no condition");
        }
        PatchGrid grid = grid(x);
        List<PatchGrid.Offset> offs = grid.offsets();
        PositionEmbedding pe = new PositionEmbedding(levels, x.depth(), x.height(), x.width());
        int pv = patch * patch * patch;
        int n = offs.size();
        int b = Math.min(maxBatch, n);
        float[] bx = new float[b * pv];
        float[] ban = new float[b * pv];
        float[] bpe = new float[b * pv * pe.channels()];
        float[] bc = condition == null ? null : new float[b * pv];
        float[] sum = new float[x.size()];
        float[] cnt = new float[x.size()];
        long nanos = 0;
        for (int start = 0; start < n; start += b) {
            if (Thread.currentThread().isInterrupted()) {
                throw new CancellationException("interrupted during the noise estimate at t = " + t);
            }
            int m = Math.min(b, n - start);
            for (int k = 0; k < m; k++) {
                PatchGrid.Offset o = offs.get(start + k);
                x.copyPatch(o.z(), o.y(), o.x(), patch, bx, k * pv);
                anatomy.copyPatch(o.z(), o.y(), o.x(), patch, ban, k * pv);
                pe.fillPatch(o.z(), o.y(), o.x(), patch, bpe, k * pv * pe.channels());
                if (condition != null) {
                    condition.copyPatch(o.z(), o.y(), o.x(), patch, bc, k * pv);
                }
            }
            long t0 = System.nanoTime();
            float[] eps = model.predict(new EpsilonModel.PatchBatch(m, patch, t, bx, bpe, ban, region, bc));
            nanos += System.nanoTime() - t0;
            if (eps.length < m * pv) {
                throw new IllegalStateException(
                        "model returned " + eps.length + " values for " + m + " patches of " + pv);
            }
            for (int k = 0; k < m; k++) {
                PatchGrid.Offset o = offs.get(start + k);
                accumulate(sum, cnt, x, o, eps, k * pv);
            }
            calls++;
            batchListener.batchDone(start + m, n);
        }
        float[] out = new float[x.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = sum[i] / cnt[i];
        }
        networkNanos += nanos;
        patchesEvaluated += n;
        lastPatchesPerSecond = n / Math.max(nanos / 1e9, 1e-9);
        return new FloatVolume(x.depth(), x.height(), x.width(), out);
    }

    private void accumulate(float[] sum, float[] cnt, FloatVolume v, PatchGrid.Offset o, float[] eps, int from) {
        int k = from;
        for (int z = 0; z < patch; z++) {
            for (int y = 0; y < patch; y++) {
                int row = v.index(o.z() + z, o.y() + y, o.x());
                for (int i = 0; i < patch; i++) {
                    sum[row + i] += eps[k++];
                    cnt[row + i] += 1.0f;
                }
            }
        }
    }
}
