package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.meddiff.gateway.campaign.Category;
import org.meddiff.gateway.campaign.FuzzCampaign;
import org.meddiff.gateway.campaign.FuzzReport;
import org.meddiff.gateway.campaign.FuzzReport.Kind;

/**
 * The short fuzz campaign of bin/test: 700 hostile cases (7 cycles, so every category several times) against the
 * packaged gateway with a real broker, and the same checks as the full run (bin/campaign fuzz, docs/RELIABILITY.md).
 * The seed is random and printed; -Dfuzz.seed=S replays a run, -Dfuzz.cases=N changes its size.
 */
class FuzzCampaignIT {
    @Test
    void hostileCasesLeaveTheListenerServingAndTheSpoolExact() {
        long seed = Long.getLong("fuzz.seed", new Random().nextLong() & Long.MAX_VALUE);
        int cases = Integer.getInteger("fuzz.cases", 700);
        FuzzReport r = FuzzCampaign.run(FuzzCampaign.Options.of(cases, seed, 6));
        System.out.println("FuzzCampaignIT (seed " + seed + ", replay: -Dfuzz.seed=" + seed + "):\n" + r.markdown());
        r.failureDetails.stream().limit(40).forEach(f -> System.out.println("  " + f));

        List<Executable> checks = new ArrayList<>();
        checks.add(() -> assertEquals(cases, r.casesRun, "cases run within the time bound"));
        for (Category c : Category.values()) {
            checks.add(() -> assertTrue(r.categories.get(c).cases > 0, "category " + c + " was exercised"));
        }
        for (Kind k : Kind.values()) {
            checks.add(() -> assertEquals(
                    0,
                    r.failures(k),
                    k + " failures (seed " + seed + "): "
                            + r.failureDetails.stream()
                                    .filter(f -> f.startsWith(k + ":"))
                                    .limit(5)
                                    .toList()));
        }
        checks.add(() -> assertTrue(r.echoes >= cases / 100, "C-ECHO interleaved every 100 cases: " + r.echoes));
        checks.add(() -> assertTrue(
                r.storesAnsweredSuccess > 0, "some C-STOREs answered Success (and were checked in the spool)"));
        checks.add(() -> assertTrue(r.storesRefused > 0, "some C-STOREs refused (and checked absent)"));
        checks.add(() -> assertTrue(
                r.maxHeapUsedBytes > 0 && r.maxHeapUsedBytes < r.heapLimitBytes,
                "heap read from /q/metrics and below -Xmx: " + r.maxHeapUsedBytes));
        checks.add(() ->
                assertTrue(r.heapAfterGcBytes.size() >= 2, "heap after GC at start and end: " + r.heapAfterGcBytes));
        checks.add(() -> assertTrue(r.passed(), "the campaign passed"));
        assertAll(checks);
    }
}
