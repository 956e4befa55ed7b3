package org.meddiff.gateway.infer.tasks;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

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

/** Low-dose CT denoising: DiffPIR plug-and-play with the base model, output in HU on the source grid. */
@ApplicationScoped
public class DenoiseTask implements InferenceTask {

    @Inject
    DicomDatasets datasets;

    @Inject
    ModelRegistry models;

    @Inject
    ModelConfig modelConfig;

    @Inject
    DiffusionConfig config;

    @Override
    public String name() {
        return TaskNames.DENOISE;
    }

    @Override
    public String method() {
        return ModelVersions.of(models, ModelRegistry.BASE) + "/diffpir-denoise";
    }

    @Override
    public DerivedSeriesResult run(JobRequested job, List<Path> sourceFiles, Path outputDir, ProgressListener progress)
            throws TaskFailedException {
        DiffusionTaskSupport.requireModel(models, ModelRegistry.BASE);
        Volume source = DiffusionTaskSupport.readCt(datasets, job, sourceFiles);
        Region region = DiffusionTaskSupport.region(config, job, source);
        DiffusionConfig.Denoise p = config.denoise();
        DiffusionPipeline.DenoiseResult r = DiffusionTaskSupport.pipeline(models, config, modelConfig.batchSize())
                .denoise(source, region, p.sigmaN().orElse(null), p.lambda(), p.zeta(), p.steps(),
                        DiffusionTaskSupport.noiseFor(job), DiffusionTaskSupport.progress(progress, "denoise"));
        String method = method();
        DerivedSeriesSpec spec = new DerivedSeriesSpec(DerivedUidSeed.of(job.seriesInstanceUid(), sourceFiles, name(), method),
                "[MedDiff-FM denoised]", 2000,
                DerivedMarker.PREFIX + " " + String.format(Locale.ROOT,
                        "MedDiff-FM DiffPIR denoising, %s, region %s, sigma_n %.4f (%s), lambda %.3g, zeta %.2g, %d steps",
                        method, region.cardName(), r.sigmaNUsed(), r.sigmaNSource(), p.lambda(), p.zeta(), p.steps()),
                region.level(), region.width());
        try {
            return datasets.writeDerivedSeries(sourceFiles, r.output(), spec, outputDir);
        } catch (DicomDataException e) {
            throw new TaskFailedException(e.getMessage(), e);
        }
    }
}
