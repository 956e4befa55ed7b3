package org.meddiff.gateway.infer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.meddiff.gateway.infer.diffusion.FloatVolume;

/**
 * onnx-export/golden/: golden.json + raw little-endian float32 arrays written by meddiff.golden.
 * Directory from the system property {@code golden.dir} or the environment variable GOLDEN_DIR, default
 * {@code onnx-export/golden} (the tests run in the project root); models likewise ({@code models.dir}, MODELS_DIR,
 * default {@code models}).
 */
final class GoldenFiles {

    final Path dir;
    final JsonNode json;

    private GoldenFiles(Path dir, JsonNode json) {
        this.dir = dir;
        this.json = json;
    }

    static Path defaultDir() {
        return Path.of(
                System.getProperty("golden.dir", System.getenv().getOrDefault("GOLDEN_DIR", "onnx-export/golden")));
    }

    static Path modelsDir() {
        return Path.of(System.getProperty("models.dir", System.getenv().getOrDefault("MODELS_DIR", "models")));
    }

    /** null when golden.json is absent. */
    static GoldenFiles loadOrNull() {
        Path d = defaultDir();
        Path j = d.resolve("golden.json");
        if (!Files.isRegularFile(j)) {
            return null;
        }
        try {
            return new GoldenFiles(d, new ObjectMapper().readTree(j.toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    JsonNode arrayInfo(String name) {
        for (JsonNode a : json.get("arrays")) {
            if (a.get("name").asText().equals(name)) {
                return a;
            }
        }
        return null;
    }

    boolean has(String name) {
        return arrayInfo(name) != null;
    }

    int[] shape(String name) {
        JsonNode s = arrayInfo(name).get("shape");
        int[] out = new int[s.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = s.get(i).asInt();
        }
        return out;
    }

    float[] array(String name) {
        JsonNode info = arrayInfo(name);
        if (info == null) {
            throw new IllegalStateException("golden array " + name + " missing from golden.json");
        }
        try {
            byte[] b = Files.readAllBytes(dir.resolve(info.get("file").asText()));
            float[] f = new float[b.length / 4];
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A [D,H,W] array (the last three dimensions of its shape). */
    FloatVolume volume(String name) {
        int[] s = shape(name);
        int n = s.length;
        return new FloatVolume(s[n - 3], s[n - 2], s[n - 1], array(name));
    }

    double[] alphaBar() {
        JsonNode a = json.get("alpha_bar");
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asDouble();
        }
        return out;
    }

    JsonNode run(String name) {
        return json.path("runs").path(name);
    }

    /** sha256 of the model the golden files were made with, or null. */
    String modelSha(String key) {
        JsonNode s = json.path("models").path(key).path("sha256");
        return s.isMissingNode() || s.isNull() ? null : s.asText();
    }

    static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    /** max |a - b|. */
    static double maxAbs(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("lengths " + a.length + " vs " + b.length);
        }
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }
}
