package org.meddiff.gateway.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.meddiff.gateway.config.TestSettings;
import org.meddiff.gateway.events.SeriesAttributes;
import org.meddiff.gateway.events.TaskNames;
import org.meddiff.gateway.route.RoutingRules.Criteria;

/** Which series get which task: the decision a radiographer or PACS admin cares about. */
class RoutingRulesTest {
    static final String CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2";

    static SeriesAttributes series(String modality, Double thicknessMm) {
        return new SeriesAttributes(
                modality,
                3,
                thicknessMm,
                "Abdomen 5.0 Br40",
                "ABDOMEN",
                List.of("ORIGINAL", "PRIMARY", "AXIAL"),
                CT_IMAGE,
                "CT_SCANNER_1",
                "MEDDIFF",
                false);
    }

    static SeriesAttributes withDescription(String description) {
        return new SeriesAttributes(
                "CT",
                3,
                5.0,
                description,
                "ABDOMEN",
                List.of("ORIGINAL", "PRIMARY", "AXIAL"),
                CT_IMAGE,
                "CT_SCANNER_1",
                "MEDDIFF",
                false);
    }

    static SeriesAttributes withBodyPart(String bodyPart) {
        return new SeriesAttributes(
                "CT",
                3,
                5.0,
                "Abdomen",
                bodyPart,
                List.of("ORIGINAL", "PRIMARY", "AXIAL"),
                CT_IMAGE,
                "CT_SCANNER_1",
                "MEDDIFF",
                false);
    }

    static SeriesAttributes withImageType(List<String> imageType) {
        return new SeriesAttributes(
                "CT", 3, 5.0, "Abdomen", "ABDOMEN", imageType, CT_IMAGE, "CT_SCANNER_1", "MEDDIFF", false);
    }

    static SeriesAttributes withAes(String calling, String called) {
        return new SeriesAttributes(
                "CT",
                3,
                5.0,
                "Abdomen",
                "ABDOMEN",
                List.of("ORIGINAL", "PRIMARY", "AXIAL"),
                CT_IMAGE,
                calling,
                called,
                false);
    }

    /** A rule with only a name and task: matches everything (every condition "don't care"). */
    static RoutingRules.Rule anything(String name, String task) {
        return new RoutingRules.Rule(name, task, Criteria.ANY);
    }

    static RoutingRules.Rule modality(String name, String task, String modality) {
        return new RoutingRules.Rule(name, task, Criteria.ANY.modality(modality));
    }

    static List<String> tasks(RoutingRules rules, SeriesAttributes s) {
        return rules.decide(s).stream().map(RoutingRules.Decision::task).toList();
    }

    /**
     * The rules as shipped (gateway.route.rules[i].* in application.properties, read through SmallRye Config), turned
     * into Rule objects by Router.fromConfig itself, so the "default rule" tested here is the one users actually get.
     */
    static RoutingRules shippedRules() {
        return Router.fromConfig(TestSettings.gateway(Map.of()).route().rules());
    }

    // ------------------------------------------------------------------ the default rule

    @Test
    void everyShippedRuleNamesATaskInferImplements() {
        RoutingRules rules = shippedRules();
        assertEquals(7, rules.rules().size(), "attribute rules for MEDDIFF plus one per task AE title");
        for (RoutingRules.Rule rule : rules.rules()) {
            assertTrue(TaskNames.KNOWN.contains(rule.task()), rule.name() + " names unknown task " + rule.task());
        }
    }

    @Test
    void thickCtSentToMeddiffGetsTheCubicBaselineAndDiffusionSuperResolution() {
        RoutingRules rules = shippedRules();
        assertEquals(
                List.of(
                        new RoutingRules.Decision("thick-ct-to-thin", TaskNames.CUBIC_THICK_TO_THIN),
                        new RoutingRules.Decision("thick-ct-diffusion-sr", TaskNames.SUPER_RESOLUTION)),
                rules.decide(series("CT", 5.0)));
        assertEquals(
                List.of(TaskNames.CUBIC_THICK_TO_THIN, TaskNames.SUPER_RESOLUTION),
                tasks(rules, series("CT", 3.0)),
                "3 mm is thick (>= 3)");
        assertEquals(
                List.of(TaskNames.CUBIC_THICK_TO_THIN, TaskNames.SUPER_RESOLUTION),
                tasks(rules, series("ct ", 10.0)),
                "modality compares case-insensitively and ignores padding");
    }

    @Test
    void lowDoseDescriptionSentToMeddiffIsDenoised() {
        RoutingRules rules = shippedRules();
        assertEquals(
                List.of(TaskNames.DENOISE), tasks(rules, withDescriptionAndThickness("Abdomen LOW DOSE 1.0", 1.0)));
        assertEquals(List.of(TaskNames.DENOISE), tasks(rules, withDescriptionAndThickness("LDCT chest", 1.0)));
        assertEquals(List.of(), tasks(rules, withDescriptionAndThickness("Abdomen 1.0 Br40", 1.0)));
    }

    @Test
    void taskAeTitlesRouteExplicitlyWhateverTheAttributes() {
        RoutingRules rules = shippedRules();
        assertEquals(List.of(TaskNames.DENOISE), tasks(rules, withAes("PACS", "MEDDIFF_DN")));
        assertEquals(
                List.of(TaskNames.SUPER_RESOLUTION, TaskNames.CUBIC_THICK_TO_THIN),
                tasks(rules, withAes("PACS", "MEDDIFF_SR")));
        assertEquals(List.of(TaskNames.ANOMALY), tasks(rules, withAes("PACS", "MEDDIFF_AD")));
        assertEquals(List.of(), tasks(rules, withAes("PACS", "SOMETHING_ELSE")));
    }

    @Test
    void defaultRulesLeaveThinCtMrAndUnknownThicknessAlone() {
        RoutingRules rules = shippedRules();
        assertEquals(List.of(), tasks(rules, series("CT", 1.0)), "1 mm CT is already thin");
        assertEquals(List.of(), tasks(rules, series("CT", 2.99)), "just under 3 mm");
        assertEquals(List.of(), tasks(rules, series("MR", 5.0)), "MR is not CT");
        assertEquals(List.of(), tasks(rules, series(null, 5.0)), "no modality");
        assertEquals(
                List.of(), tasks(rules, series("CT", null)), "missing SliceThickness: cannot tell thick from thin");
    }

    static SeriesAttributes withDescriptionAndThickness(String description, double thickness) {
        return new SeriesAttributes(
                "CT",
                3,
                thickness,
                description,
                "ABDOMEN",
                List.of("ORIGINAL", "PRIMARY", "AXIAL"),
                CT_IMAGE,
                "CT_SCANNER_1",
                "MEDDIFF",
                false);
    }

    // ------------------------------------------------------------------ single conditions

    @Test
    void maxThicknessBoundsARange() {
        RoutingRules rules = new RoutingRules(List.of(new RoutingRules.Rule(
                "medium",
                "denoise",
                Criteria.ANY.modality("CT").minSliceThicknessMm(1.0).maxSliceThicknessMm(2.5))));
        assertEquals(List.of("denoise"), tasks(rules, series("CT", 1.0)));
        assertEquals(List.of("denoise"), tasks(rules, series("CT", 2.5)));
        assertEquals(List.of(), tasks(rules, series("CT", 0.6)));
        assertEquals(List.of(), tasks(rules, series("CT", 3.0)));
        assertEquals(List.of(), tasks(rules, series("CT", null)));
    }

    @Test
    void descriptionRegexMatchesTheWholeDescriptionIgnoringCase() {
        RoutingRules rules = new RoutingRules(List.of(
                new RoutingRules.Rule("low-dose", "denoise", Criteria.ANY.seriesDescription(".*low[ -]?dose.*"))));
        assertEquals(List.of("denoise"), tasks(rules, withDescription("Thorax LOW DOSE 1.0")));
        assertEquals(List.of("denoise"), tasks(rules, withDescription("lowdose screening")));
        assertEquals(List.of(), tasks(rules, withDescription("Thorax standard dose")));
        assertEquals(List.of(), tasks(rules, withDescription(null)), "no SeriesDescription does not match");

        RoutingRules whole = new RoutingRules(
                List.of(new RoutingRules.Rule("exact", "denoise", Criteria.ANY.seriesDescription("abdomen"))));
        assertEquals(
                List.of(), tasks(whole, withDescription("Abdomen 5mm")), "a regex must match the whole description");
        assertEquals(List.of("denoise"), tasks(whole, withDescription("ABDOMEN")));
    }

    @Test
    void bodyPartsAreAnyOfIgnoringCase() {
        RoutingRules rules = new RoutingRules(List.of(
                new RoutingRules.Rule("trunk", "anomaly", Criteria.ANY.bodyParts(List.of("CHEST", "ABDOMEN")))));
        assertEquals(List.of("anomaly"), tasks(rules, withBodyPart("ABDOMEN")));
        assertEquals(List.of("anomaly"), tasks(rules, withBodyPart("chest")));
        assertEquals(List.of(), tasks(rules, withBodyPart("HEAD")));
        assertEquals(List.of(), tasks(rules, withBodyPart(null)));
    }

    @Test
    void imageTypeMustContainTheValue() {
        RoutingRules rules = new RoutingRules(
                List.of(new RoutingRules.Rule("axial-only", "super-resolve", Criteria.ANY.imageTypeContains("AXIAL"))));
        assertEquals(List.of("super-resolve"), tasks(rules, withImageType(List.of("ORIGINAL", "PRIMARY", "AXIAL"))));
        assertEquals(List.of("super-resolve"), tasks(rules, withImageType(List.of("original", "primary", "axial"))));
        assertEquals(List.of(), tasks(rules, withImageType(List.of("DERIVED", "SECONDARY", "LOCALIZER"))));
        assertEquals(
                List.of(),
                tasks(rules, withImageType(List.of("ORIGINAL", "PRIMARY", "AXIAL_MIP"))),
                "a value, not a substring");
        assertEquals(List.of(), tasks(rules, withImageType(null)));
    }

    @Test
    void callingAndCalledAeConditions() {
        RoutingRules byCalling = new RoutingRules(List.of(new RoutingRules.Rule(
                "scanner-1", "denoise", Criteria.ANY.callingAes(List.of("CT_SCANNER_1", "CT_SCANNER_2")))));
        assertEquals(List.of("denoise"), tasks(byCalling, withAes("CT_SCANNER_2", "MEDDIFF")));
        assertEquals(List.of(), tasks(byCalling, withAes("PACS", "MEDDIFF")));
        assertEquals(List.of(), tasks(byCalling, withAes(null, "MEDDIFF")));

        RoutingRules byCalled = new RoutingRules(
                List.of(new RoutingRules.Rule("denoise-ae", "denoise", Criteria.ANY.calledAes(List.of("MEDDIFF_DN")))));
        assertEquals(
                List.of("denoise"),
                tasks(byCalled, withAes("PACS", "MEDDIFF_DN")),
                "a sender can pick a task by addressing the gateway's task-specific AE title");
        assertEquals(List.of(), tasks(byCalled, withAes("PACS", "MEDDIFF")));
    }

    @Test
    void allPresentConditionsMustHold() {
        RoutingRules rules = new RoutingRules(List.of(new RoutingRules.Rule(
                "thick-abdomen-from-scanner-1",
                "super-resolve",
                Criteria.ANY
                        .modality("CT")
                        .minSliceThicknessMm(3.0)
                        .bodyParts(List.of("ABDOMEN"))
                        .callingAes(List.of("CT_SCANNER_1")))));
        assertEquals(List.of("super-resolve"), tasks(rules, series("CT", 5.0)));
        assertEquals(List.of(), tasks(rules, withBodyPart("HEAD")), "body part fails");
        assertEquals(List.of(), tasks(rules, withAes("CT_SCANNER_2", "MEDDIFF")), "calling AE fails");
        assertEquals(List.of(), tasks(rules, series("CT", 1.0)), "thickness fails");
    }

    // ------------------------------------------------------------------ several rules, loop guard

    @Test
    void severalRulesGiveEachTaskOnceInRuleOrder() {
        RoutingRules rules = new RoutingRules(List.of(
                modality("ct-anomaly", "anomaly", "CT"),
                new RoutingRules.Rule("thick", "super-resolve", Criteria.ANY.minSliceThicknessMm(3.0)),
                modality("mr-only", "mr-task", "MR"),
                anything("all-anomaly-again", "anomaly"),
                anything("everything-denoise", "denoise"),
                modality("ct-super-resolve-again", "super-resolve", "CT")));
        List<RoutingRules.Decision> decisions = rules.decide(series("CT", 5.0));
        assertEquals(
                List.of(
                        new RoutingRules.Decision("ct-anomaly", "anomaly"),
                        new RoutingRules.Decision("thick", "super-resolve"),
                        new RoutingRules.Decision("everything-denoise", "denoise")),
                decisions,
                "one job per task, credited to the first rule asking for it, in rule order");
        assertEquals(
                List.of("anomaly", "denoise", "super-resolve"),
                tasks(rules, series("CT", 1.0)),
                "thin CT: 'thick' does not fire, so the last rule's super-resolve is the first for that task");
        assertEquals(List.of("super-resolve", "mr-task", "anomaly", "denoise"), tasks(rules, series("MR", 4.0)));
    }

    @Test
    void gatewaysOwnDerivedSeriesIsNeverRouted() {
        SeriesAttributes derived = new SeriesAttributes(
                "CT",
                1003,
                1.0,
                "Abdomen 5.0 Br40 (thin, cubic)",
                "ABDOMEN",
                List.of("DERIVED", "SECONDARY", "AXIAL"),
                CT_IMAGE,
                "MEDDIFF",
                "MEDDIFF",
                true);
        assertEquals(List.of(), shippedRules().decide(derived));
        SeriesAttributes thickDerived = new SeriesAttributes(
                "CT", 1003, 5.0, "x", "ABDOMEN", List.of("AXIAL"), CT_IMAGE, "MEDDIFF", "MEDDIFF", true);
        RoutingRules catchAll =
                new RoutingRules(List.of(anything("everything", "denoise"), anything("all", "anomaly")));
        assertEquals(List.of(), catchAll.decide(thickDerived), "even a catch-all rule must not loop on our own output");
        assertEquals(List.of(), shippedRules().decide(thickDerived));
    }

    @Test
    void noRulesNoJobs() {
        assertEquals(List.of(), new RoutingRules(List.of()).decide(series("CT", 5.0)));
    }

    @Test
    void descriptionPatternIsCaseInsensitiveForNonAscii() {
        Pattern p = RoutingRules.descriptionPattern("thorax nativ.*");
        assertTrue(p.matcher("THORAX NATIV ÜBERSICHT").matches());
        assertTrue(RoutingRules.descriptionPattern("ÉPAULE").matcher("épaule").matches(), "UNICODE_CASE");
    }
}
