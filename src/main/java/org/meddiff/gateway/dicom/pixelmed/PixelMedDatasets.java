package org.meddiff.gateway.dicom.pixelmed;

import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.decimal;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.decimals;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.integer;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.intOr;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.put;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.putDs;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.putUs;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.string;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.strings;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.truncate;

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
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

import org.meddiff.gateway.dicom.DerivedSeriesResult;
import org.meddiff.gateway.dicom.DerivedSeriesSpec;
import org.meddiff.gateway.dicom.DerivedUids;
import org.meddiff.gateway.dicom.DicomDataException;
import org.meddiff.gateway.dicom.DicomDatasets;
import org.meddiff.gateway.dicom.InstanceHeader;
import org.meddiff.gateway.volume.Volume;
import org.meddiff.gateway.volume.VolumeGeometry;

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

/**
 * The {@link DicomDatasets} port on PixelMed. Stateless and thread-safe.
 *
 * <h2>Derived series</h2>
 * One CT Image Storage instance per slice of the volume, Explicit VR Little Endian Part-10 files named
 * {@code 0001.dcm}, {@code 0002.dcm}, ... ({@code %04d} of the InstanceNumber, 1..n, in the order of the
 * volume's slices), each written to a hidden temporary file, fsync'ed and atomically renamed; the
 * directory is fsync'ed at the end. SeriesInstanceUID = {@link DerivedUids#seriesInstanceUid(String)}
 * of the spec's seed, SOPInstanceUID of instance i = {@link DerivedUids#sopInstanceUid(String, int)}.
 *
 * <p>Per instance: patient, patient-study, general-study, frame-of-reference and general-equipment
 * attributes copied from the first source file (Type 2 ones written empty if absent), CT acquisition
 * descriptors copied when present (KVP, AcquisitionNumber empty if absent), ImageType
 * DERIVED\SECONDARY\(source value 3 or AXIAL), SeriesDescription = source + " " + suffix (64 chars),
 * SeriesNumber = source + offset, DerivationDescription, SoftwareVersions "meddiff-gateway",
 * SourceImageSequence (nearest source slice along the slice direction, purpose DCM 121322) and a
 * ReferencedSeriesSequence (Common Instance Reference module) naming that instance and its series,
 * geometry from the volume (DS values at most 16 characters), signed 16-bit pixels with RescaleSlope 1
 * and RescaleIntercept -1024 (shifted when the HU range needs it, clamped beyond 65536 HU of range),
 * PatientPosition copied or "HFS".
 *
 * <p>dciodvfy (dicom3tools) on the output: no errors (tests check every file). No warnings for the
 * synthetic series; on a real Siemens source (Mayo L067) only warnings carried over from the source:
 * "Missing attribute or value that would be needed to build DICOMDIR - Study ID" (the source's StudyID
 * is empty) and "Value dubious for this VR - Patient's Name - Retired Person Name form".
 * Non-CT sources are written as CT Image Storage too (Modality CT): the gateway is CT-only.
 */
@ApplicationScoped
public class PixelMedDatasets implements DicomDatasets {

    /** The value written to SoftwareVersions of every derived instance. */
    public static final String SOFTWARE_VERSION = "meddiff-gateway";
    static final String SOURCE_AE = "MEDDIFF_GW";

    /** Orientation cosines may differ this much between slices of one volume. */
    static final double ORIENTATION_TOLERANCE = 1e-3;
    /** Slice spacing may deviate from the median by max(this, 1 %). */
    static final double SPACING_TOLERANCE_MM = 0.05;
    static final double SPACING_TOLERANCE_RELATIVE = 0.01;
    /** A gap this many times the median spacing counts as missing slices rather than irregular spacing. */
    static final double MISSING_SLICE_FACTOR = 1.5;

    private static final String CT_IMAGE_STORAGE = SOPClass.CTImageStorage;

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

    /** Patient, patient study, general study, frame of reference and general equipment attributes copied verbatim. */
    private static final AttributeTag[] COPIED_TAGS = {
        TagFromName.SpecificCharacterSet,
        // Patient
        TagFromName.PatientName, TagFromName.PatientID, TagFromName.IssuerOfPatientID,
        TagFromName.PatientBirthDate, TagFromName.PatientBirthTime, TagFromName.PatientSex,
        TagFromName.OtherPatientIDsSequence, TagFromName.OtherPatientNames, TagFromName.EthnicGroup,
        TagFromName.PatientComments, TagFromName.PatientIdentityRemoved, TagFromName.DeidentificationMethod,
        TagFromName.DeidentificationMethodCodeSequence,
        // Patient study
        TagFromName.PatientAge, TagFromName.PatientSize, TagFromName.PatientWeight,
        TagFromName.AdditionalPatientHistory,
        // General study
        TagFromName.StudyInstanceUID, TagFromName.StudyDate, TagFromName.StudyTime,
        TagFromName.ReferringPhysicianName, TagFromName.StudyID, TagFromName.AccessionNumber,
        TagFromName.IssuerOfAccessionNumberSequence, TagFromName.StudyDescription,
        TagFromName.PhysiciansOfRecord, TagFromName.NameOfPhysiciansReadingStudy, TagFromName.ProcedureCodeSequence,
        // Frame of reference
        TagFromName.FrameOfReferenceUID, TagFromName.PositionReferenceIndicator,
        // General equipment (SoftwareVersions is replaced)
        TagFromName.Manufacturer, TagFromName.InstitutionName, TagFromName.InstitutionAddress,
        TagFromName.StationName, TagFromName.InstitutionalDepartmentName, TagFromName.ManufacturerModelName,
        TagFromName.DeviceSerialNumber,
        // General series / acquisition / CT image descriptors that stay true for the derived images
        TagFromName.BodyPartExamined, TagFromName.Laterality, TagFromName.ProtocolName,
        TagFromName.AcquisitionDate, TagFromName.AcquisitionTime,
        SCANOPTIONS, DATACOLLECTIONDIAMETER, TagFromName.ReconstructionDiameter,
        TagFromName.DistanceSourceToDetector, TagFromName.DistanceSourceToPatient, GANTRYDETECTORTILT,
        TagFromName.TableHeight, ROTATIONDIRECTION, EXPOSURETIME,
        XRAYTUBECURRENT, EXPOSURE, FILTERTYPE, GENERATORPOWER,
        FOCALSPOTS, TagFromName.ConvolutionKernel, CTDIVOL, CTDI_PHANTOM_TYPE_CODE_SEQUENCE,
        TagFromName.ContrastBolusAgent, TagFromName.ContrastBolusRoute,
        TagFromName.LossyImageCompression, TagFromName.LossyImageCompressionRatio,
        TagFromName.LossyImageCompressionMethod,
    };

    /** Type 2 attributes written empty when the source lacks them. */
    private static final AttributeTag[] TYPE2_TAGS = {
        TagFromName.PatientName, TagFromName.PatientID, TagFromName.PatientBirthDate, TagFromName.PatientSex,
        TagFromName.StudyDate, TagFromName.StudyTime, TagFromName.ReferringPhysicianName, TagFromName.StudyID,
        TagFromName.AccessionNumber, TagFromName.PositionReferenceIndicator, TagFromName.Manufacturer,
        KVP, TagFromName.AcquisitionNumber,
    };

    // ------------------------------------------------------------------ readHeader

    @Override
    public InstanceHeader readHeader(Path file) throws DicomDataException {
        // A full read: an image cut exactly before its pixel data is structurally complete, and only
        // reading to the end shows the pixel data missing.
        AttributeList list = PixelMedSupport.read(file, false);
        String sopClass = string(list, TagFromName.SOPClassUID);
        String sopInstance = string(list, TagFromName.SOPInstanceUID);
        String study = string(list, TagFromName.StudyInstanceUID);
        String series = string(list, TagFromName.SeriesInstanceUID);
        List<String> missing = new ArrayList<>();
        if (sopClass == null) missing.add("SOPClassUID");
        if (sopInstance == null) missing.add("SOPInstanceUID");
        if (study == null) missing.add("StudyInstanceUID");
        if (series == null) missing.add("SeriesInstanceUID");
        if (!missing.isEmpty()) {
            throw new DicomDataException(file + ": missing " + String.join(", ", missing));
        }
        return new InstanceHeader(sopClass, sopInstance, study, series,
                string(list, TagFromName.Modality),
                integer(list, TagFromName.SeriesNumber),
                integer(list, TagFromName.InstanceNumber),
                decimal(list, TagFromName.SliceThickness),
                string(list, TagFromName.SeriesDescription),
                string(list, TagFromName.BodyPartExamined),
                List.of(strings(list, TagFromName.ImageType)),
                string(list, TagFromName.DerivationDescription));
    }

    // ------------------------------------------------------------------ readVolume

    /** One decoded slice. */
    private record Slice(Path file, String seriesUid, double[] position, double[] orientation, int rows, int columns,
                         double[] pixelSpacing, Double thickness, float[] hu) {
    }

    @Override
    public Volume readVolume(List<Path> files) throws DicomDataException {
        if (files == null || files.size() < 2) {
            throw new DicomDataException("a volume needs at least 2 slices, got " + (files == null ? 0 : files.size()));
        }
        List<Slice> slices = new ArrayList<>(files.size());
        for (Path file : files) {
            slices.add(readSlice(file));
        }

        Slice ref = slices.get(0);
        for (Slice s : slices) {
            if (!s.seriesUid().equals(ref.seriesUid())) {
                throw new DicomDataException("mixed series: " + s.file() + " belongs to " + s.seriesUid() + ", "
                        + ref.file() + " to " + ref.seriesUid());
            }
            if (s.rows() != ref.rows() || s.columns() != ref.columns()) {
                throw new DicomDataException("mixed image sizes: " + s.file() + " is " + s.columns() + "x" + s.rows()
                        + ", " + ref.file() + " is " + ref.columns() + "x" + ref.rows());
            }
            for (int i = 0; i < 6; i++) {
                if (Math.abs(s.orientation()[i] - ref.orientation()[i]) > ORIENTATION_TOLERANCE) {
                    throw new DicomDataException("mixed orientation: " + s.file() + " has ImageOrientationPatient "
                            + Arrays.toString(s.orientation()) + ", " + ref.file() + " has "
                            + Arrays.toString(ref.orientation()));
                }
            }
            for (int i = 0; i < 2; i++) {
                double a = s.pixelSpacing()[i], b = ref.pixelSpacing()[i];
                if (Math.abs(a - b) > 1e-4 + 1e-3 * Math.abs(b)) {
                    throw new DicomDataException("mixed pixel spacing: " + s.file() + " has "
                            + Arrays.toString(s.pixelSpacing()) + ", " + ref.file() + " has "
                            + Arrays.toString(ref.pixelSpacing()));
                }
            }
        }

        double[] rowRaw = Arrays.copyOfRange(ref.orientation(), 0, 3);
        double[] colRaw = Arrays.copyOfRange(ref.orientation(), 3, 6);
        if (Math.abs(norm(rowRaw) - 1) > 0.01 || Math.abs(norm(colRaw) - 1) > 0.01) {
            throw new DicomDataException(ref.file() + ": ImageOrientationPatient is not made of unit vectors: "
                    + Arrays.toString(ref.orientation()));
        }
        double[] row = normalize(rowRaw);
        double[] col = normalize(colRaw);
        if (Math.abs(dot(row, col)) > ORIENTATION_TOLERANCE) {
            throw new DicomDataException(ref.file() + ": ImageOrientationPatient row and column are not orthogonal: "
                    + Arrays.toString(ref.orientation()));
        }
        double[] normal = normalize(cross(row, col));

        slices.sort(Comparator.comparingDouble(s -> dot(s.position(), normal)));
        int n = slices.size();
        double[] along = new double[n];
        for (int i = 0; i < n; i++) {
            along[i] = dot(slices.get(i).position(), normal);
        }
        double[] gaps = new double[n - 1];
        for (int i = 0; i < n - 1; i++) {
            gaps[i] = along[i + 1] - along[i];
            if (gaps[i] < 1e-3) {
                throw new DicomDataException("duplicate slice position " + fmt(along[i]) + " mm along the normal: "
                        + slices.get(i).file() + " and " + slices.get(i + 1).file());
            }
        }
        double[] first = slices.get(0).position();
        for (int i = 1; i < n; i++) {
            double[] d = sub(slices.get(i).position(), first);
            double a = dot(d, normal);
            double lateral = norm(new double[] {d[0] - a * normal[0], d[1] - a * normal[1], d[2] - a * normal[2]});
            if (lateral > 0.1 + 0.002 * Math.abs(a)) {
                double degrees = Math.toDegrees(Math.atan2(lateral, Math.abs(a)));
                throw new DicomDataException("gantry tilt or sheared stack: " + slices.get(i).file().getFileName()
                        + " is offset " + fmt(lateral) + " mm in-plane from the first slice over " + fmt(a)
                        + " mm along the normal (" + fmt(degrees) + " degrees); only orthogonal stacks are supported");
            }
        }

        double[] sortedGaps = gaps.clone();
        Arrays.sort(sortedGaps);
        double median = sortedGaps.length % 2 == 1 ? sortedGaps[sortedGaps.length / 2]
                : 0.5 * (sortedGaps[sortedGaps.length / 2 - 1] + sortedGaps[sortedGaps.length / 2]);
        double tolerance = Math.max(SPACING_TOLERANCE_MM, SPACING_TOLERANCE_RELATIVE * median);
        for (int i = 0; i < n - 1; i++) {
            if (gaps[i] > MISSING_SLICE_FACTOR * median) {
                long missing = Math.round(gaps[i] / median) - 1;
                throw new DicomDataException("missing slices: gap of " + fmt(gaps[i]) + " mm between positions "
                        + fmt(along[i]) + " and " + fmt(along[i + 1]) + " (" + slices.get(i).file().getFileName()
                        + ", " + slices.get(i + 1).file().getFileName() + ") where the spacing is " + fmt(median)
                        + " mm: about " + Math.max(1, missing) + " slice(s) missing of " + (n + Math.max(1, missing)));
            }
        }
        for (int i = 0; i < n - 1; i++) {
            if (Math.abs(gaps[i] - median) > tolerance) {
                throw new DicomDataException("irregular slice spacing: " + fmt(gaps[i]) + " mm between positions "
                        + fmt(along[i]) + " and " + fmt(along[i + 1]) + " (" + slices.get(i).file().getFileName()
                        + ", " + slices.get(i + 1).file().getFileName() + ") where the median spacing is "
                        + fmt(median) + " mm (tolerance " + fmt(tolerance) + " mm)");
            }
        }
        int rows = ref.rows(), columns = ref.columns(), plane = rows * columns;
        float[] voxels = new float[plane * n];
        for (int z = 0; z < n; z++) {
            System.arraycopy(slices.get(z).hu(), 0, voxels, z * plane, plane);
        }
        double spacingZ = (along[n - 1] - along[0]) / (n - 1);
        Double thickness = slices.get(0).thickness();
        VolumeGeometry geometry = new VolumeGeometry(columns, rows, n, first.clone(), row, col, normal,
                ref.pixelSpacing()[1], ref.pixelSpacing()[0], spacingZ,
                thickness != null && thickness > 0 ? thickness : spacingZ);
        return new Volume(geometry, voxels);
    }

    private Slice readSlice(Path file) throws DicomDataException {
        AttributeList list = PixelMedSupport.read(file, false);
        String ts = string(list, TagFromName.TransferSyntaxUID);
        if (ts != null && !PixelMedSupport.NATIVE_TRANSFER_SYNTAXES.contains(ts)) {
            throw new DicomDataException(file + ": compressed transfer syntax " + ts + " is not supported");
        }
        String series = string(list, TagFromName.SeriesInstanceUID);
        if (series == null) {
            throw new DicomDataException(file + ": missing SeriesInstanceUID");
        }
        int frames = intOr(list, TagFromName.NumberOfFrames, 1);
        if (frames > 1) {
            throw new DicomDataException(file + ": multi-frame images (" + frames + " frames) are not supported");
        }
        double[] position = decimals(list, TagFromName.ImagePositionPatient, 3);
        double[] orientation = decimals(list, TagFromName.ImageOrientationPatient, 6);
        double[] spacing = decimals(list, TagFromName.PixelSpacing, 2);
        if (position == null) throw new DicomDataException(file + ": missing or malformed ImagePositionPatient");
        if (orientation == null) throw new DicomDataException(file + ": missing or malformed ImageOrientationPatient");
        if (spacing == null || spacing[0] <= 0 || spacing[1] <= 0) {
            throw new DicomDataException(file + ": missing or malformed PixelSpacing");
        }
        int rows = intOr(list, TagFromName.Rows, 0);
        int columns = intOr(list, TagFromName.Columns, 0);
        if (rows <= 0 || columns <= 0) {
            throw new DicomDataException(file + ": missing Rows/Columns");
        }
        return new Slice(file, series, position, orientation, rows, columns, spacing,
                decimal(list, TagFromName.SliceThickness), decodeHu(file, list, rows, columns));
    }

    /** Native monochrome pixel data to HU: mask to BitsStored, sign-extend if PixelRepresentation is 1, rescale. */
    private static float[] decodeHu(Path file, AttributeList list, int rows, int columns) throws DicomDataException {
        int samples = intOr(list, TagFromName.SamplesPerPixel, 1);
        String photometric = string(list, TagFromName.PhotometricInterpretation);
        if (samples != 1 || (photometric != null && !photometric.startsWith("MONOCHROME"))) {
            throw new DicomDataException(file + ": not a monochrome image (SamplesPerPixel " + samples
                    + ", PhotometricInterpretation " + photometric + ")");
        }
        int bitsAllocated = intOr(list, TagFromName.BitsAllocated, 0);
        int bitsStored = intOr(list, TagFromName.BitsStored, bitsAllocated);
        int highBit = intOr(list, TagFromName.HighBit, bitsStored - 1);
        boolean signed = intOr(list, TagFromName.PixelRepresentation, 0) == 1;
        if ((bitsAllocated != 16 && bitsAllocated != 8) || bitsStored < 1 || bitsStored > bitsAllocated
                || highBit != bitsStored - 1) {
            throw new DicomDataException(file + ": unsupported pixel encoding (BitsAllocated " + bitsAllocated
                    + ", BitsStored " + bitsStored + ", HighBit " + highBit + ")");
        }
        Double slopeValue = decimal(list, TagFromName.RescaleSlope);
        Double interceptValue = decimal(list, TagFromName.RescaleIntercept);
        double slope = slopeValue == null || slopeValue == 0 ? 1.0 : slopeValue;
        double intercept = interceptValue == null ? 0.0 : interceptValue;

        Attribute pixelData = list.get(TagFromName.PixelData);
        if (pixelData == null) {
            throw new DicomDataException(file + ": no PixelData");
        }
        int count = rows * columns;
        int[] raw = new int[count];
        try {
            if (bitsAllocated == 16) {
                short[] words;
                if (pixelData instanceof OtherByteAttribute) { // implicit VR read as OB: little-endian bytes
                    byte[] b = pixelData.getByteValues();
                    words = new short[b.length / 2];
                    for (int i = 0; i < words.length; i++) {
                        words[i] = (short) ((b[2 * i] & 0xff) | (b[2 * i + 1] & 0xff) << 8);
                    }
                } else {
                    words = pixelData.getShortValues();
                }
                if (words == null || words.length < count) {
                    throw new DicomDataException(file + ": truncated PixelData (" + (words == null ? 0 : words.length)
                            + " of " + count + " pixels)");
                }
                for (int i = 0; i < count; i++) {
                    raw[i] = words[i] & 0xffff;
                }
            } else {
                byte[] bytes = pixelData instanceof OtherWordAttribute ? pixelData.getByteValues(false)
                        : pixelData.getByteValues();
                if (bytes == null || bytes.length < count) {
                    throw new DicomDataException(file + ": truncated PixelData (" + (bytes == null ? 0 : bytes.length)
                            + " of " + count + " pixels)");
                }
                for (int i = 0; i < count; i++) {
                    raw[i] = bytes[i] & 0xff;
                }
            }
        } catch (DicomException e) {
            throw new DicomDataException(file + ": cannot decode PixelData: " + e.getMessage(), e);
        }
        int mask = bitsStored >= 32 ? -1 : (1 << bitsStored) - 1;
        int shift = 32 - bitsStored;
        float[] hu = new float[count];
        for (int i = 0; i < count; i++) {
            int v = raw[i] & mask;
            if (signed) {
                v = (v << shift) >> shift;
            }
            hu[i] = (float) (v * slope + intercept);
        }
        return hu;
    }

    // ------------------------------------------------------------------ writeDerivedSeries

    /** What the writer needs of each source instance: its identity and where it lies. */
    private record SourceRef(String sopClassUid, String sopInstanceUid, double[] position) {
    }

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

    @Override
    public DerivedSeriesResult writeDerivedSeries(List<Path> sourceFiles, Volume volume, DerivedSeriesSpec spec,
                                                  Path outputDir) throws DicomDataException {
        if (sourceFiles == null || sourceFiles.isEmpty()) {
            throw new DicomDataException("a derived series needs at least one source file");
        }
        if (spec == null || spec.uidSeed() == null || spec.uidSeed().isBlank()) {
            throw new DicomDataException("a derived series needs a non-empty UID seed");
        }
        VolumeGeometry g = volume.geometry();
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
        Rescale rescale = Rescale.fitting(volume.voxels());

        try {
            Files.createDirectories(outputDir);
        } catch (IOException e) {
            throw new DicomDataException(outputDir + ": cannot create output directory: " + e.getMessage(), e);
        }
        List<Path> written = new ArrayList<>(g.slices());
        try {
            AttributeList common = commonAttributes(template, sources, spec, seriesUid, g, rescale, date, time);
            double[] normal = normalize(cross(g.rowDirection(), g.columnDirection()));
            int plane = g.rows() * g.columns();
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

                short[] pixels = new short[plane];
                float[] voxels = volume.voxels();
                int offset = z * plane;
                for (int i = 0; i < plane; i++) {
                    pixels[i] = (short) rescale.stored(voxels[offset + i]);
                }
                OtherWordAttribute pixelData = new OtherWordAttribute(TagFromName.PixelData);
                pixelData.setValues(pixels);
                list.put(pixelData);

                FileMetaInformation.addFileMetaInformation(list, TransferSyntax.ExplicitVRLittleEndian, SOURCE_AE);
                Path target = outputDir.resolve(String.format(Locale.ROOT, "%04d.dcm", instanceNumber));
                writeAtomically(list, target);
                written.add(target);
            }
            fsyncDirectory(outputDir);
        } catch (DicomException e) {
            throw new DicomDataException("cannot build derived instance in " + outputDir + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new DicomDataException("cannot write derived series to " + outputDir + ": " + e.getMessage(), e);
        }
        return new DerivedSeriesResult(seriesUid, List.copyOf(written));
    }

    private AttributeList commonAttributes(AttributeList src, List<SourceRef> sources, DerivedSeriesSpec spec,
                                           String seriesUid, VolumeGeometry g, Rescale rescale, String date,
                                           String time) throws DicomException {
        AttributeList l = new AttributeList();
        for (AttributeTag tag : COPIED_TAGS) {
            Attribute a = src.get(tag);
            if (a != null) {
                l.put(a);
            }
        }
        copyOrEmpty(src, l, KVP);
        copyOrEmpty(src, l, TagFromName.AcquisitionNumber);
        for (AttributeTag tag : TYPE2_TAGS) {
            if (l.get(tag) == null) {
                put(l, tag);
            }
        }
        if (l.get(TagFromName.FrameOfReferenceUID) == null) { // mandatory for CT: derive one that stays stable
            put(l, TagFromName.FrameOfReferenceUID, DerivedUids.fromName(spec.uidSeed() + "/frame-of-reference"));
        }

        // SOP common
        put(l, TagFromName.SOPClassUID, CT_IMAGE_STORAGE);
        put(l, TagFromName.InstanceCreationDate, date);
        put(l, TagFromName.InstanceCreationTime, time);

        // General series
        put(l, TagFromName.Modality, "CT");
        put(l, TagFromName.SeriesInstanceUID, seriesUid);
        Integer srcSeriesNumber = integer(src, TagFromName.SeriesNumber);
        long seriesNumber = (srcSeriesNumber == null ? 0L : srcSeriesNumber) + spec.seriesNumberOffset();
        put(l, TagFromName.SeriesNumber, Long.toString(Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, seriesNumber))));
        String srcDescription = string(src, TagFromName.SeriesDescription);
        String suffix = spec.descriptionSuffix() == null ? "" : spec.descriptionSuffix().trim();
        String description = srcDescription == null ? suffix : (srcDescription + " " + suffix).trim();
        if (!description.isEmpty()) {
            put(l, TagFromName.SeriesDescription, truncate(description, 64));
        }
        put(l, TagFromName.SeriesDate, date);
        put(l, TagFromName.SeriesTime, time);
        String patientPosition = string(src, TagFromName.PatientPosition);
        put(l, TagFromName.PatientPosition, patientPosition != null ? patientPosition : "HFS");

        // General equipment
        put(l, TagFromName.SoftwareVersions, SOFTWARE_VERSION);

        // General image
        String[] srcImageType = strings(src, TagFromName.ImageType);
        String third = srcImageType.length >= 3 && !srcImageType[2].isEmpty() ? srcImageType[2] : "AXIAL";
        put(l, TagFromName.ImageType, "DERIVED", "SECONDARY", third);
        put(l, TagFromName.ContentDate, date);
        put(l, TagFromName.ContentTime, time);
        if (spec.derivationDescription() != null && !spec.derivationDescription().isBlank()) {
            put(l, TagFromName.DerivationDescription, truncate(spec.derivationDescription(), 1024));
        }
        put(l, TagFromName.BurnedInAnnotation, "NO");


        // Image plane
        putDs(l, TagFromName.ImageOrientationPatient,
                g.rowDirection()[0], g.rowDirection()[1], g.rowDirection()[2],
                g.columnDirection()[0], g.columnDirection()[1], g.columnDirection()[2]);
        putDs(l, TagFromName.PixelSpacing, g.spacingY(), g.spacingX());
        putDs(l, TagFromName.SliceThickness, g.sliceThickness());
        putDs(l, TagFromName.SpacingBetweenSlices, g.spacingZ());

        // Image pixel + CT image
        putUs(l, TagFromName.SamplesPerPixel, 1);
        put(l, TagFromName.PhotometricInterpretation, "MONOCHROME2");
        putUs(l, TagFromName.Rows, g.rows());
        putUs(l, TagFromName.Columns, g.columns());
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
        return l;
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
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
                 OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16)) {
                // PixelMed closes the stream it writes to: give it one whose close() only flushes
                list.write(new FilterOutputStream(out) {
                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        out.write(b, off, len);
                    }

                    @Override
                    public void close() throws IOException {
                        out.flush();
                    }
                }, TransferSyntax.ExplicitVRLittleEndian, true, true);
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

    // ------------------------------------------------------------------ vector helpers

    private static double dot(double[] a, double[] b) {
        return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    }

    private static double[] cross(double[] a, double[] b) {
        return new double[] {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
    }

    private static double[] sub(double[] a, double[] b) {
        return new double[] {a[0] - b[0], a[1] - b[1], a[2] - b[2]};
    }

    private static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    private static double[] normalize(double[] a) {
        double n = norm(a);
        if (!(n > 1e-6)) {
            return a.clone();
        }
        return new double[] {a[0] / n, a[1] / n, a[2] / n};
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }
}
