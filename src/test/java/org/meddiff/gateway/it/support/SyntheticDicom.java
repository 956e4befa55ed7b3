package org.meddiff.gateway.it.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * Small, IOD-valid CT series written with DCMTK's dump2dcm (no project code involved), for tests
 * of the harness and of the gateway. Pixel values are HU (RescaleIntercept 0, slope 1): a water
 * disc in air with a denser square; slices 1 mm apart along z.
 */
public final class SyntheticDicom {
    private SyntheticDicom() {}

    /** A new UID under 2.25 (UUID as a decimal number). */
    public static String uid() {
        UUID u = UUID.randomUUID();
        BigInteger b = new BigInteger(
                1,
                ByteBuffer.allocate(16)
                        .putLong(u.getMostSignificantBits())
                        .putLong(u.getLeastSignificantBits())
                        .array());
        return "2.25." + b;
    }

    /** Identity of a written series. */
    public record Series(
            String studyInstanceUid, String seriesInstanceUid, List<String> sopInstanceUids, List<Path> files) {}

    /** {@code slices} CT slices of {@code size}x{@code size} into {@code dir} with fresh study/series UIDs. */
    public static Series ctSeries(Path dir, int slices, int size) {
        return ctSeries(dir, slices, size, uid(), uid(), 1.0);
    }

    public static Series ctSeries(
            Path dir, int slices, int size, String studyUid, String seriesUid, double thicknessMm) {
        Processes.mkdirs(dir);
        String frameOfReference = uid();
        List<String> sops = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        double spacing = 350.0 / size;
        try {
            for (int i = 0; i < slices; i++) {
                String sop = uid();
                double z = i * thicknessMm;
                Path raw = dir.resolve(String.format("CT%04d.raw", i + 1));
                Files.write(raw, pixels(size, i));
                Path dump = dir.resolve(String.format("CT%04d.dump", i + 1));
                Files.writeString(
                        dump,
                        String.join(
                                "\n",
                                "(0008,0005) CS [ISO_IR 100]",
                                "(0008,0008) CS [ORIGINAL\\PRIMARY\\AXIAL]",
                                "(0008,0016) UI =CTImageStorage",
                                "(0008,0018) UI [" + sop + "]",
                                "(0008,0020) DA [20260101]",
                                "(0008,0021) DA [20260101]",
                                "(0008,0030) TM [120000]",
                                "(0008,0031) TM [120000]",
                                "(0008,0050) SH [IT1]",
                                "(0008,0060) CS [CT]",
                                "(0008,0070) LO [MedDiff IT harness]",
                                "(0008,0090) PN []",
                                "(0008,1030) LO [Synthetic CT]",
                                "(0008,103e) LO [Synthetic CT " + fmt(thicknessMm) + " mm]",
                                "(0010,0010) PN [Harness^Test]",
                                "(0010,0020) LO [IT0001]",
                                "(0010,0030) DA []",
                                "(0010,0040) CS [O]",
                                "(0018,0015) CS [CHEST]",
                                "(0018,0050) DS [" + fmt(thicknessMm) + "]",
                                "(0018,0060) DS [120]",
                                "(0018,5100) CS [HFS]",
                                "(0020,000d) UI [" + studyUid + "]",
                                "(0020,000e) UI [" + seriesUid + "]",
                                "(0020,0010) SH [1]",
                                "(0020,0011) IS [1]",
                                "(0020,0012) IS [1]",
                                "(0020,0013) IS [" + (i + 1) + "]",
                                "(0020,0032) DS [-175\\-175\\" + fmt(z) + "]",
                                "(0020,0037) DS [1\\0\\0\\0\\1\\0]",
                                "(0020,0052) UI [" + frameOfReference + "]",
                                "(0020,1040) LO []",
                                "(0020,1041) DS [" + fmt(z) + "]",
                                "(0028,0002) US 1",
                                "(0028,0004) CS [MONOCHROME2]",
                                "(0028,0010) US " + size,
                                "(0028,0011) US " + size,
                                "(0028,0030) DS [" + fmt(spacing) + "\\" + fmt(spacing) + "]",
                                "(0028,0100) US 16",
                                "(0028,0101) US 16",
                                "(0028,0102) US 15",
                                "(0028,0103) US 1",
                                "(0028,1050) DS [40]",
                                "(0028,1051) DS [400]",
                                "(0028,1052) DS [0]",
                                "(0028,1053) DS [1]",
                                "(0028,1054) LO [HU]",
                                "(7fe0,0010) OW =" + raw.getFileName(),
                                ""));
                Path out = dir.resolve(String.format("CT%04d.dcm", i + 1));
                Processes.Result r = Dcmtk.dump2dcm(dump, out);
                if (!r.ok()) {
                    throw new IllegalStateException("dump2dcm failed for " + dump + ": " + r);
                }
                Files.delete(raw);
                Files.delete(dump);
                sops.add(sop);
                files.add(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Series(studyUid, seriesUid, List.copyOf(sops), List.copyOf(files));
    }

    private static byte[] pixels(int n, int slice) {
        ByteBuffer b = ByteBuffer.allocate(n * n * 2).order(ByteOrder.LITTLE_ENDIAN);
        double c = (n - 1) / 2.0;
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) {
                double r = Math.hypot(x - c, y - c);
                short hu = r < 0.4 * n ? (short) 0 : (short) -1000;
                if (Math.abs(x - c) < n / 10.0 && Math.abs(y - c) < n / 10.0) {
                    hu = (short) (300 + 10 * (slice % 10));
                }
                b.putShort(hu);
            }
        }
        return b.array();
    }

    /** A DS value (at most 16 characters). */
    static String fmt(double v) {
        String s = String.format(Locale.ROOT, "%.6f", v).replaceAll("0+$", "").replaceAll("\\.$", "");
        return s.length() <= 16 ? s : s.substring(0, 16);
    }
}
