package org.meddiff.gateway.tools;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

import org.meddiff.gateway.infer.pipeline.DiffusionPipeline;

/**
 * The sampler settings the gateway ships with, read from its own {@code application.properties} on the class
 * path, so that {@link Evaluation} scores exactly what a deployment runs (no second copy of the defaults to
 * drift). Every key must be present there; a missing or malformed one is an error naming it.
 */
record ShippedSettings(double denoiseSigmaScale, double denoiseLambda, double denoiseZeta, int denoiseSteps, double denoiseOutputSmoothingMm,
                       double denoiseClassicalBlend, double denoiseClassicalBlendSigmaMm,
                       double superresSigmaN, double superresLambda, double superresZeta, int superresSteps,
                       int anomalyT, double anomalySmoothingMm, int anomalyDraws, double urgentScore, double statScore) {

    static final String PREFIX = "gateway.diffusion.";

    static ShippedSettings load() {
        Properties p = new Properties();
        try (InputStream in = ShippedSettings.class.getClassLoader().getResourceAsStream("application.properties")) {
            if (in == null) {
                throw new IllegalStateException("application.properties is not on the class path");
            }
            p.load(in);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read application.properties: " + e.getMessage(), e);
        }
        return new ShippedSettings(num(p, "denoise.sigma-n-scale"), num(p, "denoise.lambda"), num(p, "denoise.zeta"),
                (int) num(p, "denoise.steps"), num(p, "denoise.output-smoothing-mm"),
                num(p, "denoise.classical-blend"), num(p, "denoise.classical-blend-sigma-mm"), num(p, "superres.sigma-n"), num(p, "superres.lambda"), num(p, "superres.zeta"),
                (int) num(p, "superres.steps"), (int) num(p, "anomaly.t"), num(p, "anomaly.smoothing-sigma-mm"),
                (int) num(p, "anomaly.draws"), num(p, "anomaly.urgent-score"), num(p, "anomaly.stat-score"));
    }

    /** The denoising post-processing the gateway applies. */
    DiffusionPipeline.DenoisePostProcessing denoisePost() {
        return new DiffusionPipeline.DenoisePostProcessing(denoiseOutputSmoothingMm, denoiseClassicalBlend, denoiseClassicalBlendSigmaMm);
    }

    /** The triage priority the anomaly task gives a series score (AnomalyTask's rule). */
    String priority(double score) {
        return score >= statScore ? "STAT" : score >= urgentScore ? "URGENT" : "ROUTINE";
    }

    private static double num(Properties p, String key) {
        String v = p.getProperty(PREFIX + key);
        if (v == null) {
            throw new IllegalStateException("application.properties has no " + PREFIX + key + " (the evaluation scores the shipped "
                    + "settings, so every sampler setting must be written there)");
        }
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalStateException(PREFIX + key + " = '" + v + "' is not a number", e);
        }
    }
}
