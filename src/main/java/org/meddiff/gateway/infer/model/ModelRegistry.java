package org.meddiff.gateway.infer.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.jboss.logging.Logger;

/**
 * Loads models by name from a models directory ({@code NAME.onnx} + {@code NAME.card.json}) and keeps
 * their sessions for reuse across jobs. Loading checks the card and the file's sha256 (see
 * {@link OnnxModel#load}); a failed load is not cached, so a fixed file is picked up on the next call.
 */
public class ModelRegistry implements AutoCloseable {

    public static final String BASE = "meddiff-fm-base";
    public static final String SR_CONTROLNET = "meddiff-fm-sr-controlnet";

    private static final Logger LOG = Logger.getLogger(ModelRegistry.class);

    private final Path directory;
    private final OnnxModel.Settings settings;
    private final Map<String, OnnxModel> models = new ConcurrentHashMap<>();

    public ModelRegistry(Path directory, OnnxModel.Settings settings) {
        this.directory = directory;
        this.settings = settings;
    }

    public static ModelRegistry fromConfig(ModelConfig config) {
        return new ModelRegistry(
                config.dir(),
                new OnnxModel.Settings(ExecutionProvider.parse(config.executionProvider()), config.intraOpThreads()));
    }

    public Path directory() {
        return directory;
    }

    public OnnxModel.Settings settings() {
        return settings;
    }

    public Path modelFile(String name) {
        return directory.resolve(checkName(name) + ".onnx");
    }

    public Path cardFile(String name) {
        return directory.resolve(checkName(name) + ".card.json");
    }

    /** Whether both files of a model are present (nothing is verified). */
    public boolean available(String name) {
        return Files.isRegularFile(modelFile(name)) && Files.isRegularFile(cardFile(name));
    }

    /** Reads and validates the card only. */
    public ModelCard card(String name) {
        Path c = cardFile(name);
        if (!Files.isRegularFile(c)) {
            throw new IllegalStateException("model card " + c + " does not exist");
        }
        return ModelCard.read(c);
    }

    /** The loaded model, from the cache or verified and loaded now. */
    public OnnxModel model(String name) {
        OnnxModel m = models.get(name);
        if (m != null) {
            return m;
        }
        synchronized (this) {
            m = models.get(name);
            if (m == null) {
                long t0 = System.nanoTime();
                ModelCard card = card(name);
                m = OnnxModel.load(modelFile(name), card, settings);
                models.put(name, m);
                LOG.infof(
                        "model %s loaded on %s in %.1f s (sha256 %s verified, %d intra-op threads)",
                        name,
                        m.executionProvider(),
                        (System.nanoTime() - t0) / 1e9,
                        card.sha256(),
                        settings.intraOpThreads());
            }
            return m;
        }
    }

    private static String checkName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9._-]+") || name.startsWith(".")) {
            throw new IllegalArgumentException("invalid model name: " + name);
        }
        return name;
    }

    @Override
    public synchronized void close() {
        models.values().forEach(OnnxModel::close);
        models.clear();
    }
}
