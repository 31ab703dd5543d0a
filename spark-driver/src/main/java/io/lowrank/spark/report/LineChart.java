package io.lowrank.spark.report;

import java.util.ArrayList;
import java.util.List;

/**
 * What one chart shows, independent of how it is drawn: named series of (x, y) points and vertical
 * markers (chunk boundaries, retries). {@link ChartImages} renders it with JFreeChart.
 */
public final class LineChart {
    /** {@code dashed}: drawn as a dashed line (held-out curves next to training curves). */
    public record Series(String name, double[] x, double[] y, boolean dashed, boolean markPoints) {
    }

    public enum MarkerKind { CHUNK, RETRY }

    public record Marker(double x, MarkerKind kind, String label) {
    }

    public final String id;
    public final String title;
    public final String xLabel;
    public final String yLabel;
    public final boolean logX;
    public final List<Series> series = new ArrayList<>();
    public final List<Marker> markers = new ArrayList<>();

    public LineChart(String id, String title, String xLabel, String yLabel, boolean logX) {
        this.id = id;
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
        this.logX = logX;
    }

    public LineChart add(String name, double[] x, double[] y, boolean dashed, boolean markPoints) {
        if (x.length != y.length) throw new IllegalArgumentException(name + ": " + x.length + " x values but " + y.length + " y values");
        series.add(new Series(name, x, y, dashed, markPoints));
        return this;
    }

    /** True when some series has a finite point: an empty chart is left out of a report. */
    public boolean hasData() {
        for (Series s : series) for (double v : s.y()) if (Double.isFinite(v)) return true;
        return false;
    }

    /**
     * At most {@code max} points: consecutive points averaged in equal buckets (the mean keeps the
     * curve's level where a stride would keep noise), the last point kept as it is.
     */
    static double[][] bucketMeans(double[] x, double[] y, int max) {
        int n = x.length;
        if (n <= max) return new double[][]{x, y};
        double[] bx = new double[max], by = new double[max];
        for (int b = 0; b < max; b++) {
            int from = (int) ((long) b * n / max), to = (int) ((long) (b + 1) * n / max);
            double sx = 0, sy = 0;
            int k = 0;
            for (int i = from; i < to; i++) {
                if (!Double.isFinite(y[i])) continue;
                sx += x[i];
                sy += y[i];
                k++;
            }
            bx[b] = k == 0 ? x[to - 1] : sx / k;
            by[b] = k == 0 ? Double.NaN : sy / k;
        }
        bx[max - 1] = x[n - 1];
        by[max - 1] = y[n - 1];
        return new double[][]{bx, by};
    }
}
