package org.meddiff.gateway.dicom.pixelmed;

/** 3-vector arithmetic for slice geometry (patient coordinates in mm, direction cosines). */
final class Vectors {
    private Vectors() {}

    static double dot(double[] a, double[] b) {
        return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    }

    static double[] cross(double[] a, double[] b) {
        return new double[] {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
    }

    static double[] sub(double[] a, double[] b) {
        return new double[] {a[0] - b[0], a[1] - b[1], a[2] - b[2]};
    }

    static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    static double[] normalize(double[] a) {
        double n = norm(a);
        if (!(n > 1e-6)) {
            return a.clone();
        }
        return new double[] {a[0] / n, a[1] / n, a[2] / n};
    }
}
