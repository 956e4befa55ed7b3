package org.meddiff.gateway.infer.tasks;

import java.io.IOException;
import java.util.Locale;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;
import org.meddiff.gateway.dicom.DerivedSeriesResult;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.Outbox;
import org.meddiff.gateway.events.TriageFinding;
import org.meddiff.gateway.infer.TaskFailedException;
import org.meddiff.gateway.infer.diffusion.FloatVolume;
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
public class AnomalyTask extends DiffusionTask {
    private static final Logger LOG = Logger.getLogger(AnomalyTask.class);
    static final float MAP_SCALE = 1000f;

    @Inject
    Outbox outbox;

    @Override
    public String name() {
        return TaskNames.ANOMALY;
    }

    @Override
    String modelName() {
        return ModelRegistry.BASE;
    }

    @Override
    String samplerName() {
        DiffusionConfig.Anomaly a = config.anomaly();
        return String.format(Locale.ROOT, "anomaly-t%d-s%.1f-k%d", a.t(), a.smoothingSigmaMm(), a.draws());
    }

    @Override
    Output sample(JobRequested job, Volume source, Region region, DiffusionPipeline pipeline, ProgressListener progress) {
        progress.step(1, 2, "anomaly map at t=" + config.anomaly().t(), null);
        DiffusionPipeline.AnomalyResult r = pipeline.anomaly(source, region, null, config.anomaly().t(),
                config.anomaly().smoothingSigmaMm(), config.anomaly().draws(), DiffusionTaskSupport.noiseFor(job));
        progress.step(2, 2, String.format(Locale.ROOT, "writing anomaly map, score %.4f", r.score()), null);
        return new Output(scaledMap(source, r.mapOnSourceGrid()), "[MedDiff-FM anomaly map]", 4000, String.format(Locale.ROOT,
                "MedDiff-FM anomaly map |x0 - x0'| at t=%d, %d draw(s), smoothed %.1f mm; pixel = 1000 x magnitude in window "
                        + "units (not HU); series score (q%.2f) %.4f", r.onGrid1mm().t(), r.onGrid1mm().draws(),
                        r.onGrid1mm().smoothingSigma(), r.onGrid1mm().quantile(), r.score()),
                250, 500, r.score());
    }

    @Override
    void afterWrite(JobRequested job, Region region, Output output, DerivedSeriesResult written) throws TaskFailedException {
        double s = output.score();
        DiffusionConfig.Anomaly thresholds = config.anomaly();
        String priority = s >= thresholds.statScore() ? "STAT" : s >= thresholds.urgentScore() ? "URGENT" : "ROUTINE";
        double threshold = "STAT".equals(priority) ? thresholds.statScore() : thresholds.urgentScore();
        try {
            outbox.append(TriageFinding.of(job, written.seriesInstanceUid(), s, region.cardName(), priority, threshold, method()));
        } catch (IOException e) {
            throw new TaskFailedException("cannot record the triage finding: " + e.getMessage(), e);
        }
        LOG.infof("job %s: anomaly score %.4f -> %s (series %s)", job.jobId(), s, priority, job.seriesInstanceUid());
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
