package io.lowrank.spark.report;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

/**
 * Renders {@link LineChart}s to PNG with JFreeChart in a headless JVM (no display, no window
 * system): the driver of a cluster job has none. Each series keeps one colour across a report's
 * charts (run i has colour i), training solid, held-out dashed with points.
 */
public final class ChartImages {
    /** Most points drawn per series: a 100k-step run is still drawn in well under a second. */
    static final int MAX_POINTS = 2000;
    private static final Color[] PALETTE = {
            new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e), new Color(0x9467bd),
            new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f), new Color(0xbcbd22), new Color(0x17becf)};

    static {
        // java.awt.headless must be set before the first AWT class loads; an explicit setting wins
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private ChartImages() {}

    /** @param colourOf series name -> palette index (runs keep their colour from chart to chart) */
    public static byte[] png(LineChart c, int width, int height, java.util.function.ToIntFunction<String> colourOf) throws IOException {
        JFreeChart chart = build(c, colourOf);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ChartUtils.writeChartAsPNG(out, chart, width, height);
        return out.toByteArray();
    }

    static JFreeChart build(LineChart c, java.util.function.ToIntFunction<String> colourOf) {
        XYSeriesCollection data = new XYSeriesCollection();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        int i = 0;
        for (LineChart.Series s : c.series) {
            XYSeries xy = new XYSeries(s.name(), false, true);
            double[][] pts = LineChart.bucketMeans(s.x(), s.y(), MAX_POINTS);
            for (int k = 0; k < pts[0].length; k++) {
                double x = pts[0][k], y = pts[1][k];
                if (Double.isFinite(x) && Double.isFinite(y) && (!c.logX || x > 0)) xy.add(x, y);
            }
            data.addSeries(xy);
            Paint colour = PALETTE[Math.floorMod(colourOf.applyAsInt(s.name()), PALETTE.length)];
            renderer.setSeriesPaint(i, colour);
            renderer.setSeriesStroke(i, s.dashed()
                    ? new BasicStroke(1.8f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1f, new float[]{6f, 4f}, 0f)
                    : new BasicStroke(1.4f));
            renderer.setSeriesShapesVisible(i, s.markPoints());
            i++;
        }
        NumberAxis y = new NumberAxis(c.yLabel);
        y.setAutoRangeIncludesZero(false);
        org.jfree.chart.axis.ValueAxis x;
        if (c.logX) {
            LogAxis lx = new LogAxis(c.xLabel);
            lx.setSmallestValue(1);
            x = lx;
        } else {
            NumberAxis nx = new NumberAxis(c.xLabel);
            nx.setAutoRangeIncludesZero(false);
            x = nx;
        }
        XYPlot plot = new XYPlot(data, x, y, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xdddddd));
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        for (LineChart.Marker m : c.markers) {
            ValueMarker vm = new ValueMarker(m.x());
            if (m.kind() == LineChart.MarkerKind.RETRY) {
                vm.setPaint(new Color(0xcc0000));
                vm.setStroke(new BasicStroke(2f));
                vm.setLabel(m.label());
                vm.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
                vm.setLabelPaint(new Color(0xcc0000));
                vm.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
                vm.setLabelTextAnchor(TextAnchor.TOP_LEFT);
            } else {
                vm.setPaint(new Color(0xbbbbbb));
                vm.setStroke(new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1f, new float[]{2f, 3f}, 0f));
            }
            plot.addDomainMarker(vm);
        }
        JFreeChart chart = new JFreeChart(c.title, new Font(Font.SANS_SERIF, Font.BOLD, 14), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        LegendTitle legend = chart.getLegend();
        legend.setPosition(RectangleEdge.BOTTOM);
        return chart;
    }
}
