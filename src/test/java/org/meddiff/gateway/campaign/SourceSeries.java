package org.meddiff.gateway.campaign;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.meddiff.gateway.fixtures.SyntheticCtSeries;

/**
 * A synthetic CT series a campaign sends (SyntheticCtSeries: each seed its own study, series and instances), with
 * the SOP instance UID of each file, as the sender needs it to tell what was acknowledged.
 */
record SourceSeries(String label, String studyUid, String seriesUid, List<Path> files, Map<Path, String> sopByFile) {

    static SourceSeries write(String label, Path dir, SyntheticCtSeries.Params params) {
        try {
            List<Path> files = SyntheticCtSeries.write(dir, params);
            Map<Path, String> sops = new LinkedHashMap<>();
            for (int i = 0; i < files.size(); i++) {
                // SyntheticCtSeries writes instance i + 1 to the i-th file (0001.dcm, 0002.dcm, ...)
                sops.put(files.get(i), params.sopInstanceUid(i + 1));
            }
            return new SourceSeries(
                    label,
                    params.resolvedStudyUid(),
                    params.resolvedSeriesUid(),
                    List.copyOf(files),
                    Collections.unmodifiableMap(sops));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write series " + label + " to " + dir, e);
        }
    }

    int size() {
        return files.size();
    }

    /** Path in the spool where ingest keeps an instance (instances/STUDY/SERIES/SOP.dcm). */
    Path spoolFile(Path spoolDir, String sopInstanceUid) {
        return spoolDir.resolve("instances")
                .resolve(studyUid)
                .resolve(seriesUid)
                .resolve(sopInstanceUid + ".dcm");
    }
}
