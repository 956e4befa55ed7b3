package org.meddiff.gateway.infer.tasks;

import java.util.Locale;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.TaskNames;
import org.meddiff.gateway.infer.TaskFailedException;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.pipeline.DiffusionPipeline;
import org.meddiff.gateway.infer.pipeline.Region;
import org.meddiff.gateway.volume.Volume;

/**
 * Thick-to-thin super-resolution: DiffPIR with the ControlNet model and the slab-average degradation,
 * output in HU on the thin grid. Routed next to the cubic baseline so both can be compared in the PACS.
 */
@ApplicationScoped
public class SuperResolutionTask extends DiffusionTask {

    @Inject
    GatewayConfig gateway;

    @Override
    public String name() {
        return TaskNames.SUPER_RESOLUTION;
    }

    @Override
    String modelName() {
        return ModelRegistry.SR_CONTROLNET;
    }

    @Override
    String samplerName() {
        return "diffpir-sr";
    }

    @Override
    Output sample(JobRequested job, Volume thick, Region region, DiffusionPipeline pipeline, TaskProgress progress)
            throws TaskFailedException {
        double target = gateway.infer().thinSliceSpacingMm();
        if (thick.geometry().spacingZ() < 2 * target * 0.999) {
            throw new TaskFailedException(String.format(
                    Locale.ROOT,
                    "slice spacing %.2f mm is less than twice the target %.2f mm: nothing to super-resolve",
                    thick.geometry().spacingZ(),
                    target));
        }
        DiffusionConfig.SuperResolution p = config.superres();
        DiffusionPipeline.SuperResolutionResult r = pipeline.superResolve(
                thick,
                region,
                p.settings(target),
                DiffusionTaskSupport.noiseFor(job),
                DiffusionTaskSupport.progress(progress, "super-resolution"));
        return new Output(
                r.output(),
                String.format(Locale.ROOT, "[MedDiff-FM SR %.1fmm]", target),
                3000,
                String.format(
                        Locale.ROOT,
                        "MedDiff-FM DiffPIR + ControlNet super-resolution x%d along z (%.2f mm -> %.2f mm), "
                                + "sigma_n %.3g, lambda %.3g, zeta %.2g, %d steps%s",
                        r.sf(),
                        thick.geometry().spacingZ(),
                        target,
                        p.sigmaN(),
                        p.lambda(),
                        p.zeta(),
                        p.steps(),
                        p.finalProjection() ? ", slab-consistent" : ""),
                region.level(),
                region.width());
    }
}
