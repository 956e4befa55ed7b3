package org.meddiff.gateway.infer.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.infer.diffusion.CosineSchedule;
import org.meddiff.gateway.infer.diffusion.DiffPirDenoiser;
import org.meddiff.gateway.infer.diffusion.DiffPirSuperResolver;
import org.meddiff.gateway.infer.diffusion.EpsilonModel;
import org.meddiff.gateway.infer.diffusion.FloatVolume;
import org.meddiff.gateway.infer.diffusion.PositionEmbedding;
import org.meddiff.gateway.infer.diffusion.SamplerResult;
import org.meddiff.gateway.infer.diffusion.SeededGaussianNoise;
import org.meddiff.gateway.infer.diffusion.SlidingWindowEstimator;

/** ONNX Runtime model runtime on the tiny analytic networks (fast; no shipped model needed). */
class OnnxModelTest {

    @TempDir
    Path dir;

    private static float[] random(int n, long seed) {
        return new SeededGaussianNoise(seed).next(n);
    }

    @Test
    void sha256MismatchIsAClearError() throws Exception {
        TinyModels.install(dir);
        Path card = dir.resolve(TinyModels.BASE + ".card.json");
        String wrong = "0".repeat(64);
        String actual = OnnxModel.sha256(dir.resolve(TinyModels.BASE + ".onnx"));
        Files.writeString(card, Files.readString(card).replace(actual, wrong));
        try (ModelRegistry reg = new ModelRegistry(dir, OnnxModel.Settings.cpu(1))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> reg.model(TinyModels.BASE));
            assertTrue(e.getMessage().contains(TinyModels.BASE + ".onnx"), e.getMessage());
            assertTrue(e.getMessage().contains("expected " + wrong), e.getMessage());
            assertTrue(e.getMessage().contains("actual " + actual), e.getMessage());
        }
    }

    @Test
    void tamperedModelFileIsRejected() throws Exception {
        TinyModels.install(dir);
        Path f = dir.resolve(TinyModels.BASE + ".onnx");
        byte[] b = Files.readAllBytes(f);
        b[b.length / 2] ^= 1;
        Files.write(f, b);
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> OnnxModel.load(
                        f, ModelCard.read(dir.resolve(TinyModels.BASE + ".card.json")), OnnxModel.Settings.cpu(1)));
        assertTrue(e.getMessage().contains("does not match its card"), e.getMessage());
    }

    @Test
    void garbageWithMatchingHashFailsFastNotHangs() throws Exception {
        Path f = dir.resolve("junk.onnx");
        Files.write(f, "this is not an onnx model".getBytes());
        Files.writeString(dir.resolve("junk.card.json"), TinyModels.card("junk", OnnxModel.sha256(f), false));
        try (ModelRegistry reg = new ModelRegistry(dir, OnnxModel.Settings.cpu(1))) {
            IllegalStateException e = assertTimeoutPreemptively(
                    Duration.ofSeconds(30), () -> assertThrows(IllegalStateException.class, () -> reg.model("junk")));
            assertTrue(e.getMessage().contains("ONNX Runtime cannot load model"), e.getMessage());
        }
    }

    @Test
    void missingOrBrokenCardsAreClearErrors() throws Exception {
        try (ModelRegistry reg = new ModelRegistry(dir, OnnxModel.Settings.cpu(1))) {
            assertTrue(assertThrows(IllegalStateException.class, () -> reg.model("absent"))
                    .getMessage()
                    .contains("does not exist"));
            Files.writeString(dir.resolve("nohash.card.json"), TinyModels.card("nohash", "abc", false));
            assertTrue(assertThrows(IllegalStateException.class, () -> reg.card("nohash"))
                    .getMessage()
                    .contains("sha256"));
            Files.writeString(dir.resolve("bad.card.json"), "{ not json");
            assertTrue(assertThrows(IllegalStateException.class, () -> reg.card("bad"))
                    .getMessage()
                    .contains("cannot read model card"));
            assertThrows(IllegalArgumentException.class, () -> reg.model("../etc/passwd"));
        }
    }

    @Test
    void batchedPredictionFollowsTheContract() {
        TinyModels.install(dir);
        try (ModelRegistry reg = new ModelRegistry(dir, OnnxModel.Settings.cpu(1))) {
            OnnxModel m = reg.model(TinyModels.COND);
            assertSame(m, reg.model(TinyModels.COND));
            assertTrue(m.conditioned());
            assertEquals(24, m.positionChannels());
            assertEquals(ExecutionProvider.CPU, m.executionProvider());
            assertNull(m.fallbackReason());
            int p = 8, pv = p * p * p;
            for (int n : new int[] {3, 1, 5}) { // buffers reused for a smaller batch, grown for a larger one
                float[] x = random(n * pv, n),
                        pe = random(n * 24 * pv, 10 + n),
                        an = random(n * pv, 20 + n),
                        c = random(n * pv, 30 + n);
                float[] eps = m.predict(new EpsilonModel.PatchBatch(n, p, 321, x, pe, an, 2, c));
                assertEquals(n * pv, eps.length);
                for (int k = 0; k < n; k++) {
                    for (int v = 0; v < pv; v += 7) {
                        int i = k * pv + v;
                        float e = TinyModels.expected(x[i], pe, k * 24 * pv + v, pv, an[i], 321, 2, c[i]);
                        assertEquals(e, eps[i], 1e-5f, "patch " + k + " voxel " + v);
                    }
                }
            }
            assertThrows(
                    IllegalArgumentException.class,
                    () -> m.predict(new EpsilonModel.PatchBatch(
                            1, 12, 1, new float[1728], new float[24 * 1728], new float[1728], 0, new float[1728])));
            assertThrows(
                    IllegalArgumentException.class,
                    () -> m.predict(new EpsilonModel.PatchBatch(
                            1, 8, 1, new float[pv], new float[24 * pv], new float[pv], 0, null)));
        }
    }

    @Test
    void cudaRequestedFallsBackToCpuWithOneLogLine() {
        TinyModels.install(dir);
        List<LogRecord> records = new CopyOnWriteArrayList<>();
        Handler h = new Handler() {
            public void publish(LogRecord r) {
                records.add(r);
            }

            public void flush() {}

            public void close() {}
        };
        Logger jul = Logger.getLogger(OnnxModel.class.getName());
        jul.addHandler(h);
        try (ModelRegistry reg = new ModelRegistry(dir, new OnnxModel.Settings(ExecutionProvider.parse("cuda:0"), 1))) {
            OnnxModel m = reg.model(TinyModels.BASE);
            Assumptions.assumeTrue(
                    m.executionProvider().kind() == ExecutionProvider.Kind.CPU,
                    "CUDA is really available here: nothing to fall back from");
            assertNotNull(m.fallbackReason());
            List<LogRecord> cuda = records.stream()
                    .filter(r ->
                            r.getMessage() != null && r.getMessage().contains("CUDA execution provider unavailable"))
                    .toList();
            assertEquals(
                    1,
                    cuda.size(),
                    "exactly one log line: "
                            + records.stream().map(LogRecord::getMessage).toList());
            assertTrue(
                    cuda.get(0).getMessage().endsWith(": running on CPU"),
                    cuda.get(0).getMessage());
            assertTrue(cuda.get(0).getMessage().contains(m.fallbackReason()));
            int pv = 512;
            float[] eps = m.predict(
                    new EpsilonModel.PatchBatch(1, 8, 0, new float[pv], new float[24 * pv], new float[pv], 1, null));
            assertEquals(0.1f, eps[0], 1e-6f); // zero inputs, region 1: eps = 0.1 * region
        } finally {
            jul.removeHandler(h);
        }
    }

    @Test
    void executionProviderParsing() {
        assertEquals(ExecutionProvider.CPU, ExecutionProvider.parse("CPU"));
        assertEquals(new ExecutionProvider(ExecutionProvider.Kind.CUDA, 0), ExecutionProvider.parse("cuda"));
        assertEquals(new ExecutionProvider(ExecutionProvider.Kind.CUDA, 3), ExecutionProvider.parse(" cuda:3 "));
        assertThrows(IllegalArgumentException.class, () -> ExecutionProvider.parse("tensorrt"));
        assertThrows(IllegalArgumentException.class, () -> ExecutionProvider.parse("cuda:-1"));
    }

    @Test
    void cardSchedulesAndDefaults() {
        TinyModels.install(dir);
        ModelCard c = ModelCard.read(dir.resolve(TinyModels.BASE + ".card.json"));
        assertEquals(0.0, c.cosineSchedule().maxRelativeDifference(CosineSchedule.cosine()));
        assertEquals(8, c.recommendedPatch());
        assertEquals(4, c.recommendedStride());
        assertEquals(8, c.spatialMultiple());
        assertEquals(2, c.region("Abdomen").orElseThrow().index());
        assertTrue(!c.conditioned());
    }

    /**
     * Whole samplers through ORT agree with the same samplers over a Java implementation of the tiny
     * network: checks the tensor layouts (x, pos_embed per patch, anatomy, t, region, condition) end to end.
     */
    @Test
    void samplersThroughOrtMatchTheJavaFormula() {
        TinyModels.install(dir);
        int d = 16, hh = 16, w = 24;
        FloatVolume y = new FloatVolume(d, hh, w, random(d * hh * w, 99));
        for (int i = 0; i < y.size(); i++) y.data()[i] = Math.max(-1, Math.min(1, 0.3f * y.data()[i]));
        FloatVolume an = new FloatVolume(d, hh, w, random(d * hh * w, 98));
        CosineSchedule sch = CosineSchedule.cosine();
        try (ModelRegistry reg = new ModelRegistry(dir, OnnxModel.Settings.cpu(1))) {
            DiffPirDenoiser.Params p = new DiffPirDenoiser.Params(0.15, 10, 0.3, 3);
            SamplerResult ort = new DiffPirDenoiser(
                            sch, new SlidingWindowEstimator(reg.model(TinyModels.BASE), 8, 4, 4, 4))
                    .denoise(y, an, 1, p, new SeededGaussianNoise(5), null);
            SamplerResult jav = new DiffPirDenoiser(sch, new SlidingWindowEstimator(new JavaTiny(false), 8, 4, 4, 4))
                    .denoise(y, an, 1, p, new SeededGaussianNoise(5), null);
            assertArrayEquals(jav.output().data(), ort.output().data(), 1e-4f);

            FloatVolume thick = DiffPirSuperResolver.slabAverage(y, 5);
            DiffPirSuperResolver.Params sp = new DiffPirSuperResolver.Params(5, 1.0, 1.0, 0.3, 2, -1);
            SamplerResult ortSr = new DiffPirSuperResolver(
                            sch, new SlidingWindowEstimator(reg.model(TinyModels.COND), 8, 4, 4, 3))
                    .superResolve(thick, d, an, 2, sp, new SeededGaussianNoise(6), null);
            SamplerResult javSr = new DiffPirSuperResolver(
                            sch, new SlidingWindowEstimator(new JavaTiny(true), 8, 4, 4, 3))
                    .superResolve(thick, d, an, 2, sp, new SeededGaussianNoise(6), null);
            assertArrayEquals(javSr.output().data(), ortSr.output().data(), 1e-4f);
        }
    }

    /** The tiny network in Java. */
    private static final class JavaTiny implements EpsilonModel {
        private final boolean cond;

        JavaTiny(boolean cond) {
            this.cond = cond;
        }

        public int positionChannels() {
            return 24;
        }

        public boolean conditioned() {
            return cond;
        }

        public float[] predict(PatchBatch b) {
            int pv = b.patchVoxels();
            float[] out = new float[b.count() * pv];
            for (int k = 0; k < b.count(); k++) {
                for (int v = 0; v < pv; v++) {
                    int i = k * pv + v;
                    out[i] = TinyModels.expected(
                            b.x()[i],
                            b.positions(),
                            k * 24 * pv + v,
                            pv,
                            b.anatomy()[i],
                            b.t(),
                            b.region(),
                            cond ? b.condition()[i] : 0f);
                }
            }
            return out;
        }
    }

    @Test
    void positionEmbeddingReachesTheGraph() {
        // eps at t = 0, region 0, x = 0, anatomy = 0 is 0.1 * mean_c(PE): check one patch against the Java PE
        TinyModels.install(dir);
        try (ModelRegistry reg = new ModelRegistry(dir, OnnxModel.Settings.cpu(1))) {
            OnnxModel m = reg.model(TinyModels.BASE);
            PositionEmbedding pe = new PositionEmbedding(4, 24, 16, 16);
            float[] buf = new float[24 * 512];
            pe.fillPatch(16, 8, 0, 8, buf, 0);
            float[] eps = m.predict(new EpsilonModel.PatchBatch(1, 8, 0, new float[512], buf, new float[512], 0, null));
            for (int v = 0; v < 512; v++) {
                assertEquals(TinyModels.expected(0, buf, v, 512, 0, 0, 0, 0), eps[v], 1e-6f);
            }
        }
    }
}
