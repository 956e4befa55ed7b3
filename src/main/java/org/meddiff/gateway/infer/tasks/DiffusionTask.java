package org.meddiff.gateway.infer.tasks;

import java.nio.file.Path;
import java.util.List;

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
import org.meddiff.gateway.infer.TaskResult;
import org.meddiff.gateway.infer.model.ModelConfig;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.pipeline.DiffusionPipeline;
import org.meddiff.gateway.infer.pipeline.Region;
import org.meddiff.gateway.volume.Volume;

/**
 * The shape every MedDiff-FM task shares: the model must be installed, the series must be CT, the region
 * is decided, the sampler runs, and its volume becomes a derived series whose UIDs depend on the model
 * version. Subclasses supply the model, the sampling and how the result is labelled.
 */
abstract class DiffusionTask implements InferenceTask {

    /** What a task's sampling produced: the volume to write, how to label it, and a series score if it has one. */
    record Output(
            Volume volume,
            String descriptionSuffix,
            int seriesNumberOffset,
            String derivation,
            double windowCenter,
            double windowWidth,
            Double score) {
        Output(
                Volume volume,
                String descriptionSuffix,
                int seriesNumberOffset,
                String derivation,
                double windowCenter,
                double windowWidth) {
            this(volume, descriptionSuffix, seriesNumberOffset, derivation, windowCenter, windowWidth, null);
        }
    }

    @Inject
    DicomDatasets datasets;

    @Inject
    ModelRegistry models;

    @Inject
    ModelConfig modelConfig;

    @Inject
    DiffusionConfig config;

    /** The model in {@code models/} the task runs. */
    abstract String modelName();

    /** The sampler's name, appended to the model version in {@link #method()}. */
    abstract String samplerName();

    abstract Output sample(
            JobRequested job, Volume source, Region region, DiffusionPipeline pipeline, TaskProgress progress)
            throws TaskFailedException;

    /**
     * Called once the derived series is written; returns what the job wrote in all (the anomaly task writes its
     * colour-fused series beside the map here and returns its finding).
     */
    TaskResult afterWrite(
            JobRequested job,
            List<Path> sourceFiles,
            Volume source,
            Region region,
            Output output,
            DerivedSeriesSpec spec,
            DerivedSeriesResult written,
            Path outputDir)
            throws TaskFailedException {
        return TaskResult.of(written);
    }

    @Override
    public String method() {
        return ModelVersions.of(models, modelName()) + "/" + samplerName();
    }

    @Override
    public TaskResult run(JobRequested job, List<Path> sourceFiles, Path outputDir, TaskProgress progress)
            throws TaskFailedException {
        DiffusionTaskSupport.requireModel(models, modelName());
        Volume source = DiffusionTaskSupport.readCt(datasets, job, sourceFiles);
        Region region = DiffusionTaskSupport.region(config, job, source);
        Output out = sample(
                job,
                source,
                region,
                new DiffusionPipeline(models, modelConfig.batchSize(), config.patch(), config.stride()),
                progress);
        String method = method();
        DerivedSeriesSpec spec = new DerivedSeriesSpec(
                DerivedUidSeed.of(job.seriesInstanceUid(), sourceFiles, name(), method),
                out.descriptionSuffix(),
                out.seriesNumberOffset(),
                DerivedMarker.PREFIX + " " + out.derivation() + ", " + method + ", region " + region.cardName(),
                out.windowCenter(),
                out.windowWidth());
        DerivedSeriesResult written;
        try {
            written = datasets.writeDerivedSeries(sourceFiles, out.volume(), spec, outputDir);
        } catch (DicomDataException e) {
            throw new TaskFailedException(e.getMessage(), e);
        }
        return afterWrite(job, sourceFiles, source, region, out, spec, written, outputDir);
    }
}
