package org.meddiff.gateway.infer.diffusion;

import java.util.SplittableRandom;

/**
 * Standard normal float32 noise from a seeded {@link SplittableRandom} (Marsaglia polar method):
 * the same seed gives the same arrays on every JVM. Not numpy's PCG64 stream (the spec does not
 * require bit-exact numpy reproduction; golden tests use {@link ArrayNoiseSource}).
 */
public final class SeededGaussianNoise implements NoiseSource {

    private final long seed;
    private final SplittableRandom random;
    private double spare;
    private boolean hasSpare;

    public SeededGaussianNoise(long seed) {
        this.seed = seed;
        this.random = new SplittableRandom(seed);
    }

    public long seed() {
        return seed;
    }

    @Override
    public float[] next(int count) {
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = (float) gaussian();
        }
        return out;
    }

    private double gaussian() {
        if (hasSpare) {
            hasSpare = false;
            return spare;
        }
        double u, v, s;
        do {
            u = random.nextDouble() * 2 - 1;
            v = random.nextDouble() * 2 - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        double m = Math.sqrt(-2 * Math.log(s) / s);
        spare = v * m;
        hasSpare = true;
        return u * m;
    }
}
