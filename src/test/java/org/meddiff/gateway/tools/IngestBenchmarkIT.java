package org.meddiff.gateway.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * The short version of bin/benchmark-ingest (the full one is run on demand, its figures in docs/BENCHMARKS.md): a few
 * small slices over 1 and 2 associations to storescp, Orthanc and the packaged gateway, every table row filled.
 */
class IngestBenchmarkIT {
    @Test
    void everyPeerAndTheGatewayAreMeasuredForEachNumberOfAssociations() {
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = ToolMain.execute(
                    new IngestBenchmark(),
                    "--slices",
                    "24",
                    "--size",
                    "128",
                    "--associations",
                    "1,2",
                    "--repeats",
                    "1",
                    "--quiet-period",
                    "1s");
        } finally {
            System.setOut(old);
        }
        String report = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, report);
        // | 1 | storescp | Orthanc | gateway | ratio | ratio | p50 / p99 | ready | heap |
        Matcher row = Pattern.compile(
                        "(?m)^\\| 1 \\| (\\d+) \\| (\\d+) \\| (\\d+) \\| [0-9.]+ \\| [0-9.]+ \\| [0-9.]+ / [0-9.]+ \\| (-?\\d+) \\| (\\d+) \\|$")
                .matcher(report);
        int rows = 0;
        while (row.find()) {
            rows++;
            for (int g : List.of(1, 2, 3)) {
                assertTrue(Integer.parseInt(row.group(g)) > 0, "a rate for every peer: " + row.group());
            }
            assertTrue(Integer.parseInt(row.group(5)) > 0, "the heap high-water mark: " + row.group());
        }
        assertEquals(2, rows, "one run for 1 and one for 2 associations:\n" + report);
    }
}
