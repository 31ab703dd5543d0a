package io.lowrank.spark.compare;

import io.lowrank.spark.fs.RunDirectory;
import io.lowrank.spark.report.ChartImages;
import io.lowrank.spark.report.HtmlPage;
import io.lowrank.spark.report.LineChart;
import io.lowrank.spark.report.RunMetrics;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** The comparison's report.html and loss.png (held-out loss against tokens), drawn by the run-report machinery. */
final class CompareReport {
    static final int WIDTH = 900, HEIGHT = 440;
    private final CompareTable table;
    private final String preset;
    private final String matchFlopsOf;

    CompareReport(CompareTable table, String preset, String matchFlopsOf) {
        this.table = table;
        this.preset = preset;
        this.matchFlopsOf = matchFlopsOf;
    }

    List<LineChart> charts() {
        LineChart vsTokens = new LineChart("chart-val-tokens", "Held-out loss against training tokens", "tokens", "held-out loss (nats/token)", false);
        LineChart vsFlops = new LineChart("chart-val-flops", "Held-out loss against training FLOPs", "training FLOPs (counted products)", "held-out loss (nats/token)", false);
        LineChart train = new LineChart("chart-train-tokens", "Training loss against tokens", "tokens", "training loss (nats/token)", false);
        for (CompareTable.Row r : table.rows) {
            RunMetrics m = r.metrics();
            int n = m.evals.size();
            double[] t = new double[n], fl = new double[n], v = new double[n];
            for (int i = 0; i < n; i++) {
                t[i] = m.evals.get(i).tokens();
                fl[i] = t[i] * r.cost().flopsPerToken();
                v[i] = m.evals.get(i).valLoss();
            }
            vsTokens.add(r.layer(), t, v, false, true);
            vsFlops.add(r.layer(), fl, v, false, true);
            int s = m.steps.size();
            double[] st = new double[s], sl = new double[s];
            for (int i = 0; i < s; i++) {
                st[i] = m.steps.get(i).tokens();
                sl[i] = m.steps.get(i).loss();
            }
            train.add(r.layer(), st, sl, false, false);
        }
        return List.of(vsTokens, vsFlops, train);
    }

    private int colourOf(String layer) {
        for (int i = 0; i < table.rows.size(); i++) if (table.rows.get(i).layer().equals(layer)) return i;
        return 0;
    }

    void writeTo(RunDirectory dir) throws IOException {
        List<LineChart> charts = charts();
        HtmlPage page = new HtmlPage("Comparison: " + preset + (matchFlopsOf == null ? ", equal tokens" : ", FLOPs matched to " + matchFlopsOf));
        page.table("families", CompareTable.HEADER, table.cells(), null);
        page.paragraph("Training FLOPs: the multiply-adds of every product a training step runs (forward, backward and recomputation), "
                + "counted by the backend on one step of each family, times the tokens trained. ELAS is counted with dense activations. "
                + "Held-out loss: every family on the same validation windows of the same prepared dataset, at the same token intervals.");
        for (LineChart c : charts) {
            if (c.hasData()) page.image(c.id, c.title, ChartImages.png(c, WIDTH, HEIGHT, this::colourOf), WIDTH, HEIGHT);
        }
        for (int i = 0; i < table.rows.size(); i++) {
            CompareTable.Row r = table.rows.get(i);
            List<List<String>> ev = new ArrayList<>();
            for (RunMetrics.Eval e : r.metrics().evals) {
                ev.add(List.of(Long.toString(e.step()), Long.toString(e.tokens()), CompareTable.f("%.6f", e.valLoss()),
                        CompareTable.f("%.4e", e.tokens() * r.cost().flopsPerToken())));
            }
            page.heading(2, r.layer());
            page.table("evals-" + r.layer(), List.of("step", "tokens", "held-out loss", "training FLOPs"), ev, null);
        }
        dir.writeBytes("loss.png", ChartImages.png(charts.get(0), WIDTH, HEIGHT, this::colourOf));
        dir.writeText("report.html", page.render());
    }
}
