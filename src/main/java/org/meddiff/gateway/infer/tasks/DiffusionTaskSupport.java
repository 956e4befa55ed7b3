package org.meddiff.gateway.infer.tasks;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Locale;

import org.jboss.logging.Logger;
import org.meddiff.gateway.dicom.DicomDataException;
import org.meddiff.gateway.dicom.DicomDatasets;
import org.meddiff.gateway.events.JobRequested;
import org.meddiff.gateway.infer.InferenceTask;
import org.meddiff.gateway.infer.TaskFailedException;
import org.meddiff.gateway.infer.diffusion.SamplerProgress;
import org.meddiff.gateway.infer.diffusion.SeededGaussianNoise;
import org.meddiff.gateway.infer.model.ModelRegistry;
import org.meddiff.gateway.infer.pipeline.CtPreprocessing;
import org.meddiff.gateway.infer.pipeline.Region;
import org.meddiff.gateway.infer.pipeline.RegionGuess;
import org.meddiff.gateway.volume.Volume;

/** What the three diffusion tasks share: reading the series, choosing the region, seeding, progress. */
final class DiffusionTaskSupport {
    private static final Logger LOG = Logger.getLogger(DiffusionTaskSupport.class);

    private DiffusionTaskSupport() {}

    static Volume readCt(DicomDatasets datasets, JobRequested job, List<Path> files) throws TaskFailedException {
        if (job.series() != null
                && job.series().modality() != null
                && !"CT".equalsIgnoreCase(job.series().modality())) {
            throw new TaskFailedException(
                    "modality " + job.series().modality() + " is not CT: " + job.task() + " needs a CT series");
        }
        try {
            return datasets.readVolume(files);
        } catch (DicomDataException e) {
            throw new TaskFailedException(e.getMessage(), e);
        }
    }

    static Region region(DiffusionConfig config, JobRequested job, Volume volume) {
        String bodyPart = job.series() == null ? null : job.series().bodyPartExamined();
        RegionGuess.Decision d =
                RegionGuess.decide(config.region().orElse(null), bodyPart, CtPreprocessing.asFloatVolume(volume));
        LOG.infof("job %s: region %s (%s: %s)", job.jobId(), d.region().cardName(), d.source(), d.reason());
        return d.region();
    }

    /** Seeded from the job id: a rerun of the same job draws the same noise and writes the same pixels. */
    static SeededGaussianNoise noiseFor(JobRequested job) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(job.jobId().getBytes(StandardCharsets.US_ASCII));
            long seed = 0;
            for (int i = 0; i < 8; i++) {
                seed = (seed << 8) | (d[i] & 0xff);
            }
            return new SeededGaussianNoise(seed);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Sampler progress as job progress: step i of n with the network's patches per second. */
    static SamplerProgress progress(InferenceTask.TaskProgress out, String what) {
        return (step, steps, t, patchesPerSecond) ->
                out.step(step, steps, String.format(Locale.ROOT, "%s: diffusion step t=%d", what, t), patchesPerSecond);
    }

    static void requireModel(ModelRegistry registry, String name) throws TaskFailedException {
        if (!registry.available(name)) {
            throw TaskFailedException.ofMachine("model " + name + " is not installed in " + registry.directory());
        }
    }
}
