package org.meddiff.gateway.infer.tasks;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.dicom.DerivedMarker;
import org.meddiff.gateway.dicom.DerivedSeriesResult;
import org.meddiff.gateway.dicom.DerivedSeriesSpec;
import org.meddiff.gateway.dicom.DicomDataException;
import org.meddiff.gateway.dicom.DicomDatasets;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.infer.DerivedUidSeed;
import org.meddiff.gateway.infer.InferenceTask;
import org.meddiff.gateway.infer.TaskFailedException;
import org.meddiff.gateway.infer.model.ModelConfig;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.pipeline.DiffusionPipeline;
import org.meddiff.gateway.infer.pipeline.Region;
import org.meddiff.gateway.route.TaskNames;
import org.meddiff.gateway.volume.Volume;

/**
 * Thick-to-thin super-resolution: DiffPIR with the ControlNet model and the slab-average degradation,
 * output in HU on the thin grid. Routed next to the cubic baseline so both can be compared in the PACS.
 */
@ApplicationScoped
public class SuperResolutionTask implements InferenceTask {

    @Inject
    DicomDatasets datasets;

    @Inject
    ModelRegistry models;

    @Inject
    ModelConfig modelConfig;

    @Inject
    DiffusionConfig config;

    @Inject
    GatewayConfig gateway;

    @Override
    public String name() {
        return TaskNames.SUPER_RESOLUTION;
    }

    @Override
    public String method() {
        return ModelVersions.of(models, ModelRegistry.SR_CONTROLNET) + "/diffpir-sr";
    }

    @Override
    public DerivedSeriesResult run(JobRequested job, List<Path> sourceFiles, Path outputDir, ProgressListener progress)
            throws TaskFailedException {
        DiffusionTaskSupport.requireModel(models, ModelRegistry.SR_CONTROLNET);
        Volume thick = DiffusionTaskSupport.readCt(datasets, job, sourceFiles);
        double target = gateway.infer().thinSliceSpacingMm();
        if (thick.geometry().spacingZ() < 2 * target * 0.999) {
            throw new TaskFailedException(String.format(Locale.ROOT,
                    "slice spacing %.2f mm is less than twice the target %.2f mm: nothing to super-resolve",
                    thick.geometry().spacingZ(), target));
        }
        Region region = DiffusionTaskSupport.region(config, job, thick);
        DiffusionConfig.SuperResolution p = config.superres();
        DiffusionPipeline.SuperResolutionResult r = DiffusionTaskSupport.pipeline(models, config, modelConfig.batchSize())
                .superResolve(thick, region, target, p.sigmaN(), p.lambda(), p.zeta(), p.steps(),
                        DiffusionTaskSupport.noiseFor(job), DiffusionTaskSupport.progress(progress, "super-resolution"));
        String method = method();
        DerivedSeriesSpec spec = new DerivedSeriesSpec(DerivedUidSeed.of(job.seriesInstanceUid(), sourceFiles, name(), method),
                String.format(Locale.ROOT, "[MedDiff-FM SR %.1fmm]", target), 3000,
                DerivedMarker.PREFIX + " " + String.format(Locale.ROOT,
                        "MedDiff-FM DiffPIR + ControlNet super-resolution x%d along z (%.2f mm -> %.2f mm), %s, region %s, "
                                + "sigma_n %.3g, lambda %.3g, zeta %.2g, %d steps",
                        r.sf(), thick.geometry().spacingZ(), target, method, region.cardName(), p.sigmaN(), p.lambda(),
                        p.zeta(), p.steps()),
                region.level(), region.width());
        try {
            return datasets.writeDerivedSeries(sourceFiles, r.output(), spec, outputDir);
        } catch (DicomDataException e) {
            throw new TaskFailedException(e.getMessage(), e);
        }
    }
}
