package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import org.junit.jupiter.api.Test;

/**
 * The packaged service (target/quarkus-app, what the container image holds) carries no command-line tool and no test
 * fixture: the evaluation, the triage calibration, the benchmarks and the synthetic series writer are in src/tools
 * and src/test, and run from the build tree (bin/evaluate, bin/calibrate-triage, bin/benchmark-inference,
 * bin/synthetic-ct).
 */
class ServiceJarIT {
    @Test
    void theServiceHoldsNoToolsAndNoFixtures() throws IOException {
        Path app = Path.of(System.getProperty("project.root", ".")).resolve("target/quarkus-app");
        assertTrue(Files.isDirectory(app), "package the service first: " + app);
        List<String> found = new ArrayList<>();
        int gatewayClasses = 0;
        try (Stream<Path> jars = Files.walk(app)) {
            for (Path jar : jars.filter(p -> p.toString().endsWith(".jar")).toList()) {
                try (ZipFile zip = new ZipFile(jar.toFile())) {
                    for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
                        String name = e.nextElement().getName();
                        if (!name.startsWith("org/meddiff/gateway/") || !name.endsWith(".class")) {
                            continue; // classes are what ships; an empty directory left by an older build is not
                        }
                        gatewayClasses++;
                        if (name.startsWith("org/meddiff/gateway/tools/")
                                || name.startsWith("org/meddiff/gateway/fixtures/")
                                || name.matches(
                                        ".*/(Evaluation|AnomalyEvaluation|TriageCalibration|InferenceBenchmark|SyntheticCt\\w*|ShippedSettings|ShippedConfig)\\b.*")) {
                            found.add(app.relativize(jar) + "!" + name);
                        }
                    }
                }
            }
        }
        assertTrue(gatewayClasses > 100, "the service's own classes are there: " + gatewayClasses);
        assertEquals(List.of(), found);
    }
}
