package org.meddiff.gateway.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.meddiff.gateway.infer.diffusion.AnomalyMap;
import org.meddiff.gateway.infer.diffusion.ArrayNoiseSource;
import org.meddiff.gateway.infer.diffusion.CosineSchedule;
import org.meddiff.gateway.infer.diffusion.DiffPirDenoiser;
import org.meddiff.gateway.infer.diffusion.DiffPirSuperResolver;
import org.meddiff.gateway.infer.diffusion.DiffusionMath;
import org.meddiff.gateway.infer.diffusion.EpsilonModel;
import org.meddiff.gateway.infer.diffusion.FloatVolume;
import org.meddiff.gateway.infer.diffusion.PositionEmbedding;
import org.meddiff.gateway.infer.diffusion.SamplerResult;
import org.meddiff.gateway.infer.diffusion.SlidingWindowEstimator;
import org.meddiff.gateway.infer.model.ModelCard;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.model.OnnxModel;
import org.meddiff.gateway.infer.pipeline.AnatomyClasses;
import org.meddiff.gateway.infer.pipeline.CtPreprocessing;
import org.meddiff.gateway.infer.pipeline.Region;
import org.meddiff.gateway.infer.pipeline.ThinCondition;

/**
 * Parity with the Python reference (onnx-export/golden, written by meddiff.golden from the shipped models).
 * Skips with a message when the golden files, or the models they were made with, are absent.
 *
 * <p>Tolerances (also stated in golden.json, asserted below):
 * <ul>
 * <li>schedule: relative 1e-12 for the computed table (float64, libm cos may differ in the last bit); the
 *     card's table is used by the runtime and must equal golden.json exactly; t sequences and rho exact/1e-12;</li>
 * <li>position embedding: 1e-6 abs (float64 sin/cos rounded to float32; Java and numpy sin may differ by an
 *     ulp in float64, which changes the float32 result by at most one float32 ulp, &lt;= 6e-8 here);</li>
 * <li>preprocessing (normalization, anatomy classes, slab average): exact;</li>
 * <li>one network evaluation: 1e-4 abs (ORT Java vs PyTorch; measured ~1e-6: float32 convolution
 *     accumulation order differs);</li>
 * <li>sampler outputs: 2e-3 abs. Each step amplifies eps differences by sqrt(1 - a)/sqrt(a) in x0_t
 *     (up to 13x at t = 950) and the float32 element-wise arithmetic itself is reproduced bit for bit, so
 *     the budget is ~1e-5 (eps) x 13 x a few steps, with margin.</li>
 * </ul>
 */
class GoldenParityTest {

    private static GoldenFiles g;
    private static ModelRegistry registry;
    private static CosineSchedule schedule;
    private static int L;
    private static FloatVolume inputNorm;
    private static FloatVolume anatomy;

    @BeforeAll
    static void load() {
        g = GoldenFiles.loadOrNull();
        if (g != null) {
            schedule = CosineSchedule.fromTable(g.alphaBar());
            L = g.json.get("pe_L").asInt();
            inputNorm = g.volume("input_norm");
            anatomy = g.volume("anatomy");
            registry = new ModelRegistry(GoldenFiles.modelsDir(), OnnxModel.Settings.cpu(2));
        }
    }

    @AfterAll
    static void close() {
        if (registry != null) {
            registry.close();
        }
    }

    private static void requireGolden() {
        assumeTrue(
                g != null,
                "golden files absent (" + GoldenFiles.defaultDir().toAbsolutePath()
                        + "/golden.json): run /usr/bin/python3 -m meddiff.golden in onnx-export to create them");
    }

    /** The model the golden files were made with, or skip (absent, or a different file now). */
    private static OnnxModel model(String key, String name) {
        requireGolden();
        String want = g.modelSha(key);
        assumeTrue(want != null, "golden.json names no " + key + " model sha256");
        assumeTrue(
                registry.available(name),
                "model " + name + " absent from " + GoldenFiles.modelsDir().toAbsolutePath());
        String have = registry.card(name).sha256();
        assumeTrue(
                want.equalsIgnoreCase(have),
                "golden files were made with " + name + " sha256 " + want + " but models/ holds " + have
                        + ": regenerate onnx-export/golden");
        return registry.model(name);
    }

    private static void report(String what, double diff, double tol) {
        System.out.printf(Locale.ROOT, "[golden] %-34s max |java - python| = %.3g (tolerance %.0e)%n", what, diff, tol);
    }

    @Test
    void statedTolerances() {
        requireGolden();
        assertEquals(1e-4, g.json.path("tolerances").path("patch_eps_abs").asDouble(), 0);
        assertEquals(2e-3, g.json.path("tolerances").path("sampler_outputs_abs").asDouble(), 0);
    }

    @Test
    void schedule() {
        requireGolden();
        double rel = CosineSchedule.cosine(g.json.get("T").asInt(), CosineSchedule.S_DEFAULT)
                .maxRelativeDifference(schedule);
        report("alpha_bar (computed, relative)", rel, 1e-12);
        assertTrue(rel <= 1e-12, "computed alpha_bar differs by " + rel);
        for (String name : new String[] {ModelRegistry.BASE, ModelRegistry.SR_CONTROLNET}) {
            if (Files.isRegularFile(GoldenFiles.modelsDir().resolve(name + ".card.json"))) {
                ModelCard c = ModelCard.read(GoldenFiles.modelsDir().resolve(name + ".card.json"));
                assertArrayEquals(g.alphaBar(), c.cosineSchedule().table(), 0.0, name + " card table");
            }
        }
        for (String run : new String[] {"denoise", "super_resolution"}) {
            JsonNode r = g.run(run);
            if (r.isMissingNode()) {
                continue;
            }
            int t0 = schedule.tStartFor(r.get("sigma_n").asDouble());
            assertEquals(r.get("t_start").asInt(), t0, run + " t_start");
            int[] ts = CosineSchedule.timesteps(t0, r.get("steps").asInt());
            assertArrayEquals(GoldenFiles.ints(r.get("t_sequence")), ts, run + " t sequence");
            JsonNode trace = r.get("trace");
            for (int i = 0; i < ts.length; i++) {
                double rho = DiffusionMath.rho(
                        r.get("lambda").asDouble(), r.get("sigma_n").asDouble(), schedule.alphaBar(ts[i]));
                assertEquals(trace.get(i).get("rho").asDouble(), rho, 1e-12 * rho, run + " rho step " + i);
                assertEquals(trace.get(i).get("t_prev").asInt(), i + 1 < ts.length ? ts[i + 1] : -1);
            }
        }
        assertEquals(87, schedule.tStartFor(0.15));
        assertEquals(495, schedule.tStartFor(1.0));
    }

    @Test
    void positionEmbedding() {
        requireGolden();
        JsonNode p = g.run("patch");
        int[] off = GoldenFiles.ints(p.get("offset_zyx"));
        int P = p.get("patch").asInt();
        int[] shape = GoldenFiles.ints(g.json.get("volume_shape_zyx"));
        PositionEmbedding pe = new PositionEmbedding(L, shape[0], shape[1], shape[2]);
        float[] mine = new float[6 * L * P * P * P];
        pe.fillPatch(off[0], off[1], off[2], P, mine, 0);
        double d = GoldenFiles.maxAbs(g.array("patch_pos_embed"), mine);
        report("position embedding", d, 1e-6);
        assertTrue(d <= 1e-6);
    }

    @Test
    void preprocessingAndDegradation() {
        requireGolden();
        FloatVolume hu = g.volume("input_hu");
        Region region = Region.fromName(g.json.get("region_used").asText()).orElseThrow();
        assertArrayEquals(
                inputNorm.data(), CtPreprocessing.normalize(hu, region).data(), 0f, "normalization");
        assertArrayEquals(anatomy.data(), AnatomyClasses.map(hu).data(), 0f, "anatomy classes");
        // ControlNet condition of the patch = H^T H(input_norm), cut at the patch offset
        JsonNode p = g.run("patch");
        int[] off = GoldenFiles.ints(p.get("offset_zyx"));
        int P = p.get("patch").asInt();
        FloatVolume cond =
                DiffPirSuperResolver.replicate(DiffPirSuperResolver.slabAverage(inputNorm, 5), inputNorm.depth(), 5);
        float[] cut = new float[P * P * P];
        cond.copyPatch(off[0], off[1], off[2], P, cut, 0);
        assertArrayEquals(g.array("patch_condition"), cut, 0f, "slab average + replicate");
        float[] an = new float[P * P * P];
        anatomy.copyPatch(off[0], off[1], off[2], P, an, 0);
        assertArrayEquals(g.array("patch_anatomy"), an, 0f, "anatomy patch");
    }

    private static float[] patchEps(OnnxModel m, boolean cond) {
        JsonNode p = g.run("patch");
        int P = p.get("patch").asInt();
        return m.predict(new EpsilonModel.PatchBatch(
                1,
                P,
                p.get("t").asInt(),
                g.array("patch_x_t"),
                g.array("patch_pos_embed"),
                g.array("patch_anatomy"),
                p.get("region").asInt(),
                cond ? g.array("patch_condition") : null));
    }

    @Test
    void onePatchEpsBase() {
        OnnxModel m = model("base", ModelRegistry.BASE);
        double d = GoldenFiles.maxAbs(g.array("patch_eps_base"), patchEps(m, false));
        report("one-patch eps, base", d, 1e-4);
        assertTrue(d <= 1e-4);
    }

    @Test
    void onePatchEpsSr() {
        requireGolden();
        assumeTrue(g.has("patch_eps_sr"), "golden files have no SR ControlNet patch");
        OnnxModel m = model("sr", ModelRegistry.SR_CONTROLNET);
        double d = GoldenFiles.maxAbs(g.array("patch_eps_sr"), patchEps(m, true));
        report("one-patch eps, SR ControlNet", d, 1e-4);
        assertTrue(d <= 1e-4);
    }

    private static SlidingWindowEstimator estimator(OnnxModel m, JsonNode run) {
        return new SlidingWindowEstimator(
                m, run.get("patch").asInt(), run.get("stride").asInt(), L, 4);
    }

    @Test
    void denoise() {
        OnnxModel m = model("base", ModelRegistry.BASE);
        JsonNode r = g.run("denoise");
        ArrayNoiseSource noise = ArrayNoiseSource.ofStacked(g.array("denoise_noise"), inputNorm.size());
        DiffPirDenoiser.Params p = new DiffPirDenoiser.Params(
                r.get("sigma_n").asDouble(),
                r.get("lambda").asDouble(),
                r.get("zeta").asDouble(),
                r.get("steps").asInt());
        long t0 = System.nanoTime();
        SamplerResult out = new DiffPirDenoiser(schedule, estimator(m, r))
                .denoise(inputNorm, anatomy, r.get("region").asInt(), p, noise, null);
        System.out.printf(
                Locale.ROOT,
                "[golden] denoise: %d patches in %.2f s of network time, %.2f s total%n",
                out.patches(),
                out.networkSeconds(),
                (System.nanoTime() - t0) / 1e9);
        assertEquals(0, noise.remaining(), "every noise array consumed");
        assertArrayEquals(GoldenFiles.ints(r.get("t_sequence")), out.timesteps());
        double d = GoldenFiles.maxAbs(g.array("denoise_output"), out.output().data());
        report("denoise output", d, 2e-3);
        assertTrue(d <= 2e-3);
    }

    @Test
    void superResolution() {
        requireGolden();
        JsonNode r = g.run("super_resolution");
        assumeTrue(!r.isMissingNode(), "golden files have no super-resolution run");
        OnnxModel m = model("sr", ModelRegistry.SR_CONTROLNET);
        FloatVolume thick = g.volume("sr_input_thick");
        FloatVolume an = g.volume("sr_anatomy");
        ArrayNoiseSource noise = ArrayNoiseSource.ofStacked(g.array("sr_noise"), an.size());
        DiffPirSuperResolver.Params p = new DiffPirSuperResolver.Params(
                r.get("sf").asInt(),
                r.get("sigma_n").asDouble(),
                r.get("lambda").asDouble(),
                r.get("zeta").asDouble(),
                r.get("steps").asInt(),
                -1);
        FloatVolume cond = DiffPirSuperResolver.replicate(thick, an.depth(), p.sf());
        if (g.has("sr_condition")) {
            // the golden run used the ControlNet's condition (meddiff.thinslices): the Java one must match it
            ThinCondition mode = ThinCondition.fromCard(r.path("condition").asText("replicate"));
            assertEquals(
                    mode,
                    ThinCondition.fromCard(m.card().srConditionOrDefault()),
                    "golden run and model card disagree on sr_condition");
            FloatVolume thinHu = mode.toThin(g.volume("sr_input_thick_hu"), an.depth(), p.sf());
            double dc = GoldenFiles.maxAbs(
                    g.array("sr_condition"),
                    CtPreprocessing.normalize(
                                    thinHu, Region.ofIndex(r.get("region").asInt()))
                            .data());
            double da = GoldenFiles.maxAbs(
                    g.array("sr_anatomy"), AnatomyClasses.map(thinHu).data());
            report("super-resolution condition (" + mode + ")", dc, 1e-5);
            assertTrue(dc <= 1e-5);
            assertEquals(0.0, da, "anatomy of the condition");
            cond = g.volume("sr_condition");
        }
        SamplerResult out = new DiffPirSuperResolver(schedule, estimator(m, r))
                .superResolve(thick, cond, an, r.get("region").asInt(), p, noise, null);
        assertEquals(0, noise.remaining(), "every noise array consumed");
        assertArrayEquals(GoldenFiles.ints(r.get("t_sequence")), out.timesteps());
        double d = GoldenFiles.maxAbs(g.array("sr_output"), out.output().data());
        report("super-resolution output", d, 2e-3);
        assertTrue(d <= 2e-3);
    }

    @Test
    void anomaly() {
        OnnxModel m = model("base", ModelRegistry.BASE);
        JsonNode r = g.run("anomaly");
        FloatVolume x0 = g.volume("anomaly_input");
        ArrayNoiseSource noise = ArrayNoiseSource.ofStacked(g.array("anomaly_noise"), x0.size());
        AnomalyMap.Result out = new AnomalyMap(
                        schedule,
                        estimator(m, r),
                        r.get("t").asInt(),
                        r.get("score_q").asDouble())
                .compute(x0, g.volume("anomaly_anatomy"), r.get("region").asInt(), g.volume("anomaly_mask"), noise);
        assertEquals(0, noise.remaining());
        double dx = GoldenFiles.maxAbs(g.array("anomaly_x0_pred"), out.x0Pred().data());
        double dm = GoldenFiles.maxAbs(g.array("anomaly_map"), out.map().data());
        double ds = Math.abs(r.get("score").asDouble() - out.score());
        report("anomaly x0'", dx, 2e-3);
        report("anomaly map", dm, 2e-3);
        report("anomaly series score", ds, 2e-3);
        assertTrue(dx <= 2e-3);
        assertTrue(dm <= 2e-3);
        assertTrue(ds <= 2e-3);
    }

    /** Not an assertion: ms per network evaluation of the shipped models at the golden patch size. */
    @Test
    void timing() {
        timing(model("base", ModelRegistry.BASE), "base");
    }

    @Test
    void timingSr() {
        requireGolden();
        assumeTrue(g.has("patch_eps_sr"), "golden files have no SR ControlNet patch");
        timing(model("sr", ModelRegistry.SR_CONTROLNET), "SR ControlNet");
    }

    private static void timing(OnnxModel m, String what) {
        int P = g.run("denoise").get("patch").asInt();
        int pv = P * P * P;
        for (int n : new int[] {1, 4}) {
            float[] x = new float[n * pv], pe = new float[n * 6 * L * pv], an = new float[n * pv];
            EpsilonModel.PatchBatch b =
                    new EpsilonModel.PatchBatch(n, P, 500, x, pe, an, 2, m.conditioned() ? new float[n * pv] : null);
            m.predict(b); // warm-up
            int reps = 3;
            long t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                m.predict(b);
            }
            double ms = (System.nanoTime() - t0) / 1e6 / reps;
            System.out.printf(
                    Locale.ROOT,
                    "[golden] %s model, %d^3 patches, batch %d: %.1f ms per call, %.1f ms per patch (%d intra-op threads)%n",
                    what,
                    P,
                    n,
                    ms,
                    ms / n,
                    registry.settings().intraOpThreads());
        }
    }
}
