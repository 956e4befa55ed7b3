package org.meddiff.gateway.infer.tasks;

import java.util.Locale;

import jakarta.enterprise.context.ApplicationScoped;

import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.TaskNames;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.pipeline.DiffusionPipeline;
import org.meddiff.gateway.infer.pipeline.Region;
import org.meddiff.gateway.volume.Volume;

/** Low-dose CT denoising: DiffPIR plug-and-play with the base model, output in HU on the source grid. */
@ApplicationScoped
public class DenoiseTask extends DiffusionTask {

    @Override
    public String name() {
        return TaskNames.DENOISE;
    }

    @Override
    String modelName() {
        return ModelRegistry.BASE;
    }

    @Override
    String samplerName() {
        return "diffpir-denoise";
    }

    @Override
    Output sample(JobRequested job, Volume source, Region region, DiffusionPipeline pipeline, TaskProgress progress) {
        DiffusionConfig.Denoise p = config.denoise();
        DiffusionPipeline.DenoiseResult r = pipeline.denoise(
                source,
                region,
                p.settings(),
                DiffusionTaskSupport.noiseFor(job),
                DiffusionTaskSupport.progress(progress, "denoise"));
        return new Output(
                r.output(),
                "[MedDiff-FM denoised]",
                2000,
                String.format(
                        Locale.ROOT,
                        "MedDiff-FM DiffPIR denoising, sigma_n %.4f (%s), lambda %.3g, zeta %.2g, %d steps, output smoothing %.2g mm, "
                                + "classical blend %.2g (Gaussian %.2g mm)",
                        r.sigmaNUsed(),
                        r.sigmaNSource(),
                        p.lambda(),
                        p.zeta(),
                        p.steps(),
                        p.outputSmoothingMm(),
                        p.classicalBlend(),
                        p.classicalBlendSigmaMm()),
                region.level(),
                region.width());
    }
}
