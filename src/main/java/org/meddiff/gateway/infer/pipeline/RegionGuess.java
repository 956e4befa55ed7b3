package org.meddiff.gateway.infer.pipeline;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

import org.meddiff.gateway.infer.diffusion.FloatVolume;

/**
 * Chooses the region class (window + the network's region input) of a series, in this order:
 * <ol>
 * <li>configuration: an explicit region name ("HaN", "chest", "abdomen") wins; "auto" or empty defers;</li>
 * <li>BodyPartExamined (0018,0015) when it names one region (HEAD, NECK, BRAIN, ... -&gt; HaN; CHEST, THORAX,
 *     LUNG, ... -&gt; chest; ABDOMEN, PELVIS, LIVER, ... -&gt; abdomen; several regions, e.g. CHESTABDOMEN, defer);</li>
 * <li>an automatic guess from the 1 mm HU volume and its body mask:
 *     air/lung voxels (HU &lt; -400 inside the body) &gt;= {@value #LUNG_FRACTION} of the body -&gt; chest;
 *     else a median axial body cross-section &lt; {@value #HEAD_AREA_MM2} mm^2 with bone (HU &gt;= 200) &gt;=
 *     {@value #HEAD_BONE_FRACTION} of the body -&gt; HaN (a skull/bone ring around a small cross-section);
 *     else abdomen. A simple rule for adult CT; log it and let configuration override it.</li>
 * </ol>
 */
public final class RegionGuess {

    public static final double LUNG_FRACTION = 0.15;
    public static final double HEAD_AREA_MM2 = 30000;
    public static final double HEAD_BONE_FRACTION = 0.12;

    /** The region and where it came from ("configuration", "BodyPartExamined", "automatic") with a reason. */
    public record Decision(Region region, String source, String reason) {}

    private RegionGuess() {}

    public static Decision decide(String configured, String bodyPartExamined, FloatVolume hu1mm) {
        if (configured != null && !configured.isBlank() && !configured.trim().equalsIgnoreCase("auto")) {
            Region r = Region.fromName(configured)
                    .orElseThrow(() -> new IllegalArgumentException(
                            "region must be HaN, chest, abdomen or auto: '" + configured + "'"));
            return new Decision(r, "configuration", "configured " + configured);
        }
        Optional<Region> tag = fromBodyPart(bodyPartExamined);
        if (tag.isPresent()) {
            return new Decision(tag.get(), "BodyPartExamined", "BodyPartExamined " + bodyPartExamined);
        }
        return automatic(hu1mm);
    }

    /** BodyPartExamined -&gt; region when the value names exactly one region. */
    public static Optional<Region> fromBodyPart(String value) {
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        String v = value.trim().toUpperCase(Locale.ROOT).replaceAll("[^A-Z]", "");
        boolean han =
                v.matches(".*(HEAD|NECK|BRAIN|SKULL|ORBIT|SINUS|FACE|JAW|TMJ|IAC|EAR|LARYNX|PHARYNX|THYROID|HAN).*");
        boolean chest = v.matches(".*(CHEST|THORAX|LUNG|HEART|BREAST|MEDIASTINUM|CARDIAC|CORONARY).*");
        boolean abdomen = v.matches(
                ".*(ABDOMEN|ABD|PELVIS|LIVER|KIDNEY|PANCREAS|BLADDER|COLON|PROSTATE|SPLEEN|STOMACH|UTERUS|ABDPEL).*");
        int n = (han ? 1 : 0) + (chest ? 1 : 0) + (abdomen ? 1 : 0);
        if (n != 1) {
            return Optional.empty();
        }
        return Optional.of(han ? Region.HAN : chest ? Region.CHEST : Region.ABDOMEN);
    }

    /** The automatic rule on a 1 mm HU volume. */
    public static Decision automatic(FloatVolume hu1mm) {
        boolean[] body = AnatomyClasses.bodyMask(hu1mm);
        float[] v = hu1mm.data();
        int plane = hu1mm.height() * hu1mm.width();
        long bodyCount = 0, air = 0, bone = 0;
        int[] area = new int[hu1mm.depth()];
        for (int i = 0; i < v.length; i++) {
            if (body[i]) {
                bodyCount++;
                area[i / plane]++;
                if (v[i] < -400f) {
                    air++;
                } else if (v[i] >= 200f) {
                    bone++;
                }
            }
        }
        if (bodyCount == 0) {
            return new Decision(Region.ABDOMEN, "automatic", "no body found: abdomen by default");
        }
        double airF = (double) air / bodyCount;
        double boneF = (double) bone / bodyCount;
        int[] nonEmpty = Arrays.stream(area).filter(a -> a > 0).sorted().toArray();
        double medianArea = nonEmpty[nonEmpty.length / 2];
        String stats = String.format(
                Locale.ROOT,
                "air/lung %.1f %%, bone %.1f %% of the body, median body cross-section %.0f mm^2",
                100 * airF,
                100 * boneF,
                medianArea);
        if (airF >= LUNG_FRACTION) {
            return new Decision(Region.CHEST, "automatic", stats + ": chest");
        }
        if (medianArea < HEAD_AREA_MM2 && boneF >= HEAD_BONE_FRACTION) {
            return new Decision(Region.HAN, "automatic", stats + ": HaN");
        }
        return new Decision(Region.ABDOMEN, "automatic", stats + ": abdomen");
    }
}
