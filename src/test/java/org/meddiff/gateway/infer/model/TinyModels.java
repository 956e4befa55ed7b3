package org.meddiff.gateway.infer.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The analytic test networks (src/test/resources/.../make_tiny_models.py):
 * eps = 0.5 x_t + 0.1 mean_c(pos_embed) + 0.01 anatomy + 0.001 t + 0.1 region [+ 0.2 condition],
 * copied into a models directory with a card carrying their real sha256.
 */
public final class TinyModels {

    static final String BASE = "tiny-eps";
    static final String COND = "tiny-eps-cond";

    private TinyModels() {}

    /** Copies both models into {@code dir} with cards; returns dir. */
    static Path install(Path dir) {
        return install(dir, BASE, COND);
    }

    /** Installs the tiny networks under other names (e.g. the shipped models' names for pipeline tests). */
    public static Path install(Path dir, String baseName, String condName) {
        try {
            Files.createDirectories(dir);
            for (String n : new String[] {BASE, COND}) {
                String as = n.equals(BASE) ? baseName : condName;
                Path f = dir.resolve(as + ".onnx");
                try (InputStream in = TinyModels.class.getResourceAsStream(n + ".onnx")) {
                    Files.copy(in, f, StandardCopyOption.REPLACE_EXISTING);
                }
                Files.writeString(dir.resolve(as + ".card.json"), card(as, OnnxModel.sha256(f), n.equals(COND)));
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String card(String name, String sha, boolean cond) {
        String io = "{\"name\":\"%s\",\"dtype\":\"%s\",\"shape\":[\"N\",1,\"D\",\"H\",\"W\"]}";
        StringBuilder ins = new StringBuilder();
        ins.append(String.format(io, "x_t", "float32"))
                .append(',')
                .append("{\"name\":\"t\",\"dtype\":\"float32\",\"shape\":[\"N\"]},")
                .append("{\"name\":\"pos_embed\",\"dtype\":\"float32\",\"shape\":[\"N\",24,\"D\",\"H\",\"W\"]},")
                .append(String.format(io, "anatomy", "float32"))
                .append(',')
                .append("{\"name\":\"region\",\"dtype\":\"int64\",\"shape\":[\"N\"]}");
        if (cond) {
            ins.append(',').append(String.format(io, "condition", "float32"));
        }
        return "{\"card_version\":1,\"name\":\"" + name + "\",\"file\":\"" + name + ".onnx\",\"sha256\":\"" + sha
                + "\","
                + "\"inputs\":[" + ins + "],\"outputs\":[" + String.format(io, "eps", "float32") + "],"
                + "\"patch\":{\"trained_patch_size\":[8,8,8],\"recommended_sliding_window\":{\"patch\":8,\"stride\":4}},"
                + "\"pe_L\":4,\"architecture\":{\"channel_mult\":[1,2,4,4]},"
                + "\"schedule\":{\"type\":\"cosine\",\"T\":1000,\"s\":0.008,\"beta_max\":0.999},"
                + "\"region_classes\":[{\"index\":0,\"name\":\"HaN\",\"window_level\":50,\"window_width\":400},"
                + "{\"index\":1,\"name\":\"chest\",\"window_level\":-500,\"window_width\":1800},"
                + "{\"index\":2,\"name\":\"abdomen\",\"window_level\":60,\"window_width\":360}],"
                + "\"anatomy_classes\":[{\"index\":0,\"name\":\"outside_body\"}],\"future_field\":{\"x\":1}}";
    }

    /** The same formula in Java float arithmetic (what ORT computes, up to summation order). */
    static float expected(
            float x, float[] pe, int peOffset, int stride, float anatomy, float t, int region, float cond) {
        float mean = 0;
        for (int c = 0; c < 24; c++) {
            mean += pe[peOffset + c * stride];
        }
        mean /= 24f;
        return 0.5f * x + 0.1f * mean + 0.01f * anatomy + 0.001f * t + 0.1f * region + 0.2f * cond;
    }
}
