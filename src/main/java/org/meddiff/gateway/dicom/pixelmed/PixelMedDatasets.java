package org.meddiff.gateway.dicom.pixelmed;

import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.decimal;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.decimals;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.intOr;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.integer;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.string;
import static org.meddiff.gateway.dicom.pixelmed.PixelMedSupport.strings;
import static org.meddiff.gateway.dicom.pixelmed.Vectors.cross;
import static org.meddiff.gateway.dicom.pixelmed.Vectors.dot;
import static org.meddiff.gateway.dicom.pixelmed.Vectors.norm;
import static org.meddiff.gateway.dicom.pixelmed.Vectors.normalize;
import static org.meddiff.gateway.dicom.pixelmed.Vectors.sub;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

import jakarta.enterprise.context.ApplicationScoped;

import com.pixelmed.dicom.Attribute;
import com.pixelmed.dicom.AttributeList;
import com.pixelmed.dicom.AttributeTag;
import com.pixelmed.dicom.DicomException;
import com.pixelmed.dicom.OtherByteAttribute;
import com.pixelmed.dicom.OtherWordAttribute;
import com.pixelmed.dicom.TagFromName;
import org.meddiff.gateway.dicom.DerivedSeriesResult;
import org.meddiff.gateway.dicom.DerivedSeriesSpec;
import org.meddiff.gateway.dicom.DerivedUids;
import org.meddiff.gateway.dicom.DicomDataException;
import org.meddiff.gateway.dicom.DicomDatasets;
import org.meddiff.gateway.dicom.InstanceHeader;
import org.meddiff.gateway.volume.ColourVolume;
import org.meddiff.gateway.volume.Volume;
import org.meddiff.gateway.volume.VolumeGeometry;

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

    // ------------------------------------------------------------------ readHeader

    @Override
    public InstanceHeader readHeader(Path file) throws DicomDataException {
        // A full read: an image cut exactly before its pixel data is structurally complete, and only
        // reading to the end shows the pixel data missing.
        AttributeList list = PixelMedSupport.read(file, false);
        String sopClass = string(list, TagFromName.SOPClassUID);
        String sopInstance = allValues(list, TagFromName.SOPInstanceUID);
        String study = allValues(list, TagFromName.StudyInstanceUID);
        String series = allValues(list, TagFromName.SeriesInstanceUID);
        List<String> missing = new ArrayList<>();
        if (sopClass == null) missing.add("SOPClassUID");
        if (sopInstance == null) missing.add("SOPInstanceUID");
        if (study == null) missing.add("StudyInstanceUID");
        if (series == null) missing.add("SeriesInstanceUID");
        if (!missing.isEmpty()) {
            throw new DicomDataException(file + ": missing " + String.join(", ", missing));
        }
        return new InstanceHeader(
                sopClass,
                sopInstance,
                study,
                series,
                string(list, TagFromName.Modality),
                integer(list, TagFromName.SeriesNumber),
                integer(list, TagFromName.InstanceNumber),
                decimal(list, TagFromName.SliceThickness),
                string(list, TagFromName.SeriesDescription),
                string(list, TagFromName.BodyPartExamined),
                List.of(strings(list, TagFromName.ImageType)),
                string(list, TagFromName.DerivationDescription));
    }

    /**
     * The UIDs that become path names, with every value they carry ("1.2.3\\..\\x" stays whole): the first value
     * alone is a valid UID the sender never meant, and the file would be stored under it.
     */
    private static String allValues(AttributeList list, AttributeTag tag) {
        String s = Attribute.getDelimitedStringValuesOrNull(list, tag);
        if (s == null) {
            return null;
        }
        // only the padding goes (NUL, spaces): String.trim() also took control characters, so "1.2.3" and a control
        // byte became a valid UID the file itself does not carry
        int start = 0;
        int end = s.length();
        while (end > start && (s.charAt(end - 1) == ' ' || s.charAt(end - 1) == 0)) {
            end--;
        }
        while (start < end && s.charAt(start) == ' ') {
            start++;
        }
        return start == end ? null : s.substring(start, end);
    }

    // ------------------------------------------------------------------ readVolume

    /** One decoded slice. */
    private record Slice(
            Path file,
            String seriesUid,
            double[] position,
            double[] orientation,
            int rows,
            int columns,
            double[] pixelSpacing,
            Double thickness,
            float[] hu) {}

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
                throw new DicomDataException("gantry tilt or sheared stack: "
                        + slices.get(i).file().getFileName()
                        + " is offset " + fmt(lateral) + " mm in-plane from the first slice over " + fmt(a)
                        + " mm along the normal (" + fmt(degrees) + " degrees); only orthogonal stacks are supported");
            }
        }

        double[] sortedGaps = gaps.clone();
        Arrays.sort(sortedGaps);
        double median = sortedGaps.length % 2 == 1
                ? sortedGaps[sortedGaps.length / 2]
                : 0.5 * (sortedGaps[sortedGaps.length / 2 - 1] + sortedGaps[sortedGaps.length / 2]);
        double tolerance = Math.max(SPACING_TOLERANCE_MM, SPACING_TOLERANCE_RELATIVE * median);
        for (int i = 0; i < n - 1; i++) {
            if (gaps[i] > MISSING_SLICE_FACTOR * median) {
                long missing = Math.round(gaps[i] / median) - 1;
                throw new DicomDataException("missing slices: gap of " + fmt(gaps[i]) + " mm between positions "
                        + fmt(along[i]) + " and " + fmt(along[i + 1]) + " ("
                        + slices.get(i).file().getFileName()
                        + ", " + slices.get(i + 1).file().getFileName() + ") where the spacing is " + fmt(median)
                        + " mm: about " + Math.max(1, missing) + " slice(s) missing of " + (n + Math.max(1, missing)));
            }
        }
        for (int i = 0; i < n - 1; i++) {
            if (Math.abs(gaps[i] - median) > tolerance) {
                throw new DicomDataException("irregular slice spacing: " + fmt(gaps[i]) + " mm between positions "
                        + fmt(along[i]) + " and " + fmt(along[i + 1]) + " ("
                        + slices.get(i).file().getFileName()
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
        VolumeGeometry geometry = new VolumeGeometry(
                columns,
                rows,
                n,
                first.clone(),
                row,
                col,
                normal,
                ref.pixelSpacing()[1],
                ref.pixelSpacing()[0],
                spacingZ,
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
        return new Slice(
                file,
                series,
                position,
                orientation,
                rows,
                columns,
                spacing,
                decimal(list, TagFromName.SliceThickness),
                decodeHu(file, list, rows, columns));
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
        if ((bitsAllocated != 16 && bitsAllocated != 8)
                || bitsStored < 1
                || bitsStored > bitsAllocated
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
                byte[] bytes = pixelData instanceof OtherWordAttribute
                        ? pixelData.getByteValues(false)
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

    // ------------------------------------------------------------------ derived series (DerivedSeriesWriter)

    @Override
    public DerivedSeriesResult writeDerivedSeries(
            List<Path> sourceFiles, Volume volume, DerivedSeriesSpec spec, Path outputDir) throws DicomDataException {
        return DerivedSeriesWriter.ct(sourceFiles, volume, spec, outputDir);
    }

    @Override
    public DerivedSeriesResult writeColourSeries(
            List<Path> sourceFiles, ColourVolume image, DerivedSeriesSpec spec, String fileNamePrefix, Path outputDir)
            throws DicomDataException {
        return DerivedSeriesWriter.colour(sourceFiles, image, spec, fileNamePrefix, outputDir);
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }
}
