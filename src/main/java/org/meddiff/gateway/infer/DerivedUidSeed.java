package org.meddiff.gateway.infer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * The seed of a derived series' UIDs: source series + the exact set of source instances + task +
 * method version. Same inputs give the same UIDs (a retried job re-sends the same series, a PACS
 * stores it once); a series reopened by a late instance gives a new derived series.
 */
public final class DerivedUidSeed {
    private DerivedUidSeed() {}

    public static String of(String sourceSeriesUid, List<Path> sourceFiles, String task, String method) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sourceFiles.stream()
                    .map(p -> p.getFileName().toString())
                    .sorted()
                    .forEach(n -> sha.update((n + "\n").getBytes(StandardCharsets.US_ASCII)));
            String instances = HexFormat.of().formatHex(sha.digest(), 0, 12);
            return sourceSeriesUid + "|" + instances + "|" + task + "|" + method;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
