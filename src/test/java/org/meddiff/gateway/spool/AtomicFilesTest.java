package org.meddiff.gateway.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writesAndReplacesWholeFiles_leavingNoTemporaryFile() throws IOException {
        Path state = dir.resolve(".ready");
        AtomicFiles.writeString(state, "1 40");
        AtomicFiles.writeString(state, "2 41");
        assertEquals("2 41", Files.readString(state));
        assertEquals(List.of(".ready"), names());
    }

    @Test
    void aWriteThatCannotLand_leavesTheOldContentAndNoTemporaryFile() throws IOException {
        Path target = Files.createDirectories(dir.resolve(".complete.json"));
        Files.writeString(target.resolve("occupied"), "x"); // the rename over it must fail
        assertThrows(IOException.class, () -> AtomicFiles.writeString(target, "{}"));
        assertEquals(List.of(".complete.json"), names(), "no temporary file left behind");
        assertEquals("x", Files.readString(target.resolve("occupied")));
    }
}
