package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.meddiff.gateway.campaign.CampaignReport;
import org.meddiff.gateway.campaign.CrashCampaign;
import org.meddiff.gateway.campaign.FailoverCampaign;
import org.meddiff.gateway.campaign.OutageCampaign;
import org.meddiff.gateway.it.support.Processes;

/**
 * The short version of each reliability campaign (bin/campaign runs the full ones): each starts its own broker, gateway
 * process(es) and destination, and every check of its report must pass. The seed is fixed so that a failure can be
 * replayed with the command line the report prints; -Dcampaign.seed=N picks another.
 */
class CampaignsIT {
    static final long SEED = Long.getLong("campaign.seed", 20260101L);

    @Test
    void crash_threeKillsWhileSeriesArrive_nothingLostAndEverySeriesCompleteOnce() throws Exception {
        CrashCampaign.Options o = CrashCampaign.Options.full(SEED)
                .withKills(3)
                .withSeries(3, Duration.ofSeconds(8), Duration.ofSeconds(4))
                .withKillGaps(Duration.ofSeconds(3), Duration.ofSeconds(10))
                .withTiming(Duration.ofSeconds(4), Duration.ofSeconds(5), Duration.ofMinutes(8));
        assertAllChecksPass(CrashCampaign.run(o), "crash");
    }

    /**
     * The broker stays down 65 s, not less: the full campaign showed the assemble stage's consumer giving up after the
     * Kafka client's 60 s API timeout ("Timeout of 60000ms expired before the last committed offset ... could be
     * determined") and never consuming again, which a shorter outage cannot catch.
     */
    @Test
    void outage_brokerDown65sThenPacsDown30s_everythingDeliveredNothingTwice() throws Exception {
        OutageCampaign.Options o = OutageCampaign.Options.full(SEED)
                .withSeries(3)
                .withOutages(Duration.ofSeconds(65), Duration.ofSeconds(30))
                .withTiming(
                        Duration.ofSeconds(4), Duration.ofMinutes(2), Duration.ofSeconds(10), Duration.ofMinutes(10));
        assertAllChecksPass(OutageCampaign.run(o), "outage");
    }

    @Test
    void failover_workerKilledMidJob_theOtherCompletesItAndOrthancHoldsOneSeriesPerJob() throws Exception {
        FailoverCampaign.Options o =
                FailoverCampaign.Options.full(SEED).with(2, 1, 12).withMaxTime(Duration.ofMinutes(8));
        assertAllChecksPass(FailoverCampaign.run(o), "failover");
    }

    /** Prints the report (and keeps its JSON under target/campaign-reports/), then asserts every check. */
    static void assertAllChecksPass(CampaignReport report, String name) throws Exception {
        System.out.println(report.markdown());
        Path dir = Files.createDirectories(Processes.projectRoot().resolve("target/campaign-reports"));
        Files.writeString(dir.resolve("CampaignsIT-" + name + ".json"), report.json());
        assertTrue(
                report.passed(),
                name + " campaign failed " + report.failedChecks() + "\nreplay: " + report.command() + "\n"
                        + report.markdown());
    }
}
