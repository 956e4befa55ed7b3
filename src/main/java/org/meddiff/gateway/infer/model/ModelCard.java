package org.meddiff.gateway.infer.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.meddiff.gateway.infer.diffusion.CosineSchedule;

/**
 * The JSON model card written beside every ONNX model by {@code meddiff.export} ({@code NAME.card.json}):
 * the input/output contract, patch size, pe_L, the alpha_bar table, region classes with their windows,
 * anatomy classes and the sha256 of the .onnx file. Unknown fields are ignored; free-form sections
 * (training, evaluation, parity, ...) are kept as JSON.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ModelCard(
        @JsonProperty("card_version") Integer cardVersion,
        String name,
        String file,
        String sha256,
        @JsonProperty("size_bytes") Long sizeBytes,
        String task,
        JsonNode format,
        List<Tensor> inputs,
        List<Tensor> outputs,
        Patch patch,
        @JsonProperty("pe_L") int peL,
        JsonNode architecture,
        Schedule schedule,
        @JsonProperty("region_classes") List<RegionClass> regionClasses,
        String normalization,
        @JsonProperty("anatomy_classes") List<AnatomyClass> anatomyClasses,
        @JsonProperty("anatomy_rule") String anatomyRule,
        String resampling,
        JsonNode training,
        JsonNode parity,
        JsonNode evaluation,
        @JsonProperty("sr_condition") String srCondition) {

    /** One input or output: name, dtype, shape (numbers and symbolic names such as "N"). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Tensor(String name, String dtype, List<Object> shape, String meaning) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Patch(
            @JsonProperty("trained_patch_size") List<Integer> trainedPatchSize,
            @JsonProperty("recommended_sliding_window") Window recommendedSlidingWindow,
            @JsonProperty("spatial_size") String spatialSize) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Window(int patch, int stride) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Schedule(
            String type,
            @JsonProperty("T") int T,
            double s,
            @JsonProperty("beta_max") Double betaMax,
            String definition,
            @JsonProperty("alpha_bar") double[] alphaBar) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record RegionClass(
            int index,
            String name,
            @JsonProperty("window_level") double windowLevel,
            @JsonProperty("window_width") double windowWidth) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record AnatomyClass(int index, String name) {}

    private static final ObjectMapper MAPPER =
            new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    public static ModelCard read(Path path) {
        try {
            ModelCard c = MAPPER.readValue(Files.readAllBytes(path), ModelCard.class);
            c.validate(path.toString());
            return c;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read model card " + path + ": " + e.getMessage(), e);
        }
    }

    public static ModelCard parse(String json) {
        try {
            ModelCard c = MAPPER.readValue(json, ModelCard.class);
            c.validate("(inline)");
            return c;
        } catch (IOException e) {
            throw new IllegalStateException("cannot parse model card: " + e.getMessage(), e);
        }
    }

    /** Checks what the runtime relies on; a card that fails is unusable. */
    void validate(String where) {
        if (sha256 == null || !sha256.matches("(?i)[0-9a-f]{64}")) {
            throw new IllegalStateException("model card " + where + " has no valid sha256");
        }
        if (inputs == null || outputs == null || outputs.isEmpty()) {
            throw new IllegalStateException("model card " + where + " lists no inputs/outputs");
        }
        for (String n : List.of("x_t", "t", "pos_embed", "anatomy", "region")) {
            if (input(n).isEmpty()) {
                throw new IllegalStateException("model card " + where + " lacks the input " + n);
            }
        }
        if (peL < 1) {
            throw new IllegalStateException("model card " + where + " has no pe_L");
        }
        if (schedule == null || (schedule.alphaBar() == null && schedule.T() < 2)) {
            throw new IllegalStateException("model card " + where + " has no schedule");
        }
    }

    public Optional<Tensor> input(String n) {
        return inputs.stream().filter(t -> n.equals(t.name())).findFirst();
    }

    /** True for the ControlNet graph (extra input {@code condition}). */
    public boolean conditioned() {
        return input("condition").isPresent();
    }

    /** The schedule as the card states it: its alpha_bar table, else computed from T and s. */
    public CosineSchedule cosineSchedule() {
        if (schedule.alphaBar() != null && schedule.alphaBar().length > 0) {
            return CosineSchedule.fromTable(schedule.alphaBar());
        }
        return CosineSchedule.cosine(schedule.T(), schedule.s());
    }

    /** Recommended sliding-window patch (trained patch size if none is recommended). */
    public int recommendedPatch() {
        if (patch != null && patch.recommendedSlidingWindow() != null) {
            return patch.recommendedSlidingWindow().patch();
        }
        if (patch != null
                && patch.trainedPatchSize() != null
                && !patch.trainedPatchSize().isEmpty()) {
            return patch.trainedPatchSize().get(0);
        }
        return 32;
    }

    public int recommendedStride() {
        if (patch != null && patch.recommendedSlidingWindow() != null) {
            return patch.recommendedSlidingWindow().stride();
        }
        return Math.max(1, recommendedPatch() / 2);
    }

    /**
     * How a super-resolution ControlNet takes the thick input on the thin grid (condition, start and anatomy):
     * "replicate" (H^T, the spec; cards without the field) or "classical" (cubic between slab centres + slab
     * projection). See {@code org.meddiff.gateway.infer.pipeline.ThinCondition}.
     */
    public String srConditionOrDefault() {
        return srCondition == null || srCondition.isBlank() ? "replicate" : srCondition;
    }

    /** Spatial sizes must be multiples of this: 2^(levels - 1), 8 for the shipped U-Nets. */
    public int spatialMultiple() {
        if (architecture != null
                && architecture.has("channel_mult")
                && architecture.get("channel_mult").isArray()) {
            int levels = architecture.get("channel_mult").size();
            return 1 << Math.max(0, levels - 1);
        }
        return 8;
    }

    /** Region index by name (case-insensitive, "HaN"/"chest"/"abdomen"). */
    public Optional<RegionClass> region(String name) {
        if (regionClasses == null || name == null) {
            return Optional.empty();
        }
        String n = name.toLowerCase(Locale.ROOT);
        return regionClasses.stream()
                .filter(r -> r.name().toLowerCase(Locale.ROOT).equals(n))
                .findFirst();
    }
}
