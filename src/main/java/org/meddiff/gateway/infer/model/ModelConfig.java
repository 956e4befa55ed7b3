package org.meddiff.gateway.infer.model;

import java.nio.file.Path;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.Pattern;

import io.smallrye.config.ConfigMapping;

/** Settings of the diffusion model runtime ({@code gateway.models.*}). */
@ConfigMapping(prefix = "gateway.models")
public interface ModelConfig {

    /** Directory with NAME.onnx + NAME.card.json. */
    Path dir();

    /** {@code cpu}, {@code cuda} or {@code cuda:<device id>}; CUDA falls back to CPU with one log line. */
    @Pattern(regexp = "(?i)cpu|cuda(:\\d+)?", message = "must be cpu, cuda or cuda:<device id>")
    String executionProvider();

    /** ONNX Runtime intra-op threads per session (0 = ORT default: all cores). */
    @Min(0)
    @Max(256)
    int intraOpThreads();

    /** Patches per network call (one sampling step's patches are batched up to this). */
    @Min(1)
    @Max(256)
    int batchSize();
}
