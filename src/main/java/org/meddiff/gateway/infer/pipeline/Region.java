package org.meddiff.gateway.infer.pipeline;

import java.util.Locale;
import java.util.Optional;

/**
 * MedDiff-FM region classes (index = the network's {@code region} input) with their CT windows.
 * Normalization {@code x = clip((HU - (level - width/2)) / width * 2 - 1, -1, 1)}; back
 * {@code HU = (x + 1) / 2 * width + level - width/2}; float32 arithmetic like meddiff.data.
 */
public enum Region {
    HAN(0, "HaN", 50.0, 400.0),
    CHEST(1, "chest", -500.0, 1800.0),
    ABDOMEN(2, "abdomen", 60.0, 360.0);

    private final int index;
    private final String cardName;
    private final double level;
    private final double width;

    Region(int index, String cardName, double level, double width) {
        this.index = index;
        this.cardName = cardName;
        this.level = level;
        this.width = width;
    }

    public int index() {
        return index;
    }

    /** The name used in model cards and the Python code. */
    public String cardName() {
        return cardName;
    }

    public double level() {
        return level;
    }

    public double width() {
        return width;
    }

    /** "HaN"/"han"/"head-neck"/"chest"/"abdomen" (case-insensitive). */
    public static Optional<Region> fromName(String name) {
        if (name == null) {
            return Optional.empty();
        }
        String n = name.trim().toLowerCase(Locale.ROOT).replaceAll("[\\s_-]", "");
        return switch (n) {
            case "han", "headneck", "headandneck", "head" -> Optional.of(HAN);
            case "chest", "thorax" -> Optional.of(CHEST);
            case "abdomen", "abdomenpelvis", "pelvis" -> Optional.of(ABDOMEN);
            default -> Optional.empty();
        };
    }

    public static Region ofIndex(int index) {
        for (Region r : values()) {
            if (r.index == index) {
                return r;
            }
        }
        throw new IllegalArgumentException("no region class " + index);
    }

    /** HU -&gt; normalized window scale, clipped to [-1, 1]. */
    public float normalize(float hu) {
        float x = normalizeUnclipped(hu);
        return x < -1f ? -1f : (x > 1f ? 1f : x);
    }

    /** HU -&gt; normalized window scale without clipping (values outside the window lie outside [-1, 1]). */
    public float normalizeUnclipped(float hu) {
        float lo = (float) (level - width / 2.0);
        float w = (float) width;
        return (hu - lo) / w * 2.0f - 1.0f;
    }

    /** Normalized -&gt; HU (not clipped: values outside [-1, 1] map outside the window). */
    public float denormalize(float x) {
        float lo = (float) (level - width / 2.0);
        float w = (float) width;
        return (x + 1.0f) / 2.0f * w + lo;
    }
}
