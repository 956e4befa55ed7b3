package org.meddiff.gateway.infer.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import org.jboss.logging.Logger;
import org.meddiff.gateway.infer.diffusion.EpsilonModel;

/**
 * One MedDiff-FM network on ONNX Runtime, checked against its model card.
 *
 * <p>Loading verifies the file's sha256 against the card first (mismatch: {@link IllegalStateException}
 * naming the file, the expected and the actual hash; nothing is handed to ONNX Runtime). Session
 * options: intra-op threads as configured, {@code session.intra_op.allow_spinning=0} (idle threads do
 * not burn a shared CPU). Execution provider {@code cuda[:id]} tries {@code addCUDA(id)}; when that or
 * the CUDA session fails, ONE log line "CUDA execution provider unavailable (reason): running on CPU"
 * and the model runs on the CPU provider.
 *
 * <p>{@link #predict} runs one ORT call per batch; input buffers are direct buffers reused between
 * calls (grown when a larger batch comes). Calls are serialized (one session, shared buffers).
 */
public final class OnnxModel implements EpsilonModel, AutoCloseable {

    private static final Logger LOG = Logger.getLogger(OnnxModel.class);

    /** Runtime settings of a session. */
    public record Settings(ExecutionProvider executionProvider, int intraOpThreads) {
        public Settings {
            if (intraOpThreads < 0) {
                throw new IllegalArgumentException(
                        "intra-op threads must be >= 0 (0 = ORT default): " + intraOpThreads);
            }
        }

        public static Settings cpu(int threads) {
            return new Settings(ExecutionProvider.CPU, threads);
        }
    }

    private final Path file;
    private final ModelCard card;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final ExecutionProvider provider;
    private final String fallbackReason;
    private final int positionChannels;
    private final boolean conditioned;
    private final int spatialMultiple;

    private FloatBuffer xBuf, peBuf, anBuf, condBuf, tBuf;
    private LongBuffer regionBuf;
    private int capacityPatches;
    private int capacityVoxels;

    private OnnxModel(
            Path file,
            ModelCard card,
            OrtEnvironment env,
            OrtSession session,
            ExecutionProvider provider,
            String fallbackReason) {
        this.file = file;
        this.card = card;
        this.env = env;
        this.session = session;
        this.provider = provider;
        this.fallbackReason = fallbackReason;
        this.positionChannels = 6 * card.peL();
        this.conditioned = card.conditioned();
        this.spatialMultiple = card.spatialMultiple();
    }

    /** Loads {@code file} after checking it against {@code card}. */
    public static OnnxModel load(Path file, ModelCard card, Settings settings) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException("model file " + file + " does not exist");
        }
        String actual = sha256(file);
        if (!actual.equalsIgnoreCase(card.sha256())) {
            throw new IllegalStateException("model file " + file + " does not match its card: sha256 expected "
                    + card.sha256().toLowerCase(Locale.ROOT) + ", actual " + actual);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        ExecutionProvider wanted = settings.executionProvider();
        String reason = null;
        if (wanted.kind() == ExecutionProvider.Kind.CUDA) {
            try {
                OrtSession.SessionOptions so = options(settings);
                so.addCUDA(wanted.deviceId());
                OrtSession s = createSession(env, file, so);
                return new OnnxModel(file, card, env, s, wanted, null);
            } catch (OrtException | RuntimeException | LinkageError e) {
                reason = oneLine(e);
                LOG.warn("CUDA execution provider unavailable (" + reason + "): running on CPU");
            }
        }
        try {
            OrtSession s = createSession(env, file, options(settings));
            return new OnnxModel(file, card, env, s, ExecutionProvider.CPU, reason);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime cannot load model " + file + ": " + oneLine(e), e);
        }
    }

    private static OrtSession.SessionOptions options(Settings settings) throws OrtException {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        if (settings.intraOpThreads() > 0) {
            so.setIntraOpNumThreads(settings.intraOpThreads());
        }
        so.setInterOpNumThreads(1);
        so.setSessionLogLevel(
                OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR); // graph-optimizer notices are not ours to act on
        so.addConfigEntry("session.intra_op.allow_spinning", "0");
        so.addConfigEntry("session.inter_op.allow_spinning", "0");
        return so;
    }

    private static OrtSession createSession(OrtEnvironment env, Path file, OrtSession.SessionOptions so)
            throws OrtException {
        try {
            return env.createSession(file.toString(), so);
        } finally {
            so.close();
        }
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        m = m.replaceAll("\\s+", " ").trim();
        return m.length() > 300 ? m.substring(0, 300) + "..." : m;
    }

    /** Lower-case hex sha256 of a file. */
    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new IllegalStateException("cannot read model file " + file + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public Path file() {
        return file;
    }

    public ModelCard card() {
        return card;
    }

    /** The provider the session actually runs on. */
    public ExecutionProvider executionProvider() {
        return provider;
    }

    /** Why CUDA was not used although requested, or null. */
    public String fallbackReason() {
        return fallbackReason;
    }

    @Override
    public int positionChannels() {
        return positionChannels;
    }

    @Override
    public boolean conditioned() {
        return conditioned;
    }

    @Override
    public synchronized float[] predict(PatchBatch b) {
        int n = b.count();
        int p = b.patch();
        if (p % spatialMultiple != 0) {
            throw new IllegalArgumentException(
                    "patch size " + p + " is not a multiple of " + spatialMultiple + " (the network down-samples "
                            + Integer.numberOfTrailingZeros(spatialMultiple) + " times): pad or pick another patch");
        }
        if (conditioned != (b.condition() != null)) {
            throw new IllegalArgumentException(
                    conditioned
                            ? "model " + card.name() + " needs the condition input"
                            : "model " + card.name() + " takes no condition input");
        }
        int pv = b.patchVoxels();
        ensureCapacity(n, pv);
        long[] shape1 = {n, 1, p, p, p};
        long[] shapePe = {n, positionChannels, p, p, p};
        fill(xBuf, b.x(), n * pv);
        fill(peBuf, b.positions(), n * pv * positionChannels);
        fill(anBuf, b.anatomy(), n * pv);
        tBuf.clear();
        regionBuf.clear();
        for (int i = 0; i < n; i++) {
            tBuf.put(b.t());
            regionBuf.put(b.region());
        }
        tBuf.flip();
        regionBuf.flip();
        if (conditioned) {
            fill(condBuf, b.condition(), n * pv);
        }
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        try {
            in.put("x_t", OnnxTensor.createTensor(env, xBuf, shape1));
            in.put("t", OnnxTensor.createTensor(env, tBuf, new long[] {n}));
            in.put("pos_embed", OnnxTensor.createTensor(env, peBuf, shapePe));
            in.put("anatomy", OnnxTensor.createTensor(env, anBuf, shape1));
            in.put("region", OnnxTensor.createTensor(env, regionBuf, new long[] {n}));
            if (conditioned) {
                in.put("condition", OnnxTensor.createTensor(env, condBuf, shape1));
            }
            try (OrtSession.Result r = session.run(in)) {
                OnnxTensor out = (OnnxTensor) r.get(0);
                FloatBuffer fb = out.getFloatBuffer();
                if (fb.remaining() != n * pv) {
                    throw new IllegalStateException("model " + card.name() + " returned " + fb.remaining()
                            + " values for " + n + " patches of " + p + "^3");
                }
                float[] eps = new float[n * pv];
                fb.get(eps);
                return eps;
            }
        } catch (OrtException e) {
            throw new IllegalStateException(
                    "ONNX Runtime failed on model " + card.name() + " (" + n + " patches of " + p + "^3): "
                            + oneLine(e),
                    e);
        } finally {
            for (OnnxTensor t : in.values()) {
                t.close();
            }
        }
    }

    private static void fill(FloatBuffer dst, float[] src, int count) {
        dst.clear();
        dst.put(src, 0, count);
        dst.flip();
    }

    private void ensureCapacity(int patches, int pv) {
        if (xBuf != null && patches <= capacityPatches && pv <= capacityVoxels) {
            return;
        }
        capacityPatches = Math.max(patches, capacityPatches);
        capacityVoxels = Math.max(pv, capacityVoxels);
        int vox = Math.multiplyExact(capacityPatches, capacityVoxels);
        xBuf = direct(vox);
        anBuf = direct(vox);
        peBuf = direct(Math.multiplyExact(vox, positionChannels));
        condBuf = conditioned ? direct(vox) : null;
        tBuf = direct(capacityPatches);
        regionBuf = ByteBuffer.allocateDirect(8 * capacityPatches)
                .order(ByteOrder.nativeOrder())
                .asLongBuffer();
    }

    private static FloatBuffer direct(int floats) {
        return ByteBuffer.allocateDirect(Math.multiplyExact(floats, 4))
                .order(ByteOrder.nativeOrder())
                .asFloatBuffer();
    }

    @Override
    public synchronized void close() {
        try {
            session.close();
        } catch (OrtException e) {
            LOG.debugf("closing %s: %s", file, e.getMessage());
        }
    }

    @Override
    public String toString() {
        return "OnnxModel[" + card.name() + " on " + provider + "]";
    }
}
