package org.meddiff.gateway.tools;

import java.util.Arrays;

import org.meddiff.gateway.infer.diffusion.FloatVolume;

/**
 * Image-quality and detection metrics of the evaluation, as meddiff.evaluate computes them: both images clipped to
 * the [-160, 240] HU window and scaled to [0, 1] (data range = window width 400 HU); PSNR over the whole block; SSIM
 * 2-D per axial slice with skimage's defaults; rank AUROC.
 */
public final class ImageMetrics {
    static final double WIN_LO = -160;
    static final double WIN_HI = 240;
    /** PSNR cap when the images are identical in the window. */
    public static final double PSNR_CAP = 100;

    private ImageMetrics() {}

    static float[] windowed(FloatVolume v) {
        float[] out = new float[v.size()];
        float[] d = v.data();
        for (int i = 0; i < d.length; i++) {
            out[i] = (float) ((Math.min(WIN_HI, Math.max(WIN_LO, d[i])) - WIN_LO) / (WIN_HI - WIN_LO));
        }
        return out;
    }

    /** PSNR in the [-160, 240] HU window (data range 1 after scaling), capped at {@link #PSNR_CAP}. */
    public static double psnr(FloatVolume a, FloatVolume ref) {
        a.requireSameShape(ref, "psnr");
        float[] x = windowed(a);
        float[] y = windowed(ref);
        double se = 0;
        for (int i = 0; i < x.length; i++) {
            double d = x[i] - y[i];
            se += d * d;
        }
        double mse = se / x.length;
        return mse <= 0 ? PSNR_CAP : Math.min(PSNR_CAP, 10 * Math.log10(1.0 / mse));
    }

    /** Mean over axial slices of 2-D SSIM (skimage defaults: 7x7 uniform window, sample covariance), window-scaled. */
    public static double ssim2d(FloatVolume a, FloatVolume ref) {
        a.requireSameShape(ref, "ssim");
        float[] x = windowed(a);
        float[] y = windowed(ref);
        int h = a.height();
        int w = a.width();
        int win = 7;
        int r = win / 2;
        double np = win * win;
        double cov = np / (np - 1);
        double c1 = 0.01 * 0.01;
        double c2 = 0.03 * 0.03;
        double sum = 0;
        for (int z = 0; z < a.depth(); z++) {
            int off = z * h * w;
            double s = 0;
            int n = 0;
            for (int cy = r; cy < h - r; cy++) {
                for (int cx = r; cx < w - r; cx++) {
                    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
                    for (int dy = -r; dy <= r; dy++) {
                        int row = off + (cy + dy) * w;
                        for (int dx = -r; dx <= r; dx++) {
                            double u = x[row + cx + dx];
                            double v = y[row + cx + dx];
                            sx += u;
                            sy += v;
                            sxx += u * u;
                            syy += v * v;
                            sxy += u * v;
                        }
                    }
                    double mx = sx / np, my = sy / np;
                    double vx = cov * (sxx / np - mx * mx);
                    double vy = cov * (syy / np - my * my);
                    double vxy = cov * (sxy / np - mx * my);
                    s += ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
                    n++;
                }
            }
            sum += n > 0 ? s / n : 1;
        }
        return sum / a.depth();
    }

    /** Rank AUROC (Mann-Whitney U), ties averaged; NaN without positives or negatives. */
    public static double auroc(double[] scores, boolean[] labels) {
        int n = scores.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (p, q) -> Double.compare(scores[p], scores[q]));
        double rankSumPos = 0;
        long pos = 0;
        int i = 0;
        while (i < n) {
            int j = i;
            while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) {
                j++;
            }
            double rank = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) {
                if (labels[order[k]]) {
                    rankSumPos += rank;
                    pos++;
                }
            }
            i = j + 1;
        }
        long neg = n - pos;
        if (pos == 0 || neg == 0) {
            return Double.NaN;
        }
        return (rankSumPos - pos * (pos + 1) / 2.0) / ((double) pos * neg);
    }
}
