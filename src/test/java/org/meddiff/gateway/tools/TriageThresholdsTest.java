package org.meddiff.gateway.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TriageThresholdsTest {

    /** Ten lesion-free series scoring 0.060, 0.061, ..., 0.069 (listed out of order). */
    private static final double[] LESION_FREE = {0.063, 0.069, 0.060, 0.066, 0.061, 0.068, 0.064, 0.062, 0.067, 0.065};

    @Test
    void urgentLetsTheAskedShareOfLesionFreeSeriesThrough() {
        TriageThresholds t = TriageThresholds.suggest(LESION_FREE, new double[0], 0.1);
        // one of ten allowed: halfway between the highest (0.069) and the next (0.068)
        assertEquals(0.0685, t.urgent(), 1e-12);
        assertEquals(1, t.lesionFreeUrgent());
        // STAT: the highest plus its distance to the median (0.0645)
        assertEquals(0.0735, t.stat(), 1e-12);
        assertTrue(Double.isNaN(t.seriesAuroc()), "no findings, no AUROC");
        TriageThresholds three = TriageThresholds.suggest(LESION_FREE, new double[0], 0.3);
        assertEquals(0.0665, three.urgent(), 1e-12);
        assertEquals(3, three.lesionFreeUrgent());
    }

    @Test
    void withNoFalsePositivesUrgentSitsAboveEveryLesionFreeSeries() {
        // halfway to the lowest finding above them
        TriageThresholds t = TriageThresholds.suggest(LESION_FREE, new double[] {0.075, 0.050}, 0.0);
        assertEquals(0.072, t.urgent(), 1e-12);
        assertEquals(0, t.lesionFreeUrgent());
        assertEquals(1, t.findingsUrgent());
        assertEquals(1, t.findingsStat(), "0.075 is above STAT, 0.0735");
    }

    @Test
    void findingsAreCountedAgainstBothThresholds() {
        TriageThresholds t = TriageThresholds.suggest(LESION_FREE, new double[] {0.080, 0.070, 0.050}, 0.0);
        assertEquals(0.0695, t.urgent(), 1e-12); // halfway from 0.069 to 0.070
        assertEquals(2, t.findingsUrgent());
        assertEquals(1, t.findingsStat()); // 0.080 >= 0.0735
        // 0.080 and 0.070 above all ten lesion-free scores, 0.050 below all: AUROC 20 / 30
        assertEquals(2.0 / 3, t.seriesAuroc(), 1e-9);
        // without findings: half the lesion-free spread (0.009) above the highest
        assertEquals(
                0.0735,
                TriageThresholds.suggest(LESION_FREE, new double[0], 0.0).urgent(),
                1e-12);
    }

    @Test
    void tiedScoresNeverLetMoreThanTheAskedShareThrough() {
        // a quarter of four may pass, but the two highest tie: URGENT goes above both (half the spread above the top)
        TriageThresholds t = TriageThresholds.suggest(new double[] {0.05, 0.06, 0.07, 0.07}, new double[0], 0.25);
        assertEquals(0.08, t.urgent(), 1e-12);
        assertEquals(0, t.lesionFreeUrgent());
    }

    @Test
    void thresholdsAreRoundedUpToTheSixDecimalsThatArePrinted() {
        TriageThresholds t = TriageThresholds.suggest(new double[] {0.0412345678, 0.0412345679}, new double[0], 0.0);
        assertEquals(t.urgent(), Math.round(t.urgent() * 1e6) / 1e6, 0.0, "six decimals");
        assertTrue(t.urgent() > 0.0412345679 && t.stat() >= t.urgent(), t.toString());
        // 0.0735 comes out of the arithmetic as 0.07350000000000001: still 0.073500
        assertEquals(
                0.0735,
                TriageThresholds.suggest(LESION_FREE, new double[0], 0.1).stat(),
                0.0);
    }

    @Test
    void identicalScoresStillGiveThresholdsAboveThem() {
        TriageThresholds t = TriageThresholds.suggest(new double[] {0.07, 0.07}, new double[0], 0.0);
        assertEquals(0.070001, t.urgent(), 1e-12);
        assertTrue(t.stat() >= t.urgent(), t.toString());
        assertEquals(0, t.lesionFreeUrgent());
    }

    @Test
    void badInputIsRefusedWithTheReason() {
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> TriageThresholds.suggest(new double[0], new double[] {0.1}, 0.1))
                .getMessage()
                .contains("lesion-free"));
        assertThrows(IllegalArgumentException.class, () -> TriageThresholds.suggest(LESION_FREE, new double[0], 1.0));
        assertThrows(
                IllegalArgumentException.class,
                () -> TriageThresholds.suggest(LESION_FREE, new double[] {Double.NaN}, 0.1));
    }
}
