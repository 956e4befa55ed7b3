package org.meddiff.gateway.tools;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.meddiff.gateway.dicom.DerivedUids;

/**
 * A realistic, fully deterministic synthetic axial CT series for tests, demos and benchmarks.
 *
 * <p>Phantom (HU, smooth edges ~1.5 mm wide like a reconstructed image): air (-1000) around a body
 * ellipse with a fat rim (-100) over soft tissue (40); a spine-like bone disc (700) posteriorly;
 * lung-like ellipses (-800) that grow in over the upper (superior) part of the series; a liver-like
 * region (60) on the patient's right in the lower part; seeded Gaussian noise. The shape changes
 * smoothly along z, so it is also a fair test object for through-plane interpolation.
 *
 * <p>Files are CT Image Storage Part-10 files written by a small self-contained encoder (no DICOM
 * toolkit: the reader under test never checks its own writer's output): Explicit VR Little Endian by
 * default, Implicit VR Little Endian or Explicit VR Big Endian (retired, but still met in the field)
 * on request. Pixel data: unsigned 12-bit stored in 16 (the classic CT encoding, HU clamped to
 * [-1024, 3071]) or signed 16-bit; RescaleIntercept -1024, RescaleSlope 1. Instance 1 is the superior
 * slice at {@code firstSliceZMm}; further instances go inferior (z decreasing), HFS, LPS. Files are
 * named {@code 0001.dcm}, {@code 0002.dcm}, ... (InstanceNumber). Same parameters, same bytes.
 *
 * <p>Command line: {@code java -cp target/quarkus-app/app/*:target/quarkus-app/lib/main/*
 * org.meddiff.gateway.tools.SyntheticCtSeries --out DIR [--slices N] [--size N] [--thickness MM]
 * [--spacing MM] [--pixel-spacing MM] [--seed S] [--description TEXT] [--body-part ABDOMEN]
 * [--implicit | --big-endian] [--signed] [--noise HU] [--study-uid UID] [--series-uid UID]
 * [--series-number N] [--patient-id ID]}.
 */
public final class SyntheticCtSeries {

    public static final String CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2";
    /** Field of view (mm) the default pixel spacing is chosen for. */
    public static final double DEFAULT_FOV_MM = 360.0;
    public static final double RESCALE_INTERCEPT = -1024.0;
    public static final double RESCALE_SLOPE = 1.0;

    private static final String IMPLEMENTATION_CLASS_UID = DerivedUids.fromName("meddiff-gateway/synthetic-ct/implementation");
    private static final String IMPLEMENTATION_VERSION = "MEDDIFF_SYN_1";
    private static final String STUDY_DATE = "20260101";
    private static final String STUDY_TIME = "120000";

    public enum TransferSyntax {
        EXPLICIT_VR_LITTLE_ENDIAN("1.2.840.10008.1.2.1", true, false),
        IMPLICIT_VR_LITTLE_ENDIAN("1.2.840.10008.1.2", false, false),
        EXPLICIT_VR_BIG_ENDIAN("1.2.840.10008.1.2.2", true, true);

        public final String uid;
        final boolean explicitVr;
        final boolean bigEndian;

        TransferSyntax(String uid, boolean explicitVr, boolean bigEndian) {
            this.uid = uid;
            this.explicitVr = explicitVr;
            this.bigEndian = bigEndian;
        }
    }

    /**
     * What to generate. {@code studyInstanceUid}/{@code seriesInstanceUid} may be null: then they are
     * derived from the seed (deterministic). Use {@link #thick} for defaults and the {@code with...}
     * methods to change single values.
     */
    public record Params(
            int rows,
            int columns,
            int slices,
            double sliceThicknessMm,
            double sliceSpacingMm,
            double pixelSpacingMm,
            double firstSliceZMm,
            String seriesDescription,
            String bodyPart,
            String patientId,
            String patientName,
            long seed,
            String studyInstanceUid,
            String seriesInstanceUid,
            int seriesNumber,
            TransferSyntax transferSyntax,
            boolean signedPixels,
            double noiseSigmaHu) {

        public Params {
            if (rows < 8 || columns < 8 || rows > 4096 || columns > 4096) {
                throw new IllegalArgumentException("rows/columns must be in [8, 4096]: " + rows + "x" + columns);
            }
            if (slices < 1) {
                throw new IllegalArgumentException("slices must be >= 1: " + slices);
            }
            if (!(sliceThicknessMm > 0) || !(sliceSpacingMm > 0) || !(pixelSpacingMm > 0)) {
                throw new IllegalArgumentException("thickness, spacing and pixel spacing must be positive");
            }
            if (noiseSigmaHu < 0) {
                throw new IllegalArgumentException("noise sigma must be >= 0");
            }
            if (transferSyntax == null) {
                transferSyntax = TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN;
            }
        }

        /** A thick-slice (5 mm) abdomen series: {@code size x size} pixels over a 360 mm field of view. */
        public static Params thick(int size, int slices) {
            return new Params(size, size, slices, 5.0, 5.0, DEFAULT_FOV_MM / size, 0.0,
                    "Synthetic CT 5mm", "ABDOMEN", "SYN-1", "Synthetic^Phantom", 1L, null, null, 2,
                    TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN, false, 10.0);
        }

        /** 64 x 64 pixels, 16 slices of 5 mm. */
        public static Params thick() {
            return thick(64, 16);
        }

        public Params withSeed(long newSeed) {
            return new Params(rows, columns, slices, sliceThicknessMm, sliceSpacingMm, pixelSpacingMm, firstSliceZMm,
                    seriesDescription, bodyPart, "SYN-" + newSeed, patientName, newSeed, studyInstanceUid,
                    seriesInstanceUid, seriesNumber, transferSyntax, signedPixels, noiseSigmaHu);
        }

        /** Sets thickness and spacing together. */
        public Params withThickness(double mm) {
            return withThicknessAndSpacing(mm, mm);
        }

        public Params withThicknessAndSpacing(double thicknessMm, double spacingMm) {
            return new Params(rows, columns, slices, thicknessMm, spacingMm, pixelSpacingMm, firstSliceZMm,
                    seriesDescription, bodyPart, patientId, patientName, seed, studyInstanceUid, seriesInstanceUid,
                    seriesNumber, transferSyntax, signedPixels, noiseSigmaHu);
        }

        public Params withPixelSpacing(double mm) {
            return new Params(rows, columns, slices, sliceThicknessMm, sliceSpacingMm, mm, firstSliceZMm,
                    seriesDescription, bodyPart, patientId, patientName, seed, studyInstanceUid, seriesInstanceUid,
                    seriesNumber, transferSyntax, signedPixels, noiseSigmaHu);
        }

        public Params withFirstSliceZ(double mm) {
            return new Params(rows, columns, slices, sliceThicknessMm, sliceSpacingMm, pixelSpacingMm, mm,
                    seriesDescription, bodyPart, patientId, patientName, seed, studyInstanceUid, seriesInstanceUid,
                    seriesNumber, transferSyntax, signedPixels, noiseSigmaHu);
        }

        public Params withDescription(String description) {
            return new Params(rows, columns, slices, sliceThicknessMm, sliceSpacingMm, pixelSpacingMm, firstSliceZMm,
                    description, bodyPart, patientId, patientName, seed, studyInstanceUid, seriesInstanceUid,
                    seriesNumber, transferSyntax, signedPixels, noiseSigmaHu);
        }

        public Params withBodyPart(String part) {
            return new Params(rows, columns, slices, sliceThicknessMm, sliceSpacingMm, pixelSpacingMm, firstSliceZMm,
                    seriesDescription, part, patientId, patientName, seed, studyInstanceUid, seriesInstanceUid,
                    seriesNumber, transferSyntax, signedPixels, noiseSigmaHu);
        }

        public Params withPatientId(String id) {
            return new Params(rows, columns, slices, sliceThicknessMm, sliceSpacingMm, pixelSpacingMm, firstSliceZMm,
                    seriesDescription, bodyPart, id, patientName, seed, studyInstanceUid, seriesInstanceUid,
                    seriesNumber, transferSyntax, signedPixels, noiseSigmaHu);
        }

        public Params withUids(String studyUid, String seriesUid) {
            return new Params(rows, columns, slices, sliceThicknessMm, sliceSpacingMm, pixelSpacingMm, firstSliceZMm,
                    seriesDescription, bodyPart, patientId, patientName, seed, studyUid, seriesUid,
                    seriesNumber, transferSyntax, signedPixels, noiseSigmaHu);
        }

        public Params withSeriesNumber(int number) {
            return new Params(rows, columns, slices, sliceThicknessMm, sliceSpacingMm, pixelSpacingMm, firstSliceZMm,
                    seriesDescription, bodyPart, patientId, patientName, seed, studyInstanceUid, seriesInstanceUid,
                    number, transferSyntax, signedPixels, noiseSigmaHu);
        }

        public Params withTransferSyntax(TransferSyntax ts) {
            return new Params(rows, columns, slices, sliceThicknessMm, sliceSpacingMm, pixelSpacingMm, firstSliceZMm,
                    seriesDescription, bodyPart, patientId, patientName, seed, studyInstanceUid, seriesInstanceUid,
                    seriesNumber, ts, signedPixels, noiseSigmaHu);
        }

        public Params withSignedPixels(boolean signed) {
            return new Params(rows, columns, slices, sliceThicknessMm, sliceSpacingMm, pixelSpacingMm, firstSliceZMm,
                    seriesDescription, bodyPart, patientId, patientName, seed, studyInstanceUid, seriesInstanceUid,
                    seriesNumber, transferSyntax, signed, noiseSigmaHu);
        }

        public Params withNoise(double sigmaHu) {
            return new Params(rows, columns, slices, sliceThicknessMm, sliceSpacingMm, pixelSpacingMm, firstSliceZMm,
                    seriesDescription, bodyPart, patientId, patientName, seed, studyInstanceUid, seriesInstanceUid,
                    seriesNumber, transferSyntax, signedPixels, sigmaHu);
        }

        /** StudyInstanceUID: as given, or derived from the seed. */
        public String resolvedStudyUid() {
            return studyInstanceUid != null ? studyInstanceUid : DerivedUids.fromName("meddiff-synthetic-ct/" + seed + "/study");
        }

        /** SeriesInstanceUID: as given, or derived from the seed (and the series number). */
        public String resolvedSeriesUid() {
            return seriesInstanceUid != null ? seriesInstanceUid
                    : DerivedUids.fromName("meddiff-synthetic-ct/" + seed + "/series/" + seriesNumber);
        }

        public String frameOfReferenceUid() {
            return DerivedUids.fromName("meddiff-synthetic-ct/" + seed + "/" + resolvedStudyUid() + "/frame");
        }

        /** SOPInstanceUID of instance {@code instanceNumber} (1-based). */
        public String sopInstanceUid(int instanceNumber) {
            return DerivedUids.fromName("meddiff-synthetic-ct/" + seed + "/" + resolvedSeriesUid() + "/" + instanceNumber);
        }

        /** ImagePositionPatient of instance {@code instanceNumber} (1-based). */
        public double[] imagePosition(int instanceNumber) {
            return new double[] {
                -(columns - 1) / 2.0 * pixelSpacingMm,
                -(rows - 1) / 2.0 * pixelSpacingMm,
                firstSliceZMm - (instanceNumber - 1) * sliceSpacingMm };
        }
    }

    private SyntheticCtSeries() {
    }

    // ------------------------------------------------------------------ phantom

    /**
     * Noise-free phantom value in HU at patient position (x, y) mm relative to the image centre, at
     * relative height {@code zFraction} in [0, 1] (0 = most inferior slice, 1 = most superior) for a
     * field of view {@code fovMm}. Continuous and smooth in all three arguments.
     */
    public static double phantomHu(double xMm, double yMm, double zFraction, double fovMm) {
        double f = fovMm / DEFAULT_FOV_MM; // keep the anatomy inside any field of view
        double edge = 1.5;                 // mm, edge width (partial volume of a reconstruction)
        double bodyScale = 1.0 + 0.06 * Math.sin(Math.PI * zFraction);
        double ax = 150 * f * bodyScale, ay = 110 * f * bodyScale;
        double fatRim = 12 * f;

        double hu = -1000;
        hu += (-100 - -1000) * inside(xMm, yMm, 0, 0, ax, ay, edge);
        hu += (40 - -100) * inside(xMm, yMm, 0, 0, ax - fatRim, ay - fatRim, edge);

        // liver: patient right = -x (LPS), anterior-lateral, lower part of the series
        double liverGrow = smoothstep(0.05, 0.25, zFraction) * (1 - smoothstep(0.5, 0.7, zFraction));
        if (liverGrow > 1e-6) {
            double s = 0.3 + 0.7 * liverGrow;
            hu += (60 - 40) * liverGrow * inside(xMm, yMm, -55 * f, -10 * f, 60 * f * s, 55 * f * s, edge);
        }

        // lungs: upper part of the series, growing in from z = 0.5
        double lungGrow = smoothstep(0.45, 0.75, zFraction);
        if (lungGrow > 1e-6) {
            double s = 0.25 + 0.75 * lungGrow;
            double lungHu = -800 - 40;
            hu += lungHu * lungGrow * inside(xMm, yMm, -65 * f, -5 * f, 50 * f * s, 70 * f * s, edge);
            hu += lungHu * lungGrow * inside(xMm, yMm, 65 * f, -5 * f, 50 * f * s, 70 * f * s, edge);
        }

        // spine-like disc, posterior (+y), with a slight lordotic drift along z
        double spineY = (70 + 6 * Math.cos(Math.PI * zFraction)) * f;
        hu += (700 - 40) * inside(xMm, yMm, 0, spineY, 17 * f, 17 * f, edge);
        return hu;
    }

    /** ~1 inside the ellipse, ~0 outside, smooth transition of width ~edge mm. */
    private static double inside(double x, double y, double cx, double cy, double ax, double ay, double edge) {
        double dx = (x - cx) / ax, dy = (y - cy) / ay;
        double r = Math.sqrt(dx * dx + dy * dy);
        double distance = (r - 1) * Math.min(ax, ay); // approximate signed distance in mm
        return 0.5 * (1 - Math.tanh(distance / edge));
    }

    private static double smoothstep(double a, double b, double v) {
        double t = Math.max(0, Math.min(1, (v - a) / (b - a)));
        return t * t * (3 - 2 * t);
    }

    /** Relative height of instance {@code instanceNumber} (1-based): 1 for the first (superior), 0 for the last. */
    public static double zFraction(Params p, int instanceNumber) {
        return p.slices() == 1 ? 0.5 : 1.0 - (instanceNumber - 1) / (double) (p.slices() - 1);
    }

    /** The HU of one slice, noise included, row-major ({@code [row * columns + column]}). */
    public static float[] sliceHu(Params p, int instanceNumber) {
        float[] out = new float[p.rows() * p.columns()];
        double fov = Math.max(p.rows(), p.columns()) * p.pixelSpacingMm();
        double zf = zFraction(p, instanceNumber);
        Random noise = new Random(p.seed() * 1_000_003L + instanceNumber);
        for (int r = 0; r < p.rows(); r++) {
            double y = (r - (p.rows() - 1) / 2.0) * p.pixelSpacingMm();
            for (int c = 0; c < p.columns(); c++) {
                double x = (c - (p.columns() - 1) / 2.0) * p.pixelSpacingMm();
                double v = phantomHu(x, y, zf, fov);
                if (p.noiseSigmaHu() > 0) {
                    v += noise.nextGaussian() * p.noiseSigmaHu();
                }
                out[r * p.columns() + c] = (float) v;
            }
        }
        return out;
    }

    /** Stored pixel value for a HU value under this encoding (rounded, clamped to the stored range). */
    public static int storedValue(Params p, double hu) {
        long v = Math.round((hu - RESCALE_INTERCEPT) / RESCALE_SLOPE);
        long min = p.signedPixels() ? -32768 : 0;
        long max = p.signedPixels() ? 32767 : 4095;
        return (int) Math.max(min, Math.min(max, v));
    }

    /** The HU a reader must recover from the stored value of {@code hu}. */
    public static double encodedHu(Params p, double hu) {
        return storedValue(p, hu) * RESCALE_SLOPE + RESCALE_INTERCEPT;
    }

    // ------------------------------------------------------------------ writing

    /** Writes the series into {@code dir} (created if needed); returns the files in instance order. */
    public static List<Path> write(Path dir, Params p) throws IOException {
        Files.createDirectories(dir);
        List<Path> files = new ArrayList<>(p.slices());
        for (int i = 1; i <= p.slices(); i++) {
            Path file = dir.resolve(String.format("%04d.dcm", i));
            Files.write(file, encode(p, i));
            files.add(file);
        }
        return files;
    }

    /** The Part-10 bytes of instance {@code instanceNumber} (1-based). */
    public static byte[] encode(Params p, int instanceNumber) {
        String sopInstanceUid = p.sopInstanceUid(instanceNumber);
        double[] ipp = p.imagePosition(instanceNumber);
        boolean signed = p.signedPixels();

        DataSet ds = new DataSet();
        ds.put(0x00080008, "CS", "ORIGINAL\\PRIMARY\\AXIAL");
        ds.put(0x00080012, "DA", STUDY_DATE);
        ds.put(0x00080013, "TM", STUDY_TIME);
        ds.put(0x00080016, "UI", CT_IMAGE_STORAGE);
        ds.put(0x00080018, "UI", sopInstanceUid);
        ds.put(0x00080020, "DA", STUDY_DATE);
        ds.put(0x00080021, "DA", STUDY_DATE);
        ds.put(0x00080022, "DA", STUDY_DATE);
        ds.put(0x00080023, "DA", STUDY_DATE);
        ds.put(0x00080030, "TM", STUDY_TIME);
        ds.put(0x00080031, "TM", STUDY_TIME);
        ds.put(0x00080032, "TM", STUDY_TIME);
        ds.put(0x00080033, "TM", STUDY_TIME);
        ds.put(0x00080050, "SH", "SYN" + Math.abs(p.seed() % 1_000_000_000L));
        ds.put(0x00080060, "CS", "CT");
        ds.put(0x00080070, "LO", "MedDiff Synthetic");
        ds.put(0x00080090, "PN", "");
        ds.put(0x00081030, "LO", "Synthetic CT study");
        ds.put(0x0008103E, "LO", truncate(p.seriesDescription(), 64));
        ds.put(0x00081090, "LO", "Phantom Generator");
        ds.put(0x00100010, "PN", p.patientName());
        ds.put(0x00100020, "LO", truncate(p.patientId(), 64));
        ds.put(0x00100030, "DA", "");
        ds.put(0x00100040, "CS", "O");
        if (p.bodyPart() != null && !p.bodyPart().isBlank()) {
            ds.put(0x00180015, "CS", truncate(p.bodyPart().toUpperCase(), 16));
        }
        ds.put(0x00180050, "DS", ds(p.sliceThicknessMm()));
        ds.put(0x00180060, "DS", "120");
        ds.put(0x00180088, "DS", ds(p.sliceSpacingMm()));
        ds.put(0x00181020, "LO", "meddiff-gateway synthetic");
        ds.put(0x00181210, "SH", "STANDARD");
        ds.put(0x00185100, "CS", "HFS");
        ds.put(0x0020000D, "UI", p.resolvedStudyUid());
        ds.put(0x0020000E, "UI", p.resolvedSeriesUid());
        ds.put(0x00200010, "SH", "1");
        ds.put(0x00200011, "IS", Integer.toString(p.seriesNumber()));
        ds.put(0x00200012, "IS", "1");
        ds.put(0x00200013, "IS", Integer.toString(instanceNumber));
        ds.put(0x00200032, "DS", ds(ipp[0]) + "\\" + ds(ipp[1]) + "\\" + ds(ipp[2]));
        ds.put(0x00200037, "DS", "1\\0\\0\\0\\1\\0");
        ds.put(0x00200052, "UI", p.frameOfReferenceUid());
        ds.put(0x00201040, "LO", "");
        ds.put(0x00201041, "DS", ds(ipp[2]));
        ds.putUs(0x00280002, 1);
        ds.put(0x00280004, "CS", "MONOCHROME2");
        ds.putUs(0x00280010, p.rows());
        ds.putUs(0x00280011, p.columns());
        ds.put(0x00280030, "DS", ds(p.pixelSpacingMm()) + "\\" + ds(p.pixelSpacingMm()));
        ds.putUs(0x00280100, 16);
        ds.putUs(0x00280101, signed ? 16 : 12);
        ds.putUs(0x00280102, signed ? 15 : 11);
        ds.putUs(0x00280103, signed ? 1 : 0);
        ds.put(0x00281050, "DS", "40");
        ds.put(0x00281051, "DS", "400");
        ds.put(0x00281052, "DS", ds(RESCALE_INTERCEPT));
        ds.put(0x00281053, "DS", ds(RESCALE_SLOPE));
        ds.put(0x00281054, "LO", "HU");

        float[] hu = sliceHu(p, instanceNumber);
        short[] pixels = new short[hu.length];
        for (int i = 0; i < hu.length; i++) {
            pixels[i] = (short) storedValue(p, hu[i]);
        }
        ds.putPixels(0x7FE00010, pixels);

        return ds.toPart10(CT_IMAGE_STORAGE, sopInstanceUid, p.transferSyntax());
    }

    /** DS text of at most 16 characters, no exponent for ordinary values, "0" for negative zero. */
    static String ds(double v) {
        if (v == 0) {
            return "0";
        }
        for (int digits = 12; digits >= 1; digits--) {
            String s = new BigDecimal(v).round(new MathContext(digits)).stripTrailingZeros().toPlainString();
            if (s.length() <= 16) {
                return s;
            }
        }
        throw new IllegalArgumentException("value does not fit a DS: " + v);
    }

    private static String truncate(String s, int max) {
        if (s == null) {
            return "";
        }
        return s.length() <= max ? s : s.substring(0, max);
    }

    /** A flat (no sequences) data set with its own Part-10 encoder. */
    private static final class DataSet {
        private record Element(String vr, byte[] textValue, short[] words) {
        }

        private final Map<Integer, Element> elements = new TreeMap<>(Integer::compareUnsigned);

        void put(int tag, String vr, String value) {
            byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
            if (bytes.length % 2 != 0) {
                byte[] padded = new byte[bytes.length + 1];
                System.arraycopy(bytes, 0, padded, 0, bytes.length);
                padded[bytes.length] = (byte) ("UI".equals(vr) ? 0 : ' ');
                bytes = padded;
            }
            elements.put(tag, new Element(vr, bytes, null));
        }

        void putUs(int tag, int value) {
            elements.put(tag, new Element("US", null, new short[] {(short) value}));
        }

        void putPixels(int tag, short[] words) {
            elements.put(tag, new Element("OW", null, words));
        }

        byte[] toPart10(String sopClassUid, String sopInstanceUid, TransferSyntax ts) {
            DataSet meta = new DataSet();
            meta.elements.put(0x00020001, new Element("OB", new byte[] {0, 1}, null));
            meta.put(0x00020002, "UI", sopClassUid);
            meta.put(0x00020003, "UI", sopInstanceUid);
            meta.put(0x00020010, "UI", ts.uid);
            meta.put(0x00020012, "UI", IMPLEMENTATION_CLASS_UID);
            meta.put(0x00020013, "SH", IMPLEMENTATION_VERSION);
            byte[] metaBody = meta.encode(true, false);

            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(new byte[128]);
            out.writeBytes("DICM".getBytes(StandardCharsets.US_ASCII));
            ByteBuffer groupLength = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
            groupLength.putShort((short) 0x0002).putShort((short) 0x0000).put((byte) 'U').put((byte) 'L')
                    .putShort((short) 4).putInt(metaBody.length);
            out.writeBytes(groupLength.array());
            out.writeBytes(metaBody);
            out.writeBytes(encode(ts.explicitVr, ts.bigEndian));
            return out.toByteArray();
        }

        byte[] encode(boolean explicitVr, boolean bigEndian) {
            ByteOrder order = bigEndian ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (Map.Entry<Integer, Element> e : elements.entrySet()) {
                int tag = e.getKey();
                Element el = e.getValue();
                byte[] value;
                if (el.words() != null) {
                    ByteBuffer b = ByteBuffer.allocate(el.words().length * 2).order(order);
                    for (short w : el.words()) {
                        b.putShort(w);
                    }
                    value = b.array();
                } else {
                    value = el.textValue();
                }
                boolean longForm = switch (el.vr()) {
                    case "OB", "OW", "OF", "SQ", "UT", "UN" -> true;
                    default -> false;
                };
                ByteBuffer header = ByteBuffer.allocate(12).order(order);
                header.putShort((short) (tag >>> 16)).putShort((short) tag);
                if (!explicitVr) {
                    header.putInt(value.length);
                } else if (longForm) {
                    header.put((byte) el.vr().charAt(0)).put((byte) el.vr().charAt(1)).putShort((short) 0).putInt(value.length);
                } else {
                    header.put((byte) el.vr().charAt(0)).put((byte) el.vr().charAt(1)).putShort((short) value.length);
                }
                out.write(header.array(), 0, header.position());
                out.writeBytes(value);
            }
            return out.toByteArray();
        }
    }

    // ------------------------------------------------------------------ command line

    public static void main(String[] args) throws IOException {
        Params p = Params.thick(64, 16);
        Path out = null;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--out" -> out = Path.of(args[++i]);
                    case "--slices" -> p = new Params(p.rows(), p.columns(), Integer.parseInt(args[++i]),
                            p.sliceThicknessMm(), p.sliceSpacingMm(), p.pixelSpacingMm(), p.firstSliceZMm(),
                            p.seriesDescription(), p.bodyPart(), p.patientId(), p.patientName(), p.seed(),
                            p.studyInstanceUid(), p.seriesInstanceUid(), p.seriesNumber(), p.transferSyntax(),
                            p.signedPixels(), p.noiseSigmaHu());
                    case "--size" -> {
                        int size = Integer.parseInt(args[++i]);
                        p = new Params(size, size, p.slices(), p.sliceThicknessMm(), p.sliceSpacingMm(),
                                DEFAULT_FOV_MM / size, p.firstSliceZMm(), p.seriesDescription(), p.bodyPart(),
                                p.patientId(), p.patientName(), p.seed(), p.studyInstanceUid(), p.seriesInstanceUid(),
                                p.seriesNumber(), p.transferSyntax(), p.signedPixels(), p.noiseSigmaHu());
                    }
                    case "--thickness" -> p = p.withThickness(Double.parseDouble(args[++i]));
                    case "--spacing" -> p = p.withThicknessAndSpacing(p.sliceThicknessMm(), Double.parseDouble(args[++i]));
                    case "--pixel-spacing" -> p = p.withPixelSpacing(Double.parseDouble(args[++i]));
                    case "--seed" -> p = p.withSeed(Long.parseLong(args[++i]));
                    case "--description" -> p = p.withDescription(args[++i]);
                    case "--body-part" -> p = p.withBodyPart(args[++i]);
                    case "--patient-id" -> p = p.withPatientId(args[++i]);
                    case "--study-uid" -> p = p.withUids(args[++i], p.seriesInstanceUid());
                    case "--series-uid" -> p = p.withUids(p.studyInstanceUid(), args[++i]);
                    case "--series-number" -> p = p.withSeriesNumber(Integer.parseInt(args[++i]));
                    case "--implicit" -> p = p.withTransferSyntax(TransferSyntax.IMPLICIT_VR_LITTLE_ENDIAN);
                    case "--big-endian" -> p = p.withTransferSyntax(TransferSyntax.EXPLICIT_VR_BIG_ENDIAN);
                    case "--signed" -> p = p.withSignedPixels(true);
                    case "--noise" -> p = p.withNoise(Double.parseDouble(args[++i]));
                    case "-h", "--help" -> {
                        usage();
                        return;
                    }
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (out == null) {
                throw new IllegalArgumentException("--out DIR is required");
            }
        } catch (RuntimeException e) {
            System.err.println("SyntheticCtSeries: " + e.getMessage());
            usage();
            System.exit(2);
            return;
        }
        for (String uid : new String[] {p.studyInstanceUid(), p.seriesInstanceUid()}) {
            if (uid != null && !DerivedUids.isValid(uid)) {
                System.err.println("SyntheticCtSeries: invalid UID " + uid);
                System.exit(2);
            }
        }
        List<Path> files = write(out, p);
        System.out.println("wrote " + files.size() + " files to " + out + " study " + p.resolvedStudyUid()
                + " series " + p.resolvedSeriesUid());
    }

    private static void usage() {
        System.err.println("usage: SyntheticCtSeries --out DIR [--slices N] [--size N] [--thickness MM] [--spacing MM]"
                + " [--pixel-spacing MM] [--seed S] [--description TEXT] [--body-part ABDOMEN] [--patient-id ID]"
                + " [--study-uid UID] [--series-uid UID] [--series-number N] [--implicit | --big-endian] [--signed]"
                + " [--noise HU]");
    }
}
