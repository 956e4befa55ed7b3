package org.meddiff.gateway.dicom.pixelmed;

import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.decimals;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.integer;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.put;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.putDs;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.putUs;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.string;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.strings;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.truncate;
import static org.meddiff.gateway.dicom.pixelmed.Vectors.cross;
import static org.meddiff.gateway.dicom.pixelmed.Vectors.dot;
import static org.meddiff.gateway.dicom.pixelmed.Vectors.normalize;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.pixelmed.dicom.Attribute;
import com.pixelmed.dicom.AttributeList;
import com.pixelmed.dicom.AttributeTag;
import com.pixelmed.dicom.CodedSequenceItem;
import com.pixelmed.dicom.DicomException;
import com.pixelmed.dicom.FileMetaInformation;
import com.pixelmed.dicom.OtherByteAttribute;
import com.pixelmed.dicom.OtherWordAttribute;
import com.pixelmed.dicom.SOPClass;
import com.pixelmed.dicom.SequenceAttribute;
import com.pixelmed.dicom.TagFromName;
import com.pixelmed.dicom.TransferSyntax;
import org.meddiff.gateway.Failures;
import org.meddiff.gateway.dicom.DerivedSeriesResult;
import org.meddiff.gateway.dicom.DerivedSeriesSpec;
import org.meddiff.gateway.dicom.DerivedUids;
import org.meddiff.gateway.dicom.DicomDataException;
import org.meddiff.gateway.volume.ColourVolume;
import org.meddiff.gateway.volume.Volume;
import org.meddiff.gateway.volume.VolumeGeometry;

/**
 * Writes derived series next to their source (same patient and study, new deterministic UIDs, references to the
 * source instances, one instance per slice, each file fsync-ed and renamed into place): CT images in HU, and
 * RGB secondary captures for reading (the colour-fused anomaly series).
 *
 * <p>dciodvfy on a colour series: no errors; warnings only for the attributes kept beyond the Secondary Capture IOD
 * (Image Position/Orientation, Slice Thickness/Location, Spacing Between Slices, Frame of Reference UID, Position
 * Reference Indicator), the "Standard Extended SOP Class" that lets viewers place the images with the CT.
 */
final class DerivedSeriesWriter {

    // Tags PixelMed's TagFromName lacks (acquisition attributes of the CT modules)
    private static final AttributeTag KVP = new AttributeTag(0x0018, 0x0060);
    private static final AttributeTag DATACOLLECTIONDIAMETER = new AttributeTag(0x0018, 0x0090);
    private static final AttributeTag GANTRYDETECTORTILT = new AttributeTag(0x0018, 0x1120);
    private static final AttributeTag ROTATIONDIRECTION = new AttributeTag(0x0018, 0x1140);
    private static final AttributeTag EXPOSURETIME = new AttributeTag(0x0018, 0x1150);
    private static final AttributeTag XRAYTUBECURRENT = new AttributeTag(0x0018, 0x1151);
    private static final AttributeTag EXPOSURE = new AttributeTag(0x0018, 0x1152);
    private static final AttributeTag FILTERTYPE = new AttributeTag(0x0018, 0x1160);
    private static final AttributeTag GENERATORPOWER = new AttributeTag(0x0018, 0x1170);
    private static final AttributeTag FOCALSPOTS = new AttributeTag(0x0018, 0x1190);
    private static final AttributeTag SCANOPTIONS = new AttributeTag(0x0018, 0x0022);
    private static final AttributeTag CTDIVOL = new AttributeTag(0x0018, 0x9345);
    private static final AttributeTag CTDI_PHANTOM_TYPE_CODE_SEQUENCE = new AttributeTag(0x0018, 0x9346);

    /**
     * Patient, patient study, general study, frame of reference, general equipment and general image attributes
     * copied verbatim into every derived image.
     */
    private static final AttributeTag[] COPIED_TAGS = {
        TagFromName.SpecificCharacterSet,
        // Patient
        TagFromName.PatientName,
        TagFromName.PatientID,
        TagFromName.IssuerOfPatientID,
        TagFromName.PatientBirthDate,
        TagFromName.PatientBirthTime,
        TagFromName.PatientSex,
        TagFromName.OtherPatientIDsSequence,
        TagFromName.OtherPatientNames,
        TagFromName.EthnicGroup,
        TagFromName.PatientComments,
        TagFromName.PatientIdentityRemoved,
        TagFromName.DeidentificationMethod,
        TagFromName.DeidentificationMethodCodeSequence,
        // Patient study
        TagFromName.PatientAge,
        TagFromName.PatientSize,
        TagFromName.PatientWeight,
        TagFromName.AdditionalPatientHistory,
        // General study
        TagFromName.StudyInstanceUID,
        TagFromName.StudyDate,
        TagFromName.StudyTime,
        TagFromName.ReferringPhysicianName,
        TagFromName.StudyID,
        TagFromName.AccessionNumber,
        TagFromName.IssuerOfAccessionNumberSequence,
        TagFromName.StudyDescription,
        TagFromName.PhysiciansOfRecord,
        TagFromName.NameOfPhysiciansReadingStudy,
        TagFromName.ProcedureCodeSequence,
        // Frame of reference
        TagFromName.FrameOfReferenceUID,
        TagFromName.PositionReferenceIndicator,
        // General equipment (SoftwareVersions is replaced)
        TagFromName.Manufacturer,
        TagFromName.InstitutionName,
        TagFromName.InstitutionAddress,
        TagFromName.StationName,
        TagFromName.InstitutionalDepartmentName,
        TagFromName.ManufacturerModelName,
        TagFromName.DeviceSerialNumber,
        // General series / general image descriptors that stay true for any derived image
        TagFromName.BodyPartExamined,
        TagFromName.Laterality,
        TagFromName.ProtocolName,
        TagFromName.LossyImageCompression,
        TagFromName.LossyImageCompressionRatio,
        TagFromName.LossyImageCompressionMethod,
    };

    /** Acquisition and CT image descriptors that stay true for a derived CT image (not part of a secondary capture). */
    private static final AttributeTag[] CT_ACQUISITION_TAGS = {
        TagFromName.AcquisitionDate,
        TagFromName.AcquisitionTime,
        SCANOPTIONS,
        DATACOLLECTIONDIAMETER,
        TagFromName.ReconstructionDiameter,
        TagFromName.DistanceSourceToDetector,
        TagFromName.DistanceSourceToPatient,
        GANTRYDETECTORTILT,
        TagFromName.TableHeight,
        ROTATIONDIRECTION,
        EXPOSURETIME,
        XRAYTUBECURRENT,
        EXPOSURE,
        FILTERTYPE,
        GENERATORPOWER,
        FOCALSPOTS,
        TagFromName.ConvolutionKernel,
        CTDIVOL,
        CTDI_PHANTOM_TYPE_CODE_SEQUENCE,
        TagFromName.ContrastBolusAgent,
        TagFromName.ContrastBolusRoute,
    };

    /** Type 2 attributes written empty when the source lacks them. */
    private static final AttributeTag[] TYPE2_TAGS = {
        TagFromName.PatientName, TagFromName.PatientID, TagFromName.PatientBirthDate, TagFromName.PatientSex,
        TagFromName.StudyDate, TagFromName.StudyTime, TagFromName.ReferringPhysicianName, TagFromName.StudyID,
        TagFromName.AccessionNumber, TagFromName.PositionReferenceIndicator, TagFromName.Manufacturer,
    };

    private DerivedSeriesWriter() {}

    /** What the writer needs of each source instance: its identity and where it lies. */
    private record SourceRef(String sopClassUid, String sopInstanceUid, double[] position) {}

    /** Rescale of the derived pixel data: stored = round(HU) - intercept, slope 1. */
    record Rescale(double intercept, double slope) {
        int stored(float hu) {
            double h = Float.isNaN(hu) ? -1024 : hu;
            long v = Math.round((h - intercept) / slope);
            return (int) Math.max(Short.MIN_VALUE, Math.min(Short.MAX_VALUE, v));
        }

        /** Intercept -1024 when the HU range fits signed 16 bits with it, else a shifted intercept, else clamp. */
        static Rescale fitting(float[] hu) {
            long min = Long.MAX_VALUE, max = Long.MIN_VALUE;
            for (float v : hu) {
                if (Float.isNaN(v)) {
                    continue;
                }
                long r = Math.round((double) v);
                if (r < min) min = r;
                if (r > max) max = r;
            }
            if (min > max) {
                return new Rescale(-1024, 1);
            }
            if (min + 1024 >= Short.MIN_VALUE && max + 1024 <= Short.MAX_VALUE) {
                return new Rescale(-1024, 1);
            }
            if (max - min <= 65535) {
                return new Rescale(min - Short.MIN_VALUE, 1);
            }
            return new Rescale(-1024, 1); // wider than 16 bits at 1 HU: clamp the extremes
        }
    }

    /** What differs between the kinds of derived image: their SOP class and modules, and each slice's pixel data. */
    private interface ImageKind {
        /** The SOP class and the attributes of the kind's own modules, given the source's first instance. */
        void describe(AttributeList l, AttributeList source) throws DicomException;

        Attribute pixelData(int slice) throws DicomException;
    }

    /** CT Image Storage, signed 16 bits in HU through the rescale, with the spec's window. */
    private record CtImage(Volume volume, Rescale rescale, DerivedSeriesSpec spec) implements ImageKind {
        @Override
        public void describe(AttributeList l, AttributeList src) throws DicomException {
            for (AttributeTag tag : CT_ACQUISITION_TAGS) {
                Attribute a = src.get(tag);
                if (a != null) {
                    l.put(a);
                }
            }
            copyOrEmpty(src, l, KVP);
            copyOrEmpty(src, l, TagFromName.AcquisitionNumber);
            put(l, TagFromName.SOPClassUID, SOPClass.CTImageStorage);
            putUs(l, TagFromName.SamplesPerPixel, 1);
            put(l, TagFromName.PhotometricInterpretation, "MONOCHROME2");
            putUs(l, TagFromName.BitsAllocated, 16);
            putUs(l, TagFromName.BitsStored, 16);
            putUs(l, TagFromName.HighBit, 15);
            putUs(l, TagFromName.PixelRepresentation, 1);
            putDs(l, TagFromName.RescaleIntercept, rescale.intercept());
            putDs(l, TagFromName.RescaleSlope, rescale.slope());
            put(l, TagFromName.RescaleType, "HU");
            // VOI LUT
            putDs(l, TagFromName.WindowCenter, spec.windowCenter());
            putDs(l, TagFromName.WindowWidth, Math.max(1, spec.windowWidth()));
        }

        @Override
        public Attribute pixelData(int z) throws DicomException {
            VolumeGeometry g = volume.geometry();
            int plane = g.rows() * g.columns();
            short[] pixels = new short[plane];
            float[] voxels = volume.voxels();
            int offset = z * plane;
            for (int i = 0; i < plane; i++) {
                pixels[i] = (short) rescale.stored(voxels[offset + i]);
            }
            OtherWordAttribute pixelData = new OtherWordAttribute(TagFromName.PixelData);
            pixelData.setValues(pixels);
            return pixelData;
        }
    }

    /**
     * Secondary Capture Image Storage, 8-bit RGB (colour by pixel). Image position, orientation and frame of reference
     * stay in as standard extended attributes, so viewers can place and link the fused images with the CT.
     */
    private record ColourImage(ColourVolume image) implements ImageKind {
        @Override
        public void describe(AttributeList l, AttributeList src) throws DicomException {
            put(l, TagFromName.SOPClassUID, SOPClass.SecondaryCaptureImageStorage);
            // SC Equipment: made by a workstation from the CT (the general series says Modality CT)
            put(l, TagFromName.ConversionType, "WSD");
            put(l, TagFromName.SecondaryCaptureDeviceManufacturer, "MedDiff-FM gateway");
            put(l, TagFromName.SecondaryCaptureDeviceSoftwareVersions, PixelMedDatasets.SOFTWARE_VERSION);
            VolumeGeometry g = image.geometry();
            put(
                    l,
                    TagFromName.PatientOrientation,
                    orientationLetters(g.rowDirection()),
                    orientationLetters(g.columnDirection()));
            putUs(l, TagFromName.SamplesPerPixel, 3);
            put(l, TagFromName.PhotometricInterpretation, "RGB");
            putUs(l, TagFromName.PlanarConfiguration, 0);
            putUs(l, TagFromName.BitsAllocated, 8);
            putUs(l, TagFromName.BitsStored, 8);
            putUs(l, TagFromName.HighBit, 7);
            putUs(l, TagFromName.PixelRepresentation, 0);
        }

        @Override
        public Attribute pixelData(int z) throws DicomException {
            VolumeGeometry g = image.geometry();
            int bytes = 3 * g.rows() * g.columns();
            byte[] slice = new byte[bytes];
            System.arraycopy(image.rgb(), z * bytes, slice, 0, bytes);
            OtherByteAttribute pixelData = new OtherByteAttribute(TagFromName.PixelData);
            pixelData.setValues(slice);
            return pixelData;
        }
    }

    static DerivedSeriesResult ct(List<Path> sourceFiles, Volume volume, DerivedSeriesSpec spec, Path outputDir)
            throws DicomDataException {
        return write(
                sourceFiles,
                volume.geometry(),
                spec,
                outputDir,
                "%04d.dcm",
                new CtImage(volume, Rescale.fitting(volume.voxels()), spec));
    }

    static DerivedSeriesResult colour(
            List<Path> sourceFiles, ColourVolume image, DerivedSeriesSpec spec, String fileNamePrefix, Path outputDir)
            throws DicomDataException {
        if (fileNamePrefix == null || !fileNamePrefix.matches("[a-z][a-z0-9-]{0,31}")) {
            throw new DicomDataException(
                    "a colour series needs a file name prefix of lower-case letters, digits and '-', got "
                            + fileNamePrefix);
        }
        return write(
                sourceFiles, image.geometry(), spec, outputDir, fileNamePrefix + "-%04d.dcm", new ColourImage(image));
    }

    private static DerivedSeriesResult write(
            List<Path> sourceFiles,
            VolumeGeometry g,
            DerivedSeriesSpec spec,
            Path outputDir,
            String fileNamePattern,
            ImageKind kind)
            throws DicomDataException {
        if (sourceFiles == null || sourceFiles.isEmpty()) {
            throw new DicomDataException("a derived series needs at least one source file");
        }
        if (spec == null || spec.uidSeed() == null || spec.uidSeed().isBlank()) {
            throw new DicomDataException("a derived series needs a non-empty UID seed");
        }
        if (g.rows() > 65535 || g.columns() > 65535) {
            throw new DicomDataException("image too large for DICOM: " + g.columns() + "x" + g.rows());
        }

        AttributeList template = PixelMedSupport.read(sourceFiles.get(0), true);
        List<SourceRef> sources = new ArrayList<>(sourceFiles.size());
        for (Path file : sourceFiles) {
            AttributeList l = file.equals(sourceFiles.get(0)) ? template : PixelMedSupport.read(file, true);
            String cls = string(l, TagFromName.SOPClassUID);
            String inst = string(l, TagFromName.SOPInstanceUID);
            if (cls == null || inst == null) {
                throw new DicomDataException(file + ": missing SOPClassUID or SOPInstanceUID");
            }
            sources.add(new SourceRef(cls, inst, decimals(l, TagFromName.ImagePositionPatient, 3)));
        }
        String sourceSeriesUid = string(template, TagFromName.SeriesInstanceUID);
        if (string(template, TagFromName.StudyInstanceUID) == null || sourceSeriesUid == null) {
            throw new DicomDataException(sourceFiles.get(0) + ": missing StudyInstanceUID or SeriesInstanceUID");
        }

        String seriesUid = DerivedUids.seriesInstanceUid(spec.uidSeed());
        LocalDateTime now = LocalDateTime.now();
        String date = now.format(DateTimeFormatter.BASIC_ISO_DATE);
        String time = now.format(DateTimeFormatter.ofPattern("HHmmss.SSS", Locale.ROOT));

        try {
            Files.createDirectories(outputDir);
        } catch (IOException e) {
            throw new DicomDataException(outputDir + ": cannot create output directory: " + Failures.reason(e), e);
        }
        List<Path> written = new ArrayList<>(g.slices());
        try {
            AttributeList common = commonAttributes(template, spec, seriesUid, g, date, time);
            kind.describe(common, template);
            double[] normal = normalize(cross(g.rowDirection(), g.columnDirection()));
            for (int z = 0; z < g.slices(); z++) {
                int instanceNumber = z + 1;
                String sopInstanceUid = DerivedUids.sopInstanceUid(spec.uidSeed(), instanceNumber);
                AttributeList list = new AttributeList();
                list.putAll(common);
                put(list, TagFromName.SOPInstanceUID, sopInstanceUid);
                put(list, TagFromName.InstanceNumber, Integer.toString(instanceNumber));
                double[] position = g.slicePosition(z);
                putDs(list, TagFromName.ImagePositionPatient, position);
                putDs(list, TagFromName.SliceLocation, dot(position, normal));
                SourceRef reference = nearest(sources, position, g.sliceDirection());
                list.put(sourceImageSequence(reference));
                // Common Instance Reference module: the series of the instance SourceImageSequence names
                list.put(referencedSeriesSequence(sourceSeriesUid, List.of(reference)));
                list.put(kind.pixelData(z));

                FileMetaInformation.addFileMetaInformation(
                        list, TransferSyntax.ExplicitVRLittleEndian, PixelMedDatasets.SOURCE_AE);
                Path target = outputDir.resolve(String.format(Locale.ROOT, fileNamePattern, instanceNumber));
                writeAtomically(list, target);
                written.add(target);
            }
            fsyncDirectory(outputDir);
        } catch (DicomException e) {
            throw new DicomDataException(
                    "cannot build derived instance in " + outputDir + ": " + Failures.reason(e), e);
        } catch (IOException e) {
            throw new DicomDataException("cannot write derived series to " + outputDir + ": " + Failures.reason(e), e);
        }
        return new DerivedSeriesResult(seriesUid, List.copyOf(written));
    }

    /** The attributes every derived image of the series shares, whatever its kind. */
    private static AttributeList commonAttributes(
            AttributeList src, DerivedSeriesSpec spec, String seriesUid, VolumeGeometry g, String date, String time)
            throws DicomException {
        AttributeList l = new AttributeList();
        for (AttributeTag tag : COPIED_TAGS) {
            Attribute a = src.get(tag);
            if (a != null) {
                l.put(a);
            }
        }
        for (AttributeTag tag : TYPE2_TAGS) {
            if (l.get(tag) == null) {
                put(l, tag);
            }
        }
        if (l.get(TagFromName.FrameOfReferenceUID) == null) {
            // mandatory for CT: derive a stable one from the source series, so every series derived from it shares it
            put(
                    l,
                    TagFromName.FrameOfReferenceUID,
                    DerivedUids.fromName(string(src, TagFromName.SeriesInstanceUID) + "/frame-of-reference"));
        }

        // SOP common
        put(l, TagFromName.InstanceCreationDate, date);
        put(l, TagFromName.InstanceCreationTime, time);

        // General series
        put(l, TagFromName.Modality, "CT");
        put(l, TagFromName.SeriesInstanceUID, seriesUid);
        Integer srcSeriesNumber = integer(src, TagFromName.SeriesNumber);
        long seriesNumber = (srcSeriesNumber == null ? 0L : srcSeriesNumber) + spec.seriesNumberOffset();
        put(
                l,
                TagFromName.SeriesNumber,
                Long.toString(Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, seriesNumber))));
        String srcDescription = string(src, TagFromName.SeriesDescription);
        String suffix =
                spec.descriptionSuffix() == null ? "" : spec.descriptionSuffix().trim();
        String description = srcDescription == null ? suffix : (srcDescription + " " + suffix).trim();
        if (!description.isEmpty()) {
            put(l, TagFromName.SeriesDescription, truncate(description, 64));
        }
        put(l, TagFromName.SeriesDate, date);
        put(l, TagFromName.SeriesTime, time);
        String patientPosition = string(src, TagFromName.PatientPosition);
        put(l, TagFromName.PatientPosition, patientPosition != null ? patientPosition : "HFS");

        // General equipment
        put(l, TagFromName.SoftwareVersions, PixelMedDatasets.SOFTWARE_VERSION);

        // General image
        String[] srcImageType = strings(src, TagFromName.ImageType);
        String third = srcImageType.length >= 3 && !srcImageType[2].isEmpty() ? srcImageType[2] : "AXIAL";
        put(l, TagFromName.ImageType, "DERIVED", "SECONDARY", third);
        put(l, TagFromName.ContentDate, date);
        put(l, TagFromName.ContentTime, time);
        if (spec.derivationDescription() != null
                && !spec.derivationDescription().isBlank()) {
            put(l, TagFromName.DerivationDescription, truncate(spec.derivationDescription(), 1024));
        }
        put(l, TagFromName.BurnedInAnnotation, "NO");

        // Image plane
        putDs(
                l,
                TagFromName.ImageOrientationPatient,
                g.rowDirection()[0],
                g.rowDirection()[1],
                g.rowDirection()[2],
                g.columnDirection()[0],
                g.columnDirection()[1],
                g.columnDirection()[2]);
        putDs(l, TagFromName.PixelSpacing, g.spacingY(), g.spacingX());
        putDs(l, TagFromName.SliceThickness, g.sliceThickness());
        putDs(l, TagFromName.SpacingBetweenSlices, g.spacingZ());

        // Image pixel (the kind adds samples, photometric interpretation and bit depth)
        putUs(l, TagFromName.Rows, g.rows());
        putUs(l, TagFromName.Columns, g.columns());
        return l;
    }

    /** PatientOrientation letters of a direction in LPS: the dominant axis, e.g. (1, 0, 0) -> "L". */
    static String orientationLetters(double[] d) {
        int axis = 0;
        for (int i = 1; i < 3; i++) {
            if (Math.abs(d[i]) > Math.abs(d[axis])) {
                axis = i;
            }
        }
        String positive = "LPH", negative = "RAF";
        return String.valueOf(d[axis] >= 0 ? positive.charAt(axis) : negative.charAt(axis));
    }

    private static void copyOrEmpty(AttributeList src, AttributeList dst, AttributeTag tag) throws DicomException {
        Attribute a = src.get(tag);
        if (a != null) {
            dst.put(a);
        } else {
            put(dst, tag);
        }
    }

    /** The source instance whose position projects closest to {@code position} along the slice direction. */
    private static SourceRef nearest(List<SourceRef> sources, double[] position, double[] direction) {
        SourceRef best = sources.get(0);
        double bestDistance = Double.POSITIVE_INFINITY;
        double target = dot(position, direction);
        for (SourceRef s : sources) {
            if (s.position() == null) {
                continue;
            }
            double d = Math.abs(dot(s.position(), direction) - target);
            if (d < bestDistance) {
                bestDistance = d;
                best = s;
            }
        }
        return best;
    }

    private static SequenceAttribute sourceImageSequence(SourceRef ref) throws DicomException {
        AttributeList item = new AttributeList();
        put(item, TagFromName.ReferencedSOPClassUID, ref.sopClassUid());
        put(item, TagFromName.ReferencedSOPInstanceUID, ref.sopInstanceUid());
        SequenceAttribute purpose = new SequenceAttribute(TagFromName.PurposeOfReferenceCodeSequence);
        purpose.addItem(new CodedSequenceItem("121322", "DCM", "Source image for image processing operation")
                .getAttributeList());
        item.put(purpose);
        SequenceAttribute seq = new SequenceAttribute(TagFromName.SourceImageSequence);
        seq.addItem(item);
        return seq;
    }

    private static SequenceAttribute referencedSeriesSequence(String seriesUid, List<SourceRef> sources)
            throws DicomException {
        Map<String, SourceRef> unique = new LinkedHashMap<>();
        for (SourceRef s : sources) {
            unique.putIfAbsent(s.sopInstanceUid(), s);
        }
        SequenceAttribute instances = new SequenceAttribute(TagFromName.ReferencedInstanceSequence);
        for (SourceRef s : unique.values()) {
            AttributeList item = new AttributeList();
            put(item, TagFromName.ReferencedSOPClassUID, s.sopClassUid());
            put(item, TagFromName.ReferencedSOPInstanceUID, s.sopInstanceUid());
            instances.addItem(item);
        }
        AttributeList seriesItem = new AttributeList();
        put(seriesItem, TagFromName.SeriesInstanceUID, seriesUid);
        seriesItem.put(instances);
        SequenceAttribute seq = new SequenceAttribute(TagFromName.ReferencedSeriesSequence);
        seq.addItem(seriesItem);
        return seq;
    }

    /** Temp file in the same directory, fsync, atomic rename over any previous version. */
    private static void writeAtomically(AttributeList list, Path target) throws IOException, DicomException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(
                            tmp,
                            StandardOpenOption.CREATE,
                            StandardOpenOption.WRITE,
                            StandardOpenOption.TRUNCATE_EXISTING);
                    OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16)) {
                // PixelMed closes the stream it writes to: give it one whose close() only flushes
                list.write(
                        new FilterOutputStream(out) {
                            @Override
                            public void write(byte[] b, int off, int len) throws IOException {
                                out.write(b, off, len);
                            }

                            @Override
                            public void close() throws IOException {
                                out.flush();
                            }
                        },
                        TransferSyntax.ExplicitVRLittleEndian,
                        true,
                        true);
                out.flush();
                channel.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void fsyncDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // not every platform/file system can sync a directory; the files themselves are synced
        }
    }
}
