package org.meddiff.gateway.infer.diffusion;

/**
 * DiffPIR plug-and-play denoising with H = identity (spec 8; MedDiff-FM task 1, no fine-tuning).
 *
 * <pre>
 * t_start = argmin_t |sigma_bar_t - sigma_n|;  x = sqrt(alpha_bar[t_start]) * y0
 * for t in timesteps(t_start, steps), t_prev = next element or -1:
 *   eps = E(x, t);  x0_t = clip((x - sqrt(1-a) eps) / sqrt(a), -1, 1);  rho = lambda sigma_n^2 / sigma_bar_t^2
 *   x0_hat = (y0 + rho x0_t) / (1 + rho)
 *   t_prev = -1: x = x0_hat, stop
 *   x = sqrt(a_prev) x0_hat + sqrt(1 - a_prev) (sqrt(1-zeta) e + sqrt(zeta) z),  e = (x - sqrt(a) x0_hat) / sqrt(1-a)
 * </pre>
 * One noise array per step with t_prev &gt;= 0, only when zeta &gt; 0.
 */
public final class DiffPirDenoiser {

    /** Paper settings (Mayo quarter dose): sigma_n 0.15, lambda 10. */
    public record Params(double sigmaN, double lambda, double zeta, int steps) {
        public Params {
            DiffusionMath.checkDiffPir(sigmaN, lambda, zeta, steps);
        }
    }

    private final CosineSchedule schedule;
    private final SlidingWindowEstimator estimator;

    public DiffPirDenoiser(CosineSchedule schedule, SlidingWindowEstimator estimator) {
        if (estimator.model().conditioned()) {
            throw new IllegalArgumentException("denoising uses the base model (no condition input)");
        }
        this.schedule = schedule;
        this.estimator = estimator;
    }

    public SamplerResult denoise(
            FloatVolume y0, FloatVolume anatomy, int region, Params p, NoiseSource noise, SamplerProgress progress) {
        y0.requireSameShape(anatomy, "anatomy");
        SamplerProgress pl = progress == null ? SamplerProgress.NONE : progress;
        int tStart = schedule.tStartFor(p.sigmaN());
        int[] ts = CosineSchedule.timesteps(tStart, p.steps());
        double[] rhos = new double[ts.length];
        long patches0 = estimator.patchesEvaluated();
        long nanos0 = estimator.networkNanos();
        float[] y = y0.data();
        float[] x = DiffusionMath.scale(y, schedule.alphaBar(tStart));
        for (int i = 0; i < ts.length; i++) {
            int t = ts[i];
            int tp = i + 1 < ts.length ? ts[i + 1] : -1;
            double a = schedule.alphaBar(t);
            FloatVolume xv = new FloatVolume(y0.depth(), y0.height(), y0.width(), x);
            float[] eps = estimator.estimate(xv, t, anatomy, region).data();
            float[] x0t = DiffusionMath.x0FromEps(x, eps, a);
            double rho = DiffusionMath.rho(p.lambda(), p.sigmaN(), a);
            rhos[i] = rho;
            float fr = (float) rho;
            float fd = (float) (1.0 + rho);
            float[] x0h = new float[x.length];
            for (int k = 0; k < x.length; k++) {
                x0h[k] = (y[k] + fr * x0t[k]) / fd;
            }
            x = tp < 0 ? x0h : DiffusionMath.diffPirNext(x, x0h, a, schedule.alphaBar(tp), p.zeta(), noise);
            pl.step(i + 1, ts.length, t, estimator.lastPatchesPerSecond());
        }
        return new SamplerResult(
                new FloatVolume(y0.depth(), y0.height(), y0.width(), x),
                ts,
                rhos,
                p.sigmaN(),
                p.lambda(),
                p.zeta(),
                estimator.patchesEvaluated() - patches0,
                (estimator.networkNanos() - nanos0) / 1e9);
    }
}
