package org.meddiff.gateway.dicom;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a job wrote: its derived series and the files of it, plus any companion series written beside it in the same
 * directory (the anomaly task's colour-fused series); {@code files} then holds the companions' files too.
 */
public record DerivedSeriesResult(String seriesInstanceUid, List<Path> files, List<String> companionSeriesUids) {
    public DerivedSeriesResult {
        files = List.copyOf(files);
        companionSeriesUids = List.copyOf(companionSeriesUids);
    }

    public DerivedSeriesResult(String seriesInstanceUid, List<Path> files) {
        this(seriesInstanceUid, files, List.of());
    }

    /** This result with {@code companion} written beside it. */
    public DerivedSeriesResult with(DerivedSeriesResult companion) {
        List<Path> all = new ArrayList<>(files);
        all.addAll(companion.files());
        List<String> uids = new ArrayList<>(companionSeriesUids);
        uids.add(companion.seriesInstanceUid());
        uids.addAll(companion.companionSeriesUids());
        return new DerivedSeriesResult(seriesInstanceUid, all, uids);
    }
}
