package org.meddiff.gateway.infer.baseline;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.meddiff.gateway.config.GatewayConfig;
import org.meddiff.gateway.dicom.DerivedMarker;
import org.meddiff.gateway.dicom.DerivedSeriesSpec;
import org.meddiff.gateway.dicom.DicomDataException;
import org.meddiff.gateway.dicom.DicomDatasets;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.events.TaskNames;
import org.meddiff.gateway.infer.DerivedUidSeed;
import org.meddiff.gateway.infer.InferenceTask;
import org.meddiff.gateway.infer.TaskFailedException;
import org.meddiff.gateway.infer.TaskResult;
import org.meddiff.gateway.volume.Volume;

/**
 * The classical thick-to-thin baseline: cubic convolution along z to thin slices (default 1 mm).
 * It is the reference the diffusion super-resolution has to beat, and a useful product on its own.
 */
@ApplicationScoped
public class CubicThickToThinTask implements InferenceTask {

    private final DicomDatasets datasets;
    private final GatewayConfig config;

    @Inject
    public CubicThickToThinTask(DicomDatasets datasets, GatewayConfig config) {
        this.datasets = datasets;
        this.config = config;
    }

    @Override
    public String name() {
        return TaskNames.CUBIC_THICK_TO_THIN;
    }

    @Override
    public String method() {
        return config.infer().baselineVersion();
    }

    @Override
    public TaskResult run(JobRequested job, List<Path> sourceFiles, Path outputDir, TaskProgress progress)
            throws TaskFailedException {
        if (job.series() != null
                && job.series().modality() != null
                && !"CT".equalsIgnoreCase(job.series().modality())) {
            throw new TaskFailedException(
                    "modality " + job.series().modality() + " is not CT: thick-to-thin needs a CT series");
        }
        double target = config.infer().thinSliceSpacingMm();
        try {
            progress.step(1, 3, "reading " + sourceFiles.size() + " slices", null);
            Volume source = datasets.readVolume(sourceFiles);
            if (source.geometry().spacingZ() <= target * 1.001) {
                throw new TaskFailedException(String.format(
                        Locale.ROOT,
                        "slice spacing %.2f mm is already at or below the target %.2f mm",
                        source.geometry().spacingZ(),
                        target));
            }
            progress.step(2, 3, "cubic interpolation to " + target + " mm", null);
            long t0 = System.nanoTime();
            Volume thin = CubicSliceInterpolator.resample(source, target);
            double seconds = (System.nanoTime() - t0) / 1e9;
            progress.step(
                    3,
                    3,
                    "writing " + thin.geometry().slices() + " slices",
                    thin.geometry().slices() / Math.max(seconds, 1e-6));
            String seed = DerivedUidSeed.of(job.seriesInstanceUid(), sourceFiles, name(), method());
            DerivedSeriesSpec spec = new DerivedSeriesSpec(
                    seed,
                    String.format(Locale.ROOT, "[cubic %.1fmm]", target),
                    1000,
                    DerivedMarker.PREFIX + " "
                            + String.format(
                                    Locale.ROOT,
                                    "cubic convolution (Keys a=-0.5) from %.2f mm to %.2f mm slices, %s",
                                    source.geometry().spacingZ(),
                                    target,
                                    method()),
                    40,
                    400);
            return TaskResult.of(datasets.writeDerivedSeries(sourceFiles, thin, spec, outputDir));
        } catch (DicomDataException e) {
            throw new TaskFailedException(e.getMessage(), e);
        }
    }
}
