package org.meddiff.gateway.infer.tasks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;
import org.meddiff.gateway.dicom.DerivedMarker;
import org.meddiff.gateway.dicom.DerivedSeriesResult;
import org.meddiff.gateway.dicom.DerivedSeriesSpec;
import org.meddiff.gateway.dicom.DicomDataException;
import org.meddiff.gateway.dicom.DicomDatasets;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.TriageFinding;
import org.meddiff.gateway.infer.DerivedUidSeed;
import org.meddiff.gateway.infer.InferenceTask;
import org.meddiff.gateway.infer.TaskFailedException;
import org.meddiff.gateway.infer.diffusion.FloatVolume;
import org.meddiff.gateway.infer.model.ModelConfig;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.pipeline.DiffusionPipeline;
import org.meddiff.gateway.infer.pipeline.Region;
import org.meddiff.gateway.route.TaskNames;
import org.meddiff.gateway.volume.Volume;

/**
 * Anomaly triage: noise to t = 950, one-step reconstruction, |x0 - x0'| inside the soft-tissue region.
 * The map goes back to the PACS as a monochrome derived series on the source grid (pixel value =
 * 1000 x the magnitude in window units, so 1000 means a full window width), and the series score goes
 * to Kafka as a triage.finding with a priority from the configured thresholds.
 */
@ApplicationScoped
public class AnomalyTask implements InferenceTask {
    private static final Logger LOG = Logger.getLogger(AnomalyTask.class);
    static final float MAP_SCALE = 1000f;

    @Inject
    DicomDatasets datasets;

    @Inject
    ModelRegistry models;

    @Inject
    ModelConfig modelConfig;

    @Inject
    DiffusionConfig config;

    @Inject
    Outbox outbox;

    @Override
    public String name() {
        return TaskNames.ANOMALY;
    }

    @Override
    public String method() {
        return ModelVersions.of(models, ModelRegistry.BASE) + "/anomaly-t950";
    }

    @Override
    public DerivedSeriesResult run(JobRequested job, List<Path> sourceFiles, Path outputDir, ProgressListener progress)
            throws TaskFailedException {
        DiffusionTaskSupport.requireModel(models, ModelRegistry.BASE);
        Volume source = DiffusionTaskSupport.readCt(datasets, job, sourceFiles);
        Region region = DiffusionTaskSupport.region(config, job, source);
        progress.step(1, 2, "anomaly map at t=950", null);
        DiffusionPipeline.AnomalyResult r = DiffusionTaskSupport.pipeline(models, config, modelConfig.batchSize())
                .anomaly(source, region, null, DiffusionTaskSupport.noiseFor(job));
        progress.step(2, 2, String.format(Locale.ROOT, "writing anomaly map, score %.4f", r.score()), null);
        Volume map = scaledMap(source, r.mapOnSourceGrid());
        String method = method();
        DerivedSeriesSpec spec = new DerivedSeriesSpec(DerivedUidSeed.of(job.seriesInstanceUid(), sourceFiles, name(), method),
                "[MedDiff-FM anomaly map]", 4000,
                DerivedMarker.PREFIX + " " + String.format(Locale.ROOT,
                        "MedDiff-FM anomaly map |x0 - x0'| at t=950, %s, region %s; pixel = 1000 x magnitude in window units "
                                + "(not HU); series score (q%.2f) %.4f", method, region.cardName(), r.onGrid1mm().quantile(), r.score()),
                250, 500);
        DerivedSeriesResult written;
        try {
            written = datasets.writeDerivedSeries(sourceFiles, map, spec, outputDir);
        } catch (DicomDataException e) {
            throw new TaskFailedException(e.getMessage(), e);
        }
        DiffusionConfig.Anomaly thresholds = config.anomaly();
        String priority = r.score() >= thresholds.statScore() ? "STAT" : r.score() >= thresholds.urgentScore() ? "URGENT" : "ROUTINE";
        double threshold = "STAT".equals(priority) ? thresholds.statScore() : thresholds.urgentScore();
        try {
            outbox.append(TriageFinding.of(job, written.seriesInstanceUid(), r.score(), region.cardName(), priority, threshold, method));
        } catch (IOException e) {
            throw new TaskFailedException("cannot record the triage finding: " + e.getMessage(), e);
        }
        LOG.infof("job %s: anomaly score %.4f -> %s (series %s)", job.jobId(), r.score(), priority, job.seriesInstanceUid());
        return written;
    }

    static Volume scaledMap(Volume source, FloatVolume map) {
        float[] voxels = new float[map.size()];
        float[] m = map.data();
        for (int i = 0; i < voxels.length; i++) {
            voxels[i] = m[i] * MAP_SCALE;
        }
        return new Volume(source.geometry(), voxels);
    }
}
