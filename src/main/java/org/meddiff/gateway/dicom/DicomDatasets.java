package org.meddiff.gateway.dicom;

import java.nio.file.Path;
import java.util.List;

import org.meddiff.gateway.volume.ColourVolume;
import org.meddiff.gateway.volume.Volume;

/**
 * Port to the DICOM toolkit for datasets (Part-10 files). PixelMed implements it today
 * ({@code dicom.pixelmed}); nothing outside that adapter imports the toolkit.
 */
public interface DicomDatasets {

    /** Parses the whole file (so a truncated or malformed dataset fails here) and returns its routing header. */
    InstanceHeader readHeader(Path file) throws DicomDataException;

    /**
     * Reads single-frame slices of one series into a volume in HU, sorted along the slice normal.
     * Fails with a clear message for mixed orientations, mixed sizes, missing or irregular slices, or
     * pixel data it cannot decode.
     */
    Volume readVolume(List<Path> files) throws DicomDataException;

    /**
     * Writes {@code volume} as a derived series next to its source: same patient and study, new
     * deterministic UIDs derived from {@code spec.uidSeed()}, ImageType DERIVED\SECONDARY, references
     * to the source series, one instance per slice of the volume's geometry.
     */
    DerivedSeriesResult writeDerivedSeries(
            List<Path> sourceFiles, Volume volume, DerivedSeriesSpec spec, Path outputDir) throws DicomDataException;

    /**
     * Writes an RGB image stack for reading (not HU) as a derived series of secondary captures beside its source, with
     * the same identity, references and geometry attributes as {@link #writeDerivedSeries}; files are named
     * {@code fileNamePrefix-NNNN.dcm} so that they can share a directory with another derived series.
     */
    DerivedSeriesResult writeColourSeries(
            List<Path> sourceFiles, ColourVolume image, DerivedSeriesSpec spec, String fileNamePrefix, Path outputDir)
            throws DicomDataException;
}
