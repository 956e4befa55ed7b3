package org.meddiff.gateway.infer.diffusion;

/** Progress of a sampler: step i (1-based) of n done at diffusion step t, network throughput of that step. */
@FunctionalInterface
public interface SamplerProgress {
    SamplerProgress NONE = (step, steps, t, patchesPerSecond) -> {};

    void step(int step, int steps, int t, double patchesPerSecond);
}
