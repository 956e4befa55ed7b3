package org.meddiff.gateway.infer.diffusion;

/**
 * DiffPIR + ControlNet thick-to-thin super-resolution along z (spec 9; MedDiff-FM task 2).
 *
 * <p>Degradation H: thick slice k = mean of thin slices k*sf .. min((k+1)*sf, D) - 1 (the last slab may be
 * partial); H^T (pseudo-inverse as used by the reference): thin slice z takes thick slice floor(z / sf).
 * cond = H^T(y0); x = sqrt(a_start) cond + sqrt(1 - a_start) z0 (noise array [0]); then the DiffPIR loop
 * with eps = E(x, t, cond) and the data step x0_hat = x0_t + H^T(y0 - H(x0_t)) / (1 + rho).
 */
public final class DiffPirSuperResolver {

    /**
     * @param sf     slab factor (thin slices per thick slice), 5 for 5 mm -&gt; 1 mm
     * @param tStart start step, or -1 for t_start from sigma_n (the default; sigma_n 1.0 -&gt; 495)
     */
    public record Params(int sf, double sigmaN, double lambda, double zeta, int steps, int tStart) {
        public Params {
            if (sf < 1) {
                throw new IllegalArgumentException("sf must be >= 1: " + sf);
            }
            DiffusionMath.checkDiffPir(sigmaN, lambda, zeta, steps);
        }

        /** Paper settings: sigma_n 1.0, lambda 1, 100 evaluations; zeta as given. */
        public static Params paper(int sf, double zeta) {
            return new Params(sf, 1.0, 1.0, zeta, 100, -1);
        }
    }

    private final CosineSchedule schedule;
    private final SlidingWindowEstimator estimator;

    public DiffPirSuperResolver(CosineSchedule schedule, SlidingWindowEstimator estimator) {
        if (!estimator.model().conditioned()) {
            throw new IllegalArgumentException("super-resolution needs the ControlNet model (condition input)");
        }
        this.schedule = schedule;
        this.estimator = estimator;
    }

    /** Number of thick slices for n thin slices: ceil(n / sf). */
    public static int thickCount(int thin, int sf) {
        return (thin + sf - 1) / sf;
    }

    /** H: slab average along z (float32 sums in slice order, divided by the slab's slice count). */
    public static FloatVolume slabAverage(FloatVolume v, int sf) {
        int plane = v.height() * v.width();
        int dt = thickCount(v.depth(), sf);
        float[] out = new float[dt * plane];
        float[] in = v.data();
        for (int k = 0; k < dt; k++) {
            int z0 = k * sf;
            int z1 = Math.min(z0 + sf, v.depth());
            float n = z1 - z0;
            int o = k * plane;
            System.arraycopy(in, z0 * plane, out, o, plane);
            for (int z = z0 + 1; z < z1; z++) {
                int s = z * plane;
                for (int i = 0; i < plane; i++) {
                    out[o + i] += in[s + i];
                }
            }
            for (int i = 0; i < plane; i++) {
                out[o + i] /= n;
            }
        }
        return new FloatVolume(dt, v.height(), v.width(), out);
    }

    /** H^T: thin slice z takes thick slice floor(z / sf), for {@code thin} thin slices. */
    public static FloatVolume replicate(FloatVolume thick, int thin, int sf) {
        if (thickCount(thin, sf) != thick.depth()) {
            throw new IllegalArgumentException(
                    thick.depth() + " thick slices do not make " + thin + " thin slices with sf " + sf);
        }
        int plane = thick.height() * thick.width();
        float[] out = new float[thin * plane];
        for (int z = 0; z < thin; z++) {
            System.arraycopy(thick.data(), (z / sf) * plane, out, z * plane, plane);
        }
        return new FloatVolume(thin, thick.height(), thick.width(), out);
    }

    /**
     * @param yThick  thick input y0 (normalized), ceil(thin / sf) slices
     * @param thin    number of thin slices D
     * @param anatomy anatomy classes on the thin grid (from H^T of the thick HU volume)
     */
    public SamplerResult superResolve(
            FloatVolume yThick,
            int thin,
            FloatVolume anatomy,
            int region,
            Params p,
            NoiseSource noise,
            SamplerProgress progress) {
        return superResolve(yThick, replicate(yThick, thin, p.sf()), anatomy, region, p, noise, progress);
    }

    /**
     * @param cond the thick input on the thin grid as the ControlNet was trained with it (normalized; H^T y0 in
     *             the spec): the condition input and the starting point
     */
    public SamplerResult superResolve(
            FloatVolume yThick,
            FloatVolume cond,
            FloatVolume anatomy,
            int region,
            Params p,
            NoiseSource noise,
            SamplerProgress progress) {
        SamplerProgress pl = progress == null ? SamplerProgress.NONE : progress;
        int thin = cond.depth();
        if (thickCount(thin, p.sf()) != yThick.depth()) {
            throw new IllegalArgumentException(
                    yThick.depth() + " thick slices do not make " + thin + " thin slices with sf " + p.sf());
        }
        cond.requireSameShape(anatomy, "anatomy");
        int tStart = p.tStart() >= 0 ? schedule.checkT(p.tStart()) : schedule.tStartFor(p.sigmaN());
        int[] ts = CosineSchedule.timesteps(tStart, p.steps());
        double[] rhos = new double[ts.length];
        long patches0 = estimator.patchesEvaluated();
        long nanos0 = estimator.networkNanos();
        float[] z0 = noise.next(cond.size());
        float[] x = DiffusionMath.diffuse(cond.data(), z0, schedule.alphaBar(ts[0]));
        for (int i = 0; i < ts.length; i++) {
            int t = ts[i];
            int tp = i + 1 < ts.length ? ts[i + 1] : -1;
            double a = schedule.alphaBar(t);
            FloatVolume xv = new FloatVolume(thin, cond.height(), cond.width(), x);
            float[] eps = estimator.estimate(xv, t, anatomy, region, cond).data();
            float[] x0t = DiffusionMath.x0FromEps(x, eps, a);
            double rho = DiffusionMath.rho(p.lambda(), p.sigmaN(), a);
            rhos[i] = rho;
            FloatVolume hx = slabAverage(new FloatVolume(thin, cond.height(), cond.width(), x0t), p.sf());
            float[] r = hx.data();
            float[] yt = yThick.data();
            for (int k = 0; k < r.length; k++) {
                r[k] = yt[k] - r[k];
            }
            float[] back = replicate(hx, thin, p.sf()).data();
            float fd = (float) (1.0 + rho);
            float[] x0h = new float[x.length];
            for (int k = 0; k < x.length; k++) {
                x0h[k] = x0t[k] + back[k] / fd;
            }
            x = tp < 0 ? x0h : DiffusionMath.diffPirNext(x, x0h, a, schedule.alphaBar(tp), p.zeta(), noise);
            pl.step(i + 1, ts.length, t, estimator.lastPatchesPerSecond());
        }
        return new SamplerResult(
                new FloatVolume(thin, cond.height(), cond.width(), x),
                ts,
                rhos,
                p.sigmaN(),
                p.lambda(),
                p.zeta(),
                estimator.patchesEvaluated() - patches0,
                (estimator.networkNanos() - nanos0) / 1e9);
    }
}
