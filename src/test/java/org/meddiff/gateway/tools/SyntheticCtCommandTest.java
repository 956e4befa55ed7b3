package org.meddiff.gateway.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.meddiff.gateway.dicom.Dciodvfy;

/** bin/synthetic-ct: the options reach the files, and a bad value is a usage error, not a half-written series. */
class SyntheticCtCommandTest {
    @TempDir
    Path tmp;

    @Test
    void theOptionsReachTheFiles() throws Exception {
        Path out = tmp.resolve("cli");
        int status = ToolMain.execute(
                new SyntheticCtCommand(),
                "--out",
                out.toString(),
                "--slices",
                "3",
                "--size",
                "16",
                "--thickness",
                "2.5",
                "--seed",
                "9",
                "--description",
                "CLI test",
                "--body-part",
                "CHEST",
                "--implicit");
        assertEquals(0, status);
        List<Path> files;
        try (Stream<Path> s = Files.list(out)) {
            files = s.sorted().toList();
        }
        assertEquals(3, files.size());
        Dciodvfy.assertNoErrors(files);
        String text = new String(Files.readAllBytes(files.get(0)), StandardCharsets.ISO_8859_1);
        assertTrue(text.contains("CLI test"));
        assertTrue(text.contains("CHEST"));
        assertTrue(text.contains("1.2.840.10008.1.2\0"), "implicit VR transfer syntax in the meta header");
        assertTrue(text.contains("2.5"), "slice thickness");
    }

    @Test
    void badValuesAreUsageErrorsAndWriteNothing() {
        Path out = tmp.resolve("none");
        assertEquals(2, ToolMain.execute(new SyntheticCtCommand(), "--out", out.toString(), "--study-uid", "1.2.x"));
        assertEquals(
                2, ToolMain.execute(new SyntheticCtCommand(), "--out", out.toString(), "--implicit", "--big-endian"));
        assertEquals(2, ToolMain.execute(new SyntheticCtCommand(), "--slices", "3"), "--out is required");
        assertTrue(!Files.exists(out));
    }
}
