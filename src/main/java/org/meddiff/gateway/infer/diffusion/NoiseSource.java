package org.meddiff.gateway.infer.diffusion;

/**
 * Where the samplers take their Gaussian noise arrays z ~ N(0, I) from (spec 11: each run consumes its
 * arrays in a fixed order). Injectable so that runs are reproducible: {@link SeededGaussianNoise} in
 * production, {@link ArrayNoiseSource} for golden parity.
 */
public interface NoiseSource {
    /** The next noise array of {@code count} values ([D, H, W] in C order). */
    float[] next(int count);
}
