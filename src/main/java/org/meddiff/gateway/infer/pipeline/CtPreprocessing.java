package org.meddiff.gateway.infer.pipeline;

import java.util.Locale;

import org.meddiff.gateway.infer.diffusion.DiffPirSuperResolver;
import org.meddiff.gateway.infer.diffusion.FloatVolume;
import org.meddiff.gateway.infer.diffusion.SlabProjection;
import org.meddiff.gateway.volume.Volume;
import org.meddiff.gateway.volume.VolumeGeometry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CT series volume (HU, source grid) &lt;-&gt; what the diffusion samplers work on.
 *
 * <p>Forward ({@link #prepare}): cubic resampling ({@link Resampling#resampleCubic}) to 1.0 mm isotropic (first voxel centre fixed,
 * size round(n * spacing)), anatomy classes from the 1 mm HU ({@link AnatomyClasses}), the region's window
 * to [-1, 1], then padding at the far end of each axis with edge values to a multiple of
 * {@code multiple} (8: the U-Net's down-samplings) and at least the patch size.
 * Back ({@link #toSourceGrid}): crop the padding, inverse window to HU, cubic resampling onto the
 * source grid; the result has the source geometry. Cubic both ways so that a sub-millimetre series keeps its
 * in-plane resolution through the 1 mm working grid; the anatomy map comes from the 1 mm HU, and other fields
 * ({@link #mapToSourceGrid}) go back trilinearly.
 *
 * <p>Super-resolution ({@link #prepareThick}): only the in-plane axes go to 1 mm; z keeps the thick
 * slices, sf = round(spacingZ / thin spacing). The thin grid has sf slices per thick slice; thin slice z
 * belongs to thick slice floor(z / sf), so the thin grid starts (sf - 1) / 2 thin spacings before the
 * first thick slice centre ({@link #toThinGrid}). The thick HU reach the thin grid by the ControlNet's
 * {@link ThinCondition} (H^T in the spec, or the classical estimate): that volume, normalized, is the condition
 * and the start, and the anatomy map is computed from it. Thin padding: to a multiple of 8 and the patch, the thick volume padded with edge slices to
 * ceil(thin / sf) (the last slab may be partial).
 */
public final class CtPreprocessing {

    private static final Logger LOG = LoggerFactory.getLogger(CtPreprocessing.class);

    public static final double MM = 1.0;
    /**
     * The source is the noisy input (denoising): it counts as outside the window only this far beyond an edge
     * (normalized units, 90 HU in the abdomen window), see {@link WindowPassthrough}. Chosen on the training
     * volume (onnx-export/meddiff/tune.py): the margin-free rule put the noise back wherever anatomy lies near an
     * edge and cost 0.7 dB there.
     */
    static final double SOURCE_MARGIN = 0.5;

    private final int patch;
    private final int multiple;

    public CtPreprocessing(int patch, int multiple) {
        if (patch < 1 || multiple < 1) {
            throw new IllegalArgumentException("patch and multiple must be >= 1");
        }
        this.patch = patch;
        this.multiple = multiple;
    }

    /** Volume at 1 mm, normalized, with anatomy; padded. {@code size*} are the 1 mm sizes before padding. */
    public record Prepared(
            FloatVolume normalized,
            FloatVolume anatomy,
            FloatVolume hu1mm,
            Region region,
            int sizeZ,
            int sizeY,
            int sizeX,
            VolumeGeometry source) {
        /** Crops a padded 1 mm volume back to the unpadded 1 mm size. */
        public FloatVolume crop(FloatVolume padded) {
            return Resampling.crop(padded, sizeZ, sizeY, sizeX);
        }
    }

    /**
     * Thick input for super-resolution: thick slices at 1 mm in-plane (normalized, and in HU for the classical
     * estimate and the final projection; both padded), thin grid size and sf.
     */
    public record PreparedThick(
            FloatVolume thickNormalized,
            FloatVolume thickHu,
            FloatVolume conditionThin,
            FloatVolume anatomyThin,
            Region region,
            int sf,
            int thinSlices,
            int thinSlicesPadded,
            int sizeY,
            int sizeX,
            VolumeGeometry source,
            double thinSpacing) {
        /** The unpadded thick HU slices under the thin grid (thinSlices / sf of them). */
        public FloatVolume thickHuCropped() {
            return Resampling.crop(thickHu, thinSlices / sf, sizeY, sizeX);
        }
    }

    public static FloatVolume asFloatVolume(Volume v) {
        VolumeGeometry g = v.geometry();
        return new FloatVolume(g.slices(), g.rows(), g.columns(), v.voxels());
    }

    public static double[] spacingZyx(VolumeGeometry g) {
        return new double[] {g.slices() > 1 ? g.spacingZ() : MM, g.spacingY(), g.spacingX()};
    }

    public Prepared prepare(Volume source, Region region) {
        VolumeGeometry g = source.geometry();
        FloatVolume hu = Resampling.resampleCubic(asFloatVolume(source), spacingZyx(g), new double[] {MM, MM, MM});
        int d = hu.depth(), h = hu.height(), w = hu.width();
        FloatVolume anat = AnatomyClasses.map(hu);
        FloatVolume norm = normalize(hu, region);
        int pd = Resampling.paddedSize(d, patch, multiple);
        int ph = Resampling.paddedSize(h, patch, multiple);
        int pw = Resampling.paddedSize(w, patch, multiple);
        return new Prepared(
                Resampling.padEdge(norm, pd, ph, pw),
                Resampling.padEdge(anat, pd, ph, pw),
                Resampling.padEdge(hu, pd, ph, pw),
                region,
                d,
                h,
                w,
                g);
    }

    /**
     * Normalized (padded) 1 mm result -&gt; HU on the source grid. The result is resampled in the window scale;
     * voxels where it lies on a window edge, or whose source value lies well outside the window
     * ({@link #SOURCE_MARGIN}), carry the source voxel's HU ({@link WindowPassthrough}), so bone and air keep their
     * values instead of being flattened to the window.
     */
    public Volume toSourceGrid(FloatVolume normalizedPadded, Prepared p, Volume source) {
        if (!source.geometry().equals(p.source())) {
            throw new IllegalArgumentException("source volume does not match the prepared geometry");
        }
        FloatVolume onSource = imageOnSourceGrid(p.crop(normalizedPadded), p.source());
        FloatVolume ref = asFloatVolume(source);
        LOG.info(String.format(
                Locale.ROOT,
                "%.1f %% of voxels are outside the %s window: they keep their source HU",
                100 * WindowPassthrough.passthroughFraction(onSource, p.region(), ref, SOURCE_MARGIN),
                p.region().cardName()));
        return new Volume(
                p.source(),
                WindowPassthrough.merge(onSource, p.region(), ref, SOURCE_MARGIN)
                        .data());
    }

    /** Any 1 mm field (e.g. an anomaly map, cropped or padded) -&gt; the source grid, trilinear. */
    public FloatVolume mapToSourceGrid(FloatVolume field1mm, Prepared p) {
        FloatVolume f = field1mm.depth() == p.sizeZ() && field1mm.height() == p.sizeY() && field1mm.width() == p.sizeX()
                ? field1mm
                : p.crop(field1mm);
        return onSourceGrid(f, p.source());
    }

    private static FloatVolume onSourceGrid(FloatVolume f1mm, VolumeGeometry g) {
        double[] sp = spacingZyx(g);
        return Resampling.resample(f1mm, g.slices(), g.rows(), g.columns(), new double[] {MM, MM, MM}, sp);
    }

    private static FloatVolume imageOnSourceGrid(FloatVolume f1mm, VolumeGeometry g) {
        double[] sp = spacingZyx(g);
        return Resampling.resampleCubic(f1mm, g.slices(), g.rows(), g.columns(), new double[] {MM, MM, MM}, sp);
    }

    public static FloatVolume normalize(FloatVolume hu, Region region) {
        float[] in = hu.data();
        float[] out = new float[in.length];
        for (int i = 0; i < in.length; i++) {
            out[i] = region.normalize(in[i]);
        }
        return new FloatVolume(hu.depth(), hu.height(), hu.width(), out);
    }

    public static FloatVolume denormalize(FloatVolume x, Region region) {
        float[] in = x.data();
        float[] out = new float[in.length];
        for (int i = 0; i < in.length; i++) {
            out[i] = region.denormalize(in[i]);
        }
        return new FloatVolume(x.depth(), x.height(), x.width(), out);
    }

    /** Slab factor for a thick spacing and a thin target: round(spacingZ / thin), at least 1. */
    public static int slabFactor(double spacingZ, double thinSpacingMm) {
        return Math.max(1, (int) Math.round(spacingZ / thinSpacingMm));
    }

    public PreparedThick prepareThick(Volume thick, Region region, double thinSpacingMm) {
        return prepareThick(thick, region, thinSpacingMm, ThinCondition.REPLICATE);
    }

    /**
     * @param condition how the thick HU reach the thin grid for the condition (normalized) and the anatomy map
     *                  ({@link ThinCondition}, the ControlNet card's {@code sr_condition})
     */
    public PreparedThick prepareThick(Volume thick, Region region, double thinSpacingMm, ThinCondition condition) {
        VolumeGeometry g = thick.geometry();
        int sf = slabFactor(g.spacingZ(), thinSpacingMm);
        double thinSpacing = g.spacingZ() / sf;
        FloatVolume hu = Resampling.resampleCubic(
                asFloatVolume(thick), new double[] {1, g.spacingY(), g.spacingX()}, new double[] {1, MM, MM});
        int dt = hu.depth(), h = hu.height(), w = hu.width();
        int thin = dt * sf;
        int thinPadded = Resampling.paddedSize(thin, patch, multiple);
        int ph = Resampling.paddedSize(h, patch, multiple);
        int pw = Resampling.paddedSize(w, patch, multiple);
        int dtPadded = DiffPirSuperResolver.thickCount(thinPadded, sf);
        FloatVolume huPadded = Resampling.padEdge(hu, dtPadded, ph, pw);
        FloatVolume thinHu = condition.toThin(huPadded, thinPadded, sf);
        return new PreparedThick(
                normalize(huPadded, region),
                huPadded,
                normalize(thinHu, region),
                AnatomyClasses.map(thinHu),
                region,
                sf,
                thin,
                thinPadded,
                h,
                w,
                g,
                thinSpacing);
    }

    /** Thin geometry: source in-plane grid, sf slices per thick slice, centred on the thick slabs. */
    public static VolumeGeometry thinGeometry(VolumeGeometry g, int sf, int thinSlices, double thinSpacing) {
        double shift = -(sf - 1) / 2.0 * thinSpacing;
        double[] o = g.origin();
        double[] n = g.sliceDirection();
        double[] origin = {o[0] + n[0] * shift, o[1] + n[1] * shift, o[2] + n[2] * shift};
        return new VolumeGeometry(
                g.columns(),
                g.rows(),
                thinSlices,
                origin,
                g.rowDirection(),
                g.columnDirection(),
                g.sliceDirection(),
                g.spacingX(),
                g.spacingY(),
                thinSpacing,
                thinSpacing);
    }

    /**
     * Normalized thin result (padded) -&gt; HU on the thin grid (source in-plane grid). Voxels on a window edge,
     * or whose classical estimate lies outside the window, take the classical estimate ({@link ClassicalThinSlices}: cubic along z, slab-consistent); with
     * {@code project} the result is then projected onto the thick measurement in HU ({@link SlabProjection}),
     * so every slab of the derived series averages exactly to the thick slice it came from.
     */
    public Volume toThinGrid(FloatVolume thinNormalizedPadded, PreparedThick p, boolean project) {
        FloatVolume f = Resampling.crop(thinNormalizedPadded, p.thinSlices(), p.sizeY(), p.sizeX());
        FloatVolume thickHu = p.thickHuCropped();
        FloatVolume classical = ClassicalThinSlices.estimate(thickHu, p.thinSlices(), p.sf());
        LOG.info(String.format(
                Locale.ROOT,
                "%.1f %% of thin voxels are outside the %s window: they take the classical estimate",
                100 * WindowPassthrough.passthroughFraction(f, p.region(), classical),
                p.region().cardName()));
        FloatVolume hu = WindowPassthrough.merge(f, p.region(), classical);
        if (project) {
            hu = SlabProjection.project(hu, thickHu, p.sf());
        }
        VolumeGeometry g = p.source();
        FloatVolume back = Resampling.resampleCubic(
                hu, p.thinSlices(), g.rows(), g.columns(), new double[] {1, MM, MM}, new double[] {
                    1, g.spacingY(), g.spacingX()
                });
        return new Volume(thinGeometry(g, p.sf(), p.thinSlices(), p.thinSpacing()), back.data());
    }
}
