package org.meddiff.gateway.campaign;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

/**
 * What every campaign's {@code main} does: parse the options (usage error: exit 2; --help: usage, exit 0), run, print
 * the Markdown report, write the JSON one when --report is given, exit 0 when every check passed and 1 otherwise.
 */
final class CampaignCommand {
    /** The launcher named in the report's command line (bin/campaign sets it; a bare java call has none). */
    static final String LAUNCHER_PROPERTY = "campaign.launcher";

    private CampaignCommand() {}

    /** The options every campaign has. */
    static CampaignArgs withCommonOptions(CampaignArgs args, String defaultMaxMinutes) {
        return args.option(
                        "max-minutes",
                        "N",
                        defaultMaxMinutes,
                        "hard bound on the whole run; past it the run stops, audits what it has and fails")
                .option("report", "FILE", null, "also write the report as JSON to FILE")
                .repeatable(
                        "gateway-property",
                        "KEY=VALUE",
                        "extra -D property for every gateway process (e.g. gateway.dispatch.max-attempts=12)");
    }

    /** The command line a report names: how to run the same campaign again. */
    static String commandLine(String campaign, List<String> args) {
        StringBuilder b = new StringBuilder(System.getProperty(LAUNCHER_PROPERTY, "bin/campaign"))
                .append(' ')
                .append(campaign);
        for (String a : args) {
            b.append(' ').append(a.matches("[A-Za-z0-9_./:=@,+-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
        }
        return b.toString();
    }

    static int main(CampaignArgs args, String[] argv, Function<CampaignArgs, CampaignReport> campaign) {
        CampaignReport report;
        try {
            if (!args.parse(argv)) {
                System.out.print(args.usage());
                return 0;
            }
            report = campaign.apply(args);
        } catch (CampaignArgs.UsageException e) {
            System.err.println("campaign: " + e.getMessage() + " (see --help)");
            return 2;
        }
        System.out.println(report.markdown());
        args.optional("report").ifPresent(f -> {
            report.writeJson(Path.of(f));
            System.out.println("JSON report: " + Path.of(f).toAbsolutePath());
        });
        if (!report.passed()) {
            System.out.println("FAILED checks: "
                    + report.failedChecks().stream()
                            .map(CampaignReport.Check::name)
                            .toList());
        }
        return report.passed() ? 0 : 1;
    }
}
