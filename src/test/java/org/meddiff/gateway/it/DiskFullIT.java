package org.meddiff.gateway.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.dicom.net.Part10;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.it.support.Dcmtk;
import org.meddiff.gateway.it.support.EventLog;
import org.meddiff.gateway.it.support.GatewayProcess;
import org.meddiff.gateway.it.support.KafkaBrokerProcess;
import org.meddiff.gateway.it.support.Processes;

/**
 * The disk the spool is on fills up for real: the spool lives on a small tmpfs this test mounts (as root; without root
 * or mount it skips, saying why), nearly filled by another writer, and a C-STORE stream fills the rest. The sender gets
 * 0xA700 for what no longer fits; no partial file is left anywhere; every acknowledged instance is intact and announced;
 * and once space returns the same gateway process stores and processes the rest, without a restart.
 * gateway.spool.min-free-megabytes is 0 here so the write itself meets ENOSPC (the min-free check has its own test).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DiskFullIT {
    static final int MOUNT_MEGABYTES = 48;

    Path mountPoint;
    KafkaBrokerProcess kafka;
    GatewayProcess gateway;

    @BeforeAll
    void mount() {
        Assumptions.assumeTrue(
                "root".equals(System.getProperty("user.name")),
                "DiskFullIT needs root to mount a small tmpfs for the spool (running as "
                        + System.getProperty("user.name") + ")");
        mountPoint = Processes.workDir("disk-full-mount");
        Processes.Result mounted = Processes.run(
                Duration.ofSeconds(20),
                "mount",
                "-t",
                "tmpfs",
                "-o",
                "size=" + MOUNT_MEGABYTES + "m",
                "tmpfs",
                mountPoint.toString());
        Assumptions.assumeTrue(
                mounted.ok(),
                "DiskFullIT cannot mount a tmpfs here: " + mounted.output().trim());
        kafka = KafkaBrokerProcess.start("disk-full");
        gateway = new GatewayProcess(
                "disk-full",
                Map.of(
                        "kafka.bootstrap.servers", kafka.bootstrapServers(),
                        "gateway.spool.dir", mountPoint.resolve("spool").toString(),
                        "gateway.spool.min-free-megabytes", "0",
                        "gateway.route.rules[1].enabled",
                                "false", // the cubic baseline alone: its derived series fits the disk
                        "gateway.assemble.series-quiet-period", "3s"));
        gateway.start().awaitReady();
    }

    @AfterAll
    void unmount() {
        if (gateway != null) {
            gateway.close();
        }
        if (kafka != null) {
            kafka.close();
        }
        if (mountPoint != null) {
            Processes.run(Duration.ofSeconds(20), "umount", "-l", mountPoint.toString());
        }
    }

    @Test
    void aFullSpoolRefusesWithA700_leavesNoPartialFile_losesNothingAcknowledged_andRecoversWithoutARestart(
            @TempDir Path tmp) throws Exception {
        // 24 slices of 256x256 (128 KB each, 3 MB in all); the disk gets about 1 MB of room
        SyntheticCtSeries.Params params =
                SyntheticCtSeries.Params.thick(256, 24).withSeed(61);
        List<Path> files = SyntheticCtSeries.write(tmp.resolve("series"), params);
        Path filler = mountPoint.resolve("another-writer.bin");
        fill(filler, Files.getFileStore(mountPoint).getUsableSpace() - 1024 * 1024);
        long pid = gateway.pid();

        Processes.Result sent = Dcmtk.storeFast("SCANNER", gateway.aeTitle(), "127.0.0.1", gateway.dicomPort(), files);
        Set<String> acknowledged = ResilienceIT.acknowledgedSops(sent, params);
        long refused = sent.output()
                .lines()
                .filter(l -> l.contains("Received Store Response")
                        && !l.contains("Success")
                        && l.toLowerCase(Locale.ROOT).contains("resources"))
                .count();
        assertTrue(
                !acknowledged.isEmpty() && acknowledged.size() < files.size(),
                "the disk fills part-way: acknowledged " + acknowledged.size() + " of " + files.size() + "\n"
                        + sent.output());
        assertTrue(refused > 0, "the rest is refused with 0xA700 (out of resources):\n" + sent.output());

        Path spool = gateway.spoolDir();
        assertEquals(List.of(), list(spool.resolve("incoming")), "no partial file in incoming/");
        Path seriesDir =
                spool.resolve("instances").resolve(params.resolvedStudyUid()).resolve(params.resolvedSeriesUid());
        Set<String> inSpool = new HashSet<>();
        for (Path f : list(seriesDir)) {
            String name = f.getFileName().toString();
            assertTrue(
                    name.endsWith(".dcm") || name.startsWith("."),
                    "no temporary or partial file in the series: " + name);
            if (name.endsWith(".dcm")) {
                inSpool.add(name.substring(0, name.length() - 4));
            }
        }
        assertEquals(acknowledged, inSpool, "exactly the acknowledged instances are in the spool");
        for (Path f : files) {
            String sop = sopOf(f);
            if (acknowledged.contains(sop)) {
                assertArrayEquals(dataSet(f), dataSet(seriesDir.resolve(sop + ".dcm")), "instance " + sop + " intact");
            }
        }
        Set<String> announced = new HashSet<>();
        EventLog.await(
                        kafka.bootstrapServers(),
                        "dicom.instance.received",
                        EventLog.field("seriesInstanceUid", params.resolvedSeriesUid()),
                        acknowledged.size(),
                        Duration.ofSeconds(60))
                .forEach(e -> announced.add(e.path("sopInstanceUid").asText()));
        assertTrue(announced.containsAll(acknowledged), "every acknowledged instance announced");
        String metrics = gateway.http("/q/metrics").body();
        assertTrue(
                metrics.contains("gateway_instances_refused_total{status=\"0xA700\"}"), "refusals counted by status");

        // space returns (the other writer is done): the sender sends what was refused, the same process takes it
        Files.delete(filler);
        List<Path> rest =
                files.stream().filter(f -> !acknowledged.contains(sopOf(f))).toList();
        Processes.Result resent = Dcmtk.storeFast("SCANNER", gateway.aeTitle(), "127.0.0.1", gateway.dicomPort(), rest);
        assertEquals(rest.size(), Dcmtk.storeSuccesses(resent), resent.output());
        assertEquals(pid, gateway.pid(), "no restart");
        List<JsonNode> ready = EventLog.await(
                kafka.bootstrapServers(),
                "dicom.series.ready",
                EventLog.field("seriesInstanceUid", params.resolvedSeriesUid()),
                1,
                Duration.ofSeconds(60));
        assertEquals(
                files.size(), ready.get(ready.size() - 1).path("instanceCount").asInt(), "the whole series assembled");
        List<JsonNode> completed = EventLog.await(
                kafka.bootstrapServers(),
                "inference.job.completed",
                EventLog.field("seriesInstanceUid", params.resolvedSeriesUid()),
                1,
                Duration.ofSeconds(120));
        assertEquals(
                (files.size() - 1) * 5 + 1,
                completed.get(0).path("instanceCount").asInt(),
                "and processed");
    }

    /** Takes {@code bytes} of the file system, as another program on the same disk would. */
    static void fill(Path file, long bytes) throws IOException {
        byte[] block = new byte[1 << 20];
        Arrays.fill(block, (byte) 0x5a);
        try (var out = Files.newOutputStream(file)) {
            for (long left = bytes; left > 0; left -= block.length) {
                out.write(block, 0, (int) Math.min(block.length, left));
            }
        }
    }

    static List<Path> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return new ArrayList<>(s.sorted().toList());
        }
    }

    static byte[] dataSet(Path part10) throws IOException {
        byte[] all = Files.readAllBytes(part10);
        Part10.Meta meta = Part10.readMeta(new ByteArrayInputStream(all));
        return Arrays.copyOfRange(all, (int) meta.dataSetOffset(), all.length);
    }

    static String sopOf(Path part10) {
        try {
            return Part10.readMeta(new ByteArrayInputStream(Files.readAllBytes(part10)))
                    .sopInstanceUid();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
