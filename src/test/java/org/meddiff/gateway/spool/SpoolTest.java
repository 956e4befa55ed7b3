package org.meddiff.gateway.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The spool uses UIDs as path names and resolves references from events: both are security boundaries. */
class SpoolTest {
    static final String STUDY = "1.2.826.0.1.3680043.8.498.10672399428374512785623981237";
    static final String SERIES = "1.2.826.0.1.3680043.8.498.20931847561239847561298374651";
    static final String SOP = "1.2.826.0.1.3680043.8.498.30918273645546372819203847561.17";

    @TempDir
    Path tmp;

    Path root;
    Spool spool;

    @BeforeEach
    void createSpool() {
        root = tmp.resolve("spool");
        spool = new Spool(root, 0);
    }

    // ------------------------------------------------------------------ Uids

    @ParameterizedTest
    @ValueSource(
            strings = {
                "1.2.840.10008.5.1.4.1.1.2", // CT Image Storage
                "1.2.840.10008.1.2.1", // Explicit VR Little Endian
                "2.25.329800735698586629295641978511506172918", // UUID-derived (PS3.5 B.2)
                "1.3.12.2.1107.5.1.4.73104.30000020081307523376400012736",
                "0",
                "1.0.2"
            })
    void realUidsAreValid(String uid) {
        assertTrue(Uids.isValid(uid), uid);
    }

    @Test
    void sixtyFourCharactersIsTheLimit() {
        String max = "1." + "2".repeat(62);
        assertEquals(64, max.length());
        assertTrue(Uids.isValid(max));
        assertFalse(Uids.isValid(max + "3"), "65 characters");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "1..2",
                "../x",
                "..",
                ".",
                "1.2/3",
                "1.2\\3",
                "/1.2",
                "1.2.",
                ".1.2",
                " 1.2",
                "1.2 ",
                "1.2\n",
                "1.2\u0000",
                "1.2.a",
                "1,2",
                "1.2.\u0663",
                "1.2.\uFF13",
                "1.2.3\u00A0",
                "\u00B9.2"
            })
    void malformedUidsAreRejected(String uid) {
        assertFalse(Uids.isValid(uid), "'" + uid.replace("\n", "\\n") + "'");
    }

    @Test
    void nullIsNotAUid() {
        assertFalse(Uids.isValid(null));
    }

    // ------------------------------------------------------------------ paths from UIDs

    @Test
    void instancePathIsStudySeriesSopUnderTheRoot() {
        Path p = spool.instancePath(STUDY, SERIES, SOP);
        assertEquals(
                root.toAbsolutePath()
                        .normalize()
                        .resolve("instances")
                        .resolve(STUDY)
                        .resolve(SERIES)
                        .resolve(SOP + ".dcm"),
                p);
        assertEquals("instances/" + STUDY + "/" + SERIES + "/" + SOP + ".dcm", spool.relative(p));
        assertEquals(p, spool.resolve(spool.relative(p)), "a claim check resolves back to the file");
    }

    @ParameterizedTest
    @ValueSource(strings = {"../x", "..", "1.2/../../3", "/etc", "", "1..2"})
    void instancePathRefusesInvalidUidsInEveryPosition(String bad) {
        assertThrows(IllegalArgumentException.class, () -> spool.instancePath(bad, SERIES, SOP), "study " + bad);
        assertThrows(IllegalArgumentException.class, () -> spool.instancePath(STUDY, bad, SOP), "series " + bad);
        assertThrows(IllegalArgumentException.class, () -> spool.instancePath(STUDY, SERIES, bad), "sop " + bad);
        assertThrows(IllegalArgumentException.class, () -> spool.seriesDir(bad, SERIES), "seriesDir " + bad);
    }

    @Test
    void instancePathRefusesNull() {
        assertThrows(IllegalArgumentException.class, () -> spool.instancePath(STUDY, SERIES, null));
    }

    @ParameterizedTest
    @ValueSource(strings = {"../x", "ABCDEF12", "0123456", "0123456789abcdef/..", ""})
    void derivedDirRefusesAnythingButHexJobIds(String bad) {
        assertThrows(IllegalArgumentException.class, () -> spool.derivedDir(bad));
    }

    @Test
    void derivedDirOfAJobId() {
        String job = "0123456789abcdef0123456789abcdef";
        assertEquals(root.toAbsolutePath().normalize().resolve("derived").resolve(job), spool.derivedDir(job));
    }

    // ------------------------------------------------------------------ resolving claim checks

    @ParameterizedTest
    @ValueSource(
            strings = {
                "../../etc/passwd",
                "..",
                "../spool-other/instances/x",
                "instances/../../outside",
                "instances/1.2/../../../etc",
                "/etc/passwd",
                "/"
            })
    void resolveRefusesReferencesEscapingTheRoot(String reference) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> spool.resolve(reference));
        assertTrue(e.getMessage().contains("outside the spool"), e.getMessage());
    }

    @Test
    void resolveRefusesTheAbsolutePathOfASiblingWithTheSamePrefix() throws IOException {
        Path sibling = Files.createDirectories(tmp.resolve("spool-evil"));
        assertThrows(IllegalArgumentException.class, () -> spool.resolve(sibling.toString()));
        assertThrows(IllegalArgumentException.class, () -> spool.resolve("../spool-evil"));
    }

    @Test
    void resolveAcceptsReferencesInsideTheRoot() {
        Path absRoot = root.toAbsolutePath().normalize();
        assertEquals(
                absRoot.resolve("instances").resolve(STUDY).resolve(SERIES),
                spool.resolve("instances/" + STUDY + "/" + SERIES));
        assertEquals(absRoot.resolve("derived/ab12cd34"), spool.resolve("derived/x/../ab12cd34"), "normalised");
        assertEquals(
                absRoot.resolve("instances/a"),
                spool.resolve(absRoot.resolve("instances/a").toString()),
                "an absolute path inside the spool is still inside");
    }

    // ------------------------------------------------------------------ durable moves

    @Test
    void moveDurablyCreatesParentsAndReplacesAnExistingFile() throws IOException {
        Path target = spool.instancePath(STUDY, SERIES, SOP);
        Path first = Files.writeString(spool.incoming().resolve("a.part"), "first version");
        spool.moveDurably(first, target);
        assertEquals("first version", Files.readString(target));
        assertFalse(Files.exists(first));

        Path second = Files.writeString(spool.incoming().resolve("b.part"), "second, longer version of the instance");
        spool.moveDurably(second, target);
        assertEquals(
                "second, longer version of the instance",
                Files.readString(target),
                "a re-sent instance replaces the stored one");
        assertFalse(Files.exists(second));
        assertEquals(List.of(target), spool.seriesFiles(target.getParent()));
    }

    /**
     * A reader racing with replacements must always see one complete version: never a missing file, never a
     * truncated or mixed one (what a copy-then-truncate implementation would show).
     */
    @Test
    void moveDurablyReplacesAtomicallyForConcurrentReaders() throws Exception {
        Path target = spool.instancePath(STUDY, SERIES, SOP);
        byte[] a = new byte[256 * 1024];
        byte[] b = new byte[64 * 1024];
        Arrays.fill(a, (byte) 'a');
        Arrays.fill(b, (byte) 'b');
        spool.moveDurably(Files.write(spool.incoming().resolve("init.part"), a), target);

        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<String> problem = new AtomicReference<>();
        AtomicInteger reads = new AtomicInteger();
        Thread reader = Thread.ofPlatform().start(() -> {
            while (!stop.get() && problem.get() == null) {
                try {
                    byte[] seen = Files.readAllBytes(target);
                    if (!Arrays.equals(seen, a) && !Arrays.equals(seen, b)) {
                        problem.set("read a partial file of " + seen.length + " bytes");
                    }
                    reads.incrementAndGet();
                } catch (NoSuchFileException e) {
                    problem.set("target missing during a replacement");
                } catch (IOException e) {
                    problem.set(e.toString());
                }
            }
        });
        try {
            for (int i = 0; i < 100 && problem.get() == null; i++) {
                Path src = Files.write(spool.incoming().resolve(i + ".part"), i % 2 == 0 ? b : a);
                spool.moveDurably(src, target);
            }
        } finally {
            stop.set(true);
            reader.join(10_000);
        }
        assertEquals(null, problem.get());
        assertTrue(reads.get() > 0, "the reader ran");
    }

    @Test
    void moveDurablyAcrossFileSystemsIsAnError() throws IOException {
        Path shm = Path.of("/dev/shm");
        if (!Files.isDirectory(shm) || Files.getFileStore(shm).equals(Files.getFileStore(tmp))) {
            return; // no second file system to try with
        }
        Path outside = Files.createTempFile(shm, "spooltest", ".part");
        try {
            IOException e = assertThrows(
                    IOException.class, () -> spool.moveDurably(outside, spool.instancePath(STUDY, SERIES, SOP)));
            assertTrue(e.getMessage().contains("atomic rename"), e.getMessage());
        } finally {
            Files.deleteIfExists(outside);
        }
    }

    // ------------------------------------------------------------------ crash recovery

    @Test
    void sweepIncomingRemovesPartialFilesOnly() throws IOException {
        Path stored = spool.instancePath(STUDY, SERIES, SOP);
        spool.moveDurably(Files.writeString(spool.incoming().resolve("done.part"), "complete"), stored);
        List<Path> partial = new ArrayList<>();
        for (String name : List.of("3f1c.part", "9a2b.part", "half-written.tmp")) {
            partial.add(Files.write(spool.incoming().resolve(name), "DICM trunc".getBytes(StandardCharsets.US_ASCII)));
        }
        assertEquals(3, spool.sweepIncoming());
        for (Path p : partial) {
            assertFalse(Files.exists(p), p + " should be gone");
        }
        assertEquals("complete", Files.readString(stored), "stored instances are untouched");
        assertEquals(0, spool.sweepIncoming(), "nothing left the second time");
    }

    @Test
    void newSpoolCreatesItsLayoutAndSeesExistingSeries() throws IOException {
        for (String dir : List.of("incoming", "instances", "derived", "outbox")) {
            assertTrue(Files.isDirectory(root.resolve(dir)), dir);
        }
        Path stored = spool.instancePath(STUDY, SERIES, SOP);
        spool.moveDurably(Files.writeString(spool.incoming().resolve("x.part"), "x"), stored);
        Files.writeString(stored.getParent().resolve(".series.json"), "{}");
        Spool restarted = new Spool(root, 0);
        assertEquals(List.of(stored.getParent()), restarted.allSeriesDirs());
        assertEquals(List.of(stored), restarted.seriesFiles(stored.getParent()), "only .dcm files are instances");
    }

    @Test
    void hasRoomForMoreHonoursTheMinimum() {
        assertTrue(new Spool(root, 0).hasRoomForMore());
        assertFalse(new Spool(root, Long.MAX_VALUE).hasRoomForMore());
    }
}
