package org.meddiff.gateway.infer.tasks;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.quarkus.runtime.StartupEvent;
import org.jboss.logging.Logger;
import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.dicom.DerivedMarker;
import org.meddiff.gateway.dicom.DerivedSeriesResult;
import org.meddiff.gateway.dicom.DerivedSeriesSpec;
import org.meddiff.gateway.dicom.DicomDataException;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.TaskNames;
import org.meddiff.gateway.events.TriageFinding;
import org.meddiff.gateway.events.TriagePriority;
import org.meddiff.gateway.infer.TaskResult;
import org.meddiff.gateway.infer.diffusion.FloatVolume;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.pipeline.AnomalyFusion;
import org.meddiff.gateway.infer.pipeline.DiffusionPipeline;
import org.meddiff.gateway.infer.pipeline.Region;
import org.meddiff.gateway.volume.Volume;

/**
 * Anomaly triage: noise to t ({@code gateway.diffusion.anomaly.t}; the paper's 950, 400 shipped), one-step
 * reconstructions averaged over draws, |x0 - x0'| inside the soft-tissue region.
 * The map goes back to the PACS as a monochrome derived series on the source grid (pixel value =
 * 1000 x the magnitude in window units, so 1000 means a full window width), and the series score goes
 * goes to Kafka (published by the runner) as a triage.finding with a priority from the configured thresholds. Beside the map goes a colour-fused
 * series (RGB secondary captures: the CT in grey, the map in colour from the URGENT to the STAT level) unless
 * {@code gateway.diffusion.anomaly.fusion.enabled=false}.
 */
@ApplicationScoped
public class AnomalyTask extends DiffusionTask {
    private static final Logger LOG = Logger.getLogger(AnomalyTask.class);
    static final float MAP_SCALE = 1000f;
    static final String FUSED_SUFFIX = "[MedDiff-FM anomaly fused]";
    static final String FUSED_FILE_PREFIX = "fused";

    @Inject
    GatewayConfig gatewayConfig;

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
    Output sample(JobRequested job, Volume source, Region region, DiffusionPipeline pipeline, TaskProgress progress) {
        progress.step(1, 2, "anomaly map at t=" + config.anomaly().t(), null);
        DiffusionPipeline.AnomalyResult r =
                pipeline.anomaly(source, region, null, config.anomaly().settings(), DiffusionTaskSupport.noiseFor(job));
        progress.step(2, 2, String.format(Locale.ROOT, "writing anomaly map, score %.4f", r.score()), null);
        return new Output(
                scaledMap(source, r.mapOnSourceGrid()),
                "[MedDiff-FM anomaly map]",
                4000,
                String.format(
                        Locale.ROOT,
                        "MedDiff-FM anomaly map |x0 - x0'| at t=%d, %d draw(s), smoothed %.1f mm; pixel = 1000 x magnitude in window "
                                + "units (not HU); series score (q%.2f) %.4f",
                        r.onGrid1mm().t(),
                        r.onGrid1mm().draws(),
                        r.onGrid1mm().smoothingSigma(),
                        r.onGrid1mm().quantile(),
                        r.score()),
                250,
                500,
                r.score());
    }

    /** Bad fusion settings stop start-up of a process that runs infer with the keys named, not its first anomaly job. */
    void checkFusionSettings(@Observes StartupEvent event) {
        if (gatewayConfig.stages().infer() && config.anomaly().fusion().enabled()) {
            fusionSettings();
        }
    }

    /** The display settings in the units of the written map (x {@link #MAP_SCALE}). */
    AnomalyFusion.Settings fusionSettings() {
        DiffusionConfig.Fusion f = config.anomaly().fusion();
        AnomalyFusion.Settings configured;
        try { // checked as configured, so the message shows the keys' own values
            configured =
                    new AnomalyFusion.Settings(f.windowCenter(), f.windowWidth(), f.lower(), f.upper(), f.opacity());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "gateway.diffusion.anomaly.fusion: " + e.getMessage() + " (keys .lower, .upper, "
                            + ".window-width, .opacity; .lower and .upper default to gateway.diffusion.anomaly.urgent-score and "
                            + ".stat-score)",
                    e);
        }
        return configured.scaled(MAP_SCALE);
    }

    /**
     * The finding is made before the fused series is written: that series is for reading only, so a failure to write
     * it is logged and the job still delivers the map and its finding (the runner publishes the finding).
     */
    @Override
    TaskResult afterWrite(
            JobRequested job,
            List<Path> sourceFiles,
            Volume source,
            Region region,
            Output output,
            DerivedSeriesSpec spec,
            DerivedSeriesResult written,
            Path outputDir) {
        TriageFinding finding = finding(job, region, output.score(), written);
        DiffusionConfig.Fusion f = config.anomaly().fusion();
        if (!f.enabled()) {
            return new TaskResult(written, Optional.of(finding));
        }
        DerivedSeriesSpec fusedSpec = new DerivedSeriesSpec(
                spec.uidSeed() + "/fused",
                FUSED_SUFFIX,
                spec.seriesNumberOffset() + 1,
                // under 256 characters: Orthanc's REST API drops longer values
                String.format(
                        Locale.ROOT,
                        "%s anomaly map fused on the CT (W%.0f L%.0f): red at %.4f%s to yellow at %.4f%s, "
                                + "opacity %.2f-1; RGB, not HU; %s, region %s",
                        DerivedMarker.PREFIX,
                        f.windowWidth(),
                        f.windowCenter(),
                        f.lower(),
                        f.lower() == config.anomaly().urgentScore() ? " (URGENT)" : "",
                        f.upper(),
                        f.upper() == config.anomaly().statScore() ? " (STAT)" : "",
                        f.opacity(),
                        method(),
                        region.cardName()),
                f.windowCenter(),
                f.windowWidth());
        DerivedSeriesResult all = written;
        try {
            all = written.with(datasets.writeColourSeries(
                    sourceFiles,
                    AnomalyFusion.fuse(source, output.volume(), fusionSettings()),
                    fusedSpec,
                    FUSED_FILE_PREFIX,
                    outputDir));
        } catch (DicomDataException | IllegalArgumentException e) {
            LOG.errorf(
                    "job %s: colour-fused anomaly series not written (the map and its finding are): %s",
                    job.jobId(), e.getMessage());
        }
        return new TaskResult(all, Optional.of(finding));
    }

    private TriageFinding finding(JobRequested job, Region region, double s, DerivedSeriesResult map) {
        DiffusionConfig.Anomaly thresholds = config.anomaly();
        TriagePriority priority = TriagePriority.of(s, thresholds.urgentScore(), thresholds.statScore());
        double threshold = priority.decidingThreshold(thresholds.urgentScore(), thresholds.statScore());
        LOG.infof("job %s: anomaly score %.4f -> %s (series %s)", job.jobId(), s, priority, job.seriesInstanceUid());
        return TriageFinding.of(job, map.seriesInstanceUid(), s, region.cardName(), priority, threshold, method());
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
