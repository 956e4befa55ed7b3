package org.meddiff.gateway.campaign;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.pixelmed.dicom.Attribute;
import com.pixelmed.dicom.AttributeList;
import com.pixelmed.dicom.DicomException;
import com.pixelmed.dicom.SequenceAttribute;
import com.pixelmed.dicom.TagFromName;

/**
 * The files a destination folder received (storescp +uf: one file per reception), each read back to what identifies
 * it: its SOP instance and series, and the source series the gateway names in ReferencedSeriesSequence (the Common
 * Instance Reference module its derived images carry, beside SourceImageSequence). The reception time is the file's
 * modification time (storescp writes the file when the data set has arrived). Headers are read once per file; a file
 * that cannot be read yet (being written) is tried again on the next scan.
 */
final class ReceivedInstances {
    /** One received file. {@code sourceSeriesUid} is null for a file that is no derived series of the gateway. */
    record Reception(
            Path file,
            String sopInstanceUid,
            String seriesInstanceUid,
            String sourceSeriesUid,
            String derivationDescription,
            long receivedAtMillis) {}

    private final Path dir;
    private final Map<Path, Reception> read = new HashMap<>();
    private final Map<Path, String> unreadable = new HashMap<>();

    ReceivedInstances(Path dir) {
        this.dir = dir;
    }

    /** Every file received so far. */
    synchronized List<Reception> scan() {
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        unreadable.clear();
        for (Path f : files) {
            if (read.containsKey(f)) {
                continue;
            }
            try {
                read.put(f, readHeader(f));
            } catch (IOException | DicomException | RuntimeException e) {
                unreadable.put(f, String.valueOf(e.getMessage()));
            }
        }
        return new ArrayList<>(read.values());
    }

    /** Files of the last scan that could not be read as DICOM (path -> why). */
    synchronized Map<Path, String> unreadable() {
        return Map.copyOf(unreadable);
    }

    private static Reception readHeader(Path f) throws IOException, DicomException {
        long mtime = Files.getLastModifiedTime(f).toMillis();
        AttributeList l = new AttributeList();
        l.read(f.toFile(), TagFromName.PixelData);
        String sop = Attribute.getSingleStringValueOrNull(l, TagFromName.SOPInstanceUID);
        String series = Attribute.getSingleStringValueOrNull(l, TagFromName.SeriesInstanceUID);
        if (sop == null || series == null) {
            throw new DicomException(f + ": no SOPInstanceUID or SeriesInstanceUID");
        }
        String source = null;
        if (l.get(TagFromName.ReferencedSeriesSequence) instanceof SequenceAttribute seq
                && seq.getNumberOfItems() > 0) {
            source = Attribute.getSingleStringValueOrNull(
                    seq.getItem(0).getAttributeList(), TagFromName.SeriesInstanceUID);
        }
        return new Reception(
                f,
                sop,
                series,
                source,
                Attribute.getSingleStringValueOrNull(l, TagFromName.DerivationDescription),
                mtime);
    }
}
