package org.meddiff.gateway.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * Every file the gateway's service code writes goes through {@link AtomicFiles} (temporary file, fsync, atomic rename,
 * directory fsync), except the few writers listed here that do the same themselves or write no state. A reader then
 * never finds a torn marker, series state, dispatch record or outbox entry after a crash. Before this rule, job markers,
 * the series' readiness state and the attributes file were written with {@code Files.writeString} in place: this test
 * found those calls (it reads the sources, so it guards against a new one slipping in, which no crash test could do
 * reliably: a torn write of a few bytes needs a kill inside one system call).
 */
class StateWritesAreAtomicTest {
    /** A call that creates, writes or moves a file. */
    static final Pattern WRITE = Pattern.compile(
            "(?<!\\w)Files\\.(write|writeString|newOutputStream|newBufferedWriter|copy|move|createFile)\\("
                    + "|new (FileOutputStream|FileWriter|RandomAccessFile)\\("
                    + "|FileChannel\\.open\\([^;]*StandardOpenOption\\.(WRITE|APPEND|CREATE)");

    /** Source file -> how many such calls it may hold, and why they are safe. */
    static final Map<String, Integer> ALLOWED = Map.of(
            // the helper itself: temporary file, then atomic rename
            "spool/AtomicFiles.java", 2,
            // atomic rename + directory fsync of a file already fsync-ed (ingest's received instance)
            "spool/Spool.java", 1,
            // ingest receives into incoming/ (swept at start-up), fsync, then Spool.moveDurably
            "dicom/net/ScpAssociation.java", 1,
            // derived DICOM files: temporary file, fsync, atomic rename; the completion marker written after them
            // through AtomicFiles fsyncs their directory
            "dicom/pixelmed/DerivedSeriesWriter.java", 2,
            // the outbox's lock file (empty, never read) and the move of an unreadable entry to corrupt/
            "events/Outbox.java", 2,
            // the job's lock file (empty, never read: only its OS lock counts)
            "infer/JobRunner.java", 1);

    @Test
    void theServiceWritesStateOnlyThroughAtomicFiles() throws IOException {
        Path main = Path.of("src/main/java/org/meddiff/gateway");
        assertTrue(Files.isDirectory(main), "run from the project root: " + main.toAbsolutePath());
        List<String> unexpected = new ArrayList<>();
        List<String> sources;
        try (Stream<Path> files = Files.walk(main)) {
            sources = files.filter(p -> p.toString().endsWith(".java"))
                    .map(p -> main.relativize(p).toString().replace('\\', '/'))
                    .filter(p -> !p.startsWith("tools/")) // command-line tools write reports and test data, not state
                    .sorted()
                    .toList();
        }
        for (String source : sources) {
            String text = Files.readString(main.resolve(source));
            Matcher m = WRITE.matcher(text);
            int found = 0;
            List<String> lines = new ArrayList<>();
            while (m.find()) {
                found++;
                lines.add(
                        source + ":" + (1 + text.substring(0, m.start()).split("\n", -1).length - 1) + " " + m.group());
            }
            if (found != ALLOWED.getOrDefault(source, 0)) {
                unexpected.add(found + " write(s), " + ALLOWED.getOrDefault(source, 0) + " allowed: " + lines);
            }
        }
        assertEquals(
                List.of(), unexpected, "state must be written through AtomicFiles (or the list above says why not)");
    }

    @Test
    void theRuleRecognisesTheOldInPlaceWrites() {
        // what JobRunner and SeriesAssembler held before the fix must be caught, or the test above proves nothing
        assertTrue(WRITE.matcher("Files.writeString(outputDir.resolve(COMPLETE_MARKER), Events.toJson(completed));")
                .find());
        assertTrue(
                WRITE.matcher("Files.writeString(state.dir.resolve(READY_FILE), generation + \" \" + count, US_ASCII);")
                        .find());
        assertTrue(
                WRITE.matcher("java.nio.file.Files.writeString(marker, text);").find(), "a fully qualified call too");
        assertTrue(WRITE.matcher("FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)")
                .find());
        assertTrue(
                !WRITE.matcher("FileChannel.open(dir, StandardOpenOption.READ)").find(), "reads are not writes");
        assertTrue(!WRITE.matcher("AtomicFiles.writeString(marker, text);").find(), "the helper is the way");
    }
}
