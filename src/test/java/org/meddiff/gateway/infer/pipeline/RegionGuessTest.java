package org.meddiff.gateway.infer.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.meddiff.gateway.infer.diffusion.FloatVolume;

class RegionGuessTest {

    @Test
    void bodyPartExamined() {
        assertEquals(Optional.of(Region.HAN), RegionGuess.fromBodyPart("HEAD"));
        assertEquals(Optional.of(Region.HAN), RegionGuess.fromBodyPart("HEADNECK"));
        assertEquals(Optional.of(Region.HAN), RegionGuess.fromBodyPart("Brain"));
        assertEquals(Optional.of(Region.CHEST), RegionGuess.fromBodyPart("CHEST"));
        assertEquals(Optional.of(Region.CHEST), RegionGuess.fromBodyPart("THORAX"));
        assertEquals(Optional.of(Region.ABDOMEN), RegionGuess.fromBodyPart("ABDOMEN"));
        assertEquals(Optional.of(Region.ABDOMEN), RegionGuess.fromBodyPart("ABDOMENPELVIS"));
        assertEquals(Optional.of(Region.ABDOMEN), RegionGuess.fromBodyPart("LIVER"));
        assertEquals(Optional.empty(), RegionGuess.fromBodyPart("CHESTABDOMEN")); // two regions: defer
        assertEquals(Optional.empty(), RegionGuess.fromBodyPart("WHOLEBODY"));
        assertEquals(Optional.empty(), RegionGuess.fromBodyPart(""));
        assertEquals(Optional.empty(), RegionGuess.fromBodyPart(null));
    }

    @Test
    void orderConfigurationThenTagThenAutomatic() {
        FloatVolume abdomen = phantom(120, 0.0, 20);
        assertEquals(
                "configuration", RegionGuess.decide("chest", "HEAD", abdomen).source());
        assertEquals(Region.CHEST, RegionGuess.decide("chest", "HEAD", abdomen).region());
        RegionGuess.Decision tag = RegionGuess.decide("auto", "HEAD", abdomen);
        assertEquals(Region.HAN, tag.region());
        assertEquals("BodyPartExamined", tag.source());
        RegionGuess.Decision auto = RegionGuess.decide(null, "CHESTABDOMEN", abdomen);
        assertEquals("automatic", auto.source());
        assertThrows(IllegalArgumentException.class, () -> RegionGuess.decide("knee", null, abdomen));
    }

    /** Elliptic body of semi-axis a (mm) in air with a lung fraction and a bone ring of the given thickness. */
    private static FloatVolume phantom(int a, double lungFraction, int boneRing) {
        int d = 10, n = 2 * a + 10;
        FloatVolume v = FloatVolume.zeros(d, n, n);
        for (int z = 0; z < d; z++)
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++) {
                    double r = Math.hypot(y - n / 2.0, x - n / 2.0);
                    float hu = -1000;
                    if (r <= a) {
                        hu = 40;
                        if (r > a - boneRing && boneRing > 0 && a < 100) {
                            hu = 800;
                        }
                        if (r < a * Math.sqrt(lungFraction)) {
                            hu = -850;
                        }
                    }
                    v.data()[v.index(z, y, x)] = hu;
                }
        return v;
    }

    @Test
    void automaticGuess() {
        RegionGuess.Decision chest = RegionGuess.automatic(phantom(140, 0.35, 0));
        assertEquals(Region.CHEST, chest.region(), chest.reason());
        RegionGuess.Decision head = RegionGuess.automatic(phantom(80, 0.0, 8));
        assertEquals(Region.HAN, head.region(), head.reason());
        RegionGuess.Decision abd = RegionGuess.automatic(phantom(150, 0.0, 0));
        assertEquals(Region.ABDOMEN, abd.region(), abd.reason());
        assertTrue(abd.reason().contains("median body cross-section"));
        FloatVolume air = FloatVolume.zeros(4, 10, 10);
        Arrays.fill(air.data(), -1000f);
        assertEquals(Region.ABDOMEN, RegionGuess.automatic(air).region());
    }
}
