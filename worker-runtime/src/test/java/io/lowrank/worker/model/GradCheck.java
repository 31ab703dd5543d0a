package io.lowrank.worker.model;

import java.util.SplittableRandom;

/** Helpers for gradient checks: relative error ||a - b|| / ||b||. */
public final class GradCheck {
    private GradCheck() {}

    public static double relErr(double[] a, double[] ref) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        return Math.sqrt(num) / Math.sqrt(den);
    }

    public static double norm(double[] a) {
        double s = 0;
        for (double v : a) s += v * v;
        return Math.sqrt(s);
    }

    public static double gaussian(SplittableRandom r) {
        double u1 = 1.0 - r.nextDouble(), u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
}
