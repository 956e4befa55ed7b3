package org.meddiff.gateway.tools;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import org.meddiff.gateway.dicom.DerivedUids;
import org.meddiff.gateway.fixtures.SyntheticCtSeries;
import org.meddiff.gateway.fixtures.SyntheticCtSeries.Params;
import org.meddiff.gateway.fixtures.SyntheticCtSeries.TransferSyntax;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Writes a synthetic CT series (the test suite's fixture) for a first try of the gateway or a benchmark. */
@Command(
        name = "synthetic-ct",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = "Writes a synthetic CT series (CT Image Storage Part-10 files, one per slice) into a folder.")
public final class SyntheticCtCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "folder to write (created)")
    Path out;

    @Option(names = "--slices", defaultValue = "16", description = "number of slices")
    int slices;

    @Option(names = "--size", defaultValue = "64", description = "rows and columns over a 360 mm field of view")
    int size;

    @Option(names = "--thickness", description = "slice thickness and spacing in mm (default 5)")
    Double thicknessMm;

    @Option(names = "--spacing", description = "slice spacing in mm, when it differs from the thickness")
    Double spacingMm;

    @Option(names = "--pixel-spacing", description = "pixel spacing in mm instead of 360 mm / size")
    Double pixelSpacingMm;

    @Option(names = "--seed", description = "noise and UID seed")
    Long seed;

    @Option(names = "--description", description = "SeriesDescription")
    String description;

    @Option(names = "--body-part", description = "BodyPartExamined (default ABDOMEN)")
    String bodyPart;

    @Option(names = "--patient-id", description = "PatientID")
    String patientId;

    @Option(names = "--study-uid", description = "StudyInstanceUID (default: derived from the seed)")
    String studyUid;

    @Option(names = "--series-uid", description = "SeriesInstanceUID (default: derived from the seed)")
    String seriesUid;

    @Option(names = "--series-number", description = "SeriesNumber")
    Integer seriesNumber;

    @ArgGroup(exclusive = true)
    Encoding encoding;

    @Option(names = "--signed", description = "signed 16-bit pixels instead of unsigned 12 in 16")
    boolean signed;

    @Option(names = "--noise", description = "Gaussian noise sigma in HU (default 10)")
    Double noiseHu;

    /** The transfer syntax when not Explicit VR Little Endian. */
    static final class Encoding {
        @Option(names = "--implicit", description = "Implicit VR Little Endian")
        boolean implicit;

        @Option(names = "--big-endian", description = "Explicit VR Big Endian (retired, still met in the field)")
        boolean bigEndian;
    }

    public static void main(String[] args) {
        ToolMain.run(new SyntheticCtCommand(), args);
    }

    @Override
    public Integer call() throws IOException {
        Params p = Params.thick(size, slices);
        if (thicknessMm != null) {
            p = p.withThickness(thicknessMm);
        }
        if (spacingMm != null) {
            p = p.withThicknessAndSpacing(p.sliceThicknessMm(), spacingMm);
        }
        if (pixelSpacingMm != null) {
            p = p.withPixelSpacing(pixelSpacingMm);
        }
        if (seed != null) {
            p = p.withSeed(seed);
        }
        if (description != null) {
            p = p.withDescription(description);
        }
        if (bodyPart != null) {
            p = p.withBodyPart(bodyPart);
        }
        if (patientId != null) {
            p = p.withPatientId(patientId);
        }
        for (String uid : new String[] {studyUid, seriesUid}) {
            if (uid != null && !DerivedUids.isValid(uid)) {
                throw new IllegalArgumentException("invalid UID " + uid);
            }
        }
        if (studyUid != null || seriesUid != null) {
            p = p.withUids(
                    studyUid != null ? studyUid : p.studyInstanceUid(),
                    seriesUid != null ? seriesUid : p.seriesInstanceUid());
        }
        if (seriesNumber != null) {
            p = p.withSeriesNumber(seriesNumber);
        }
        if (encoding != null) {
            p = p.withTransferSyntax(
                    encoding.implicit
                            ? TransferSyntax.IMPLICIT_VR_LITTLE_ENDIAN
                            : TransferSyntax.EXPLICIT_VR_BIG_ENDIAN);
        }
        if (signed) {
            p = p.withSignedPixels(true);
        }
        if (noiseHu != null) {
            p = p.withNoise(noiseHu);
        }
        List<Path> files = SyntheticCtSeries.write(out, p);
        System.out.println("wrote " + files.size() + " files to " + out + " study " + p.resolvedStudyUid() + " series "
                + p.resolvedSeriesUid());
        return 0;
    }
}
