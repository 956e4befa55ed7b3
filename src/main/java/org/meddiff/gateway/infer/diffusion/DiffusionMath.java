package org.meddiff.gateway.infer.diffusion;

/**
 * The element-wise arithmetic shared by the samplers, written to round exactly like the numpy
 * reference (meddiff.sampler): scalar coefficients are computed in float64 and rounded to float32,
 * then every array operation is a float32 operation (Java float arithmetic is IEEE single precision
 * per operation, never fused).
 */
public final class DiffusionMath {

    private DiffusionMath() {}

    static float f32(double v) {
        return (float) v;
    }

    /** x0_t = clip((x - sqrt(1 - a) * eps) / sqrt(a), -1, 1) (spec 7). */
    public static float[] x0FromEps(float[] x, float[] eps, double a) {
        float c1 = f32(Math.sqrt(1.0 - a));
        float c2 = f32(Math.sqrt(a));
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            float v = (x[i] - c1 * eps[i]) / c2;
            out[i] = v < -1f ? -1f : (v > 1f ? 1f : v);
        }
        return out;
    }

    /** rho_t = lambda * sigma_n^2 / sigma_bar_t^2 in float64, the order of the reference. */
    public static double rho(double lambda, double sigmaN, double a) {
        return lambda * (sigmaN * sigmaN) / ((1.0 - a) / a);
    }

    /**
     * DiffPIR move to t_prev (spec 8): e = (x - sqrt(a) x0h) / sqrt(1 - a); m = sqrt(1 - zeta) e + sqrt(zeta) z
     * when zeta &gt; 0 (z = next noise array), else m = e; returns sqrt(a_prev) x0h + sqrt(1 - a_prev) m.
     */
    public static float[] diffPirNext(float[] x, float[] x0h, double a, double aPrev, double zeta, NoiseSource noise) {
        float ca = f32(Math.sqrt(a));
        float c1a = f32(Math.sqrt(1.0 - a));
        float cp = f32(Math.sqrt(aPrev));
        float c1p = f32(Math.sqrt(1.0 - aPrev));
        float[] out = new float[x.length];
        if (zeta > 0) {
            float[] z = noise.next(x.length);
            float cz1 = f32(Math.sqrt(1.0 - zeta));
            float cz = f32(Math.sqrt(zeta));
            for (int i = 0; i < x.length; i++) {
                float e = (x[i] - ca * x0h[i]) / c1a;
                float m = cz1 * e + cz * z[i];
                out[i] = cp * x0h[i] + c1p * m;
            }
        } else {
            for (int i = 0; i < x.length; i++) {
                float e = (x[i] - ca * x0h[i]) / c1a;
                out[i] = cp * x0h[i] + c1p * e;
            }
        }
        return out;
    }

    /** sqrt(a) * x (float32 coefficient). */
    public static float[] scale(float[] x, double a) {
        float c = f32(Math.sqrt(a));
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = c * x[i];
        }
        return out;
    }

    /** sqrt(a) * x + sqrt(1 - a) * z: forward diffusion to a step with alpha_bar a. */
    public static float[] diffuse(float[] x, float[] z, double a) {
        float c = f32(Math.sqrt(a));
        float cz = f32(Math.sqrt(1.0 - a));
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = c * x[i] + cz * z[i];
        }
        return out;
    }

    /** The DiffPIR parameters every sampler shares: sigma_n > 0, lambda > 0, zeta in [0, 1], steps >= 1. */
    static void checkDiffPir(double sigmaN, double lambda, double zeta, int steps) {
        if (!(sigmaN > 0) || Double.isInfinite(sigmaN)) {
            throw new IllegalArgumentException("sigma_n must be > 0: " + sigmaN);
        }
        if (!(lambda > 0)) {
            throw new IllegalArgumentException("lambda must be > 0: " + lambda);
        }
        checkZeta(zeta);
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1: " + steps);
        }
    }

    static void checkZeta(double zeta) {
        if (!(zeta >= 0 && zeta <= 1)) {
            throw new IllegalArgumentException("zeta must be in [0, 1]: " + zeta);
        }
    }
}
