package org.meddiff.gateway.dicom;

import java.nio.file.Path;
import java.util.List;

public record DerivedSeriesResult(String seriesInstanceUid, List<Path> files) {
}
