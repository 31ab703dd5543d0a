package io.lowrank.spark.report;

import io.lowrank.spark.fs.RunDirectory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code report.html} and {@code loss.png} of one run, or of several on the same charts: training
 * and held-out loss against steps and tokens, learning rate, tokens/s and the all-reduce time the
 * overlap did not hide, chunk boundaries (dotted) and retries (red) marked; tables of the values
 * the charts draw.
 */
public final class RunReport {
    public static final String REPORT_HTML = "report.html";
    public static final String LOSS_PNG = "loss.png";
    static final int WIDTH = 900, HEIGHT = 420;
    /** Step rows in the page's table at most (evenly spaced, first and last kept); the charts use every step. */
    static final int MAX_STEP_ROWS = 2000;

    private final List<RunMetrics> runs;
    private final Map<String, Integer> colour = new HashMap<>();

    public RunReport(List<RunMetrics> runs) {
        if (runs.isEmpty()) throw new IllegalArgumentException("a report needs at least one run");
        this.runs = runs;
    }

    /** The charts in page order; those without data (e.g. all-reduce of a local run) are left out. */
    public List<LineChart> charts() {
        boolean several = runs.size() > 1;
        LineChart lossSteps = new LineChart("chart-loss-steps", "Loss against steps", "step", "loss (nats/token)", false);
        LineChart lossTokens = new LineChart("chart-loss-tokens", "Loss against training tokens", "tokens", "loss (nats/token)", false);
        LineChart lr = new LineChart("chart-lr", "Learning rate", "step", "learning rate", false);
        LineChart tps = new LineChart("chart-tokens-per-s", "Throughput", "step", "tokens/s (job)", false);
        LineChart ar = new LineChart("chart-allreduce", "All-reduce time exposed per step (not hidden by the backward pass)", "step", "ms/step", false);
        for (int r = 0; r < runs.size(); r++) {
            RunMetrics m = runs.get(r);
            String p = several ? m.label + " " : "";
            int n = m.steps.size();
            double[] step = new double[n], tok = new double[n], loss = new double[n], lrs = new double[n], arStep = new double[n];
            for (int i = 0; i < n; i++) {
                RunMetrics.Step s = m.steps.get(i);
                step[i] = s.step();
                tok[i] = s.tokens();
                loss[i] = s.loss();
                lrs[i] = s.lr();
                arStep[i] = s.allReduceExposedMs();
            }
            int e = m.evals.size();
            double[] es = new double[e], et = new double[e], ev = new double[e];
            for (int i = 0; i < e; i++) {
                es[i] = m.evals.get(i).step();
                et[i] = m.evals.get(i).tokens();
                ev[i] = m.evals.get(i).valLoss();
            }
            lossSteps.add(series(p + "train", r), step, loss, false, false);
            lossTokens.add(series(p + "train", r), tok, loss, false, false);
            if (e > 0) {
                lossSteps.add(series(p + "held-out", r), es, ev, true, true);
                lossTokens.add(series(p + "held-out", r), et, ev, true, true);
            }
            lr.add(series(p + "lr", r), step, lrs, false, false);
            if (!m.chunks.isEmpty()) {
                int c = m.chunks.size();
                double[] cx = new double[c], cy = new double[c], ca = new double[c];
                for (int i = 0; i < c; i++) {
                    RunMetrics.Chunk k = m.chunks.get(i);
                    cx[i] = k.lastStep();
                    cy[i] = k.tokensPerSecond();
                    ca[i] = k.allReduceExposedMsPerStep();
                }
                tps.add(series(p + "tokens/s per chunk", r), cx, cy, false, true);
                if (hasFinite(arStep)) ar.add(series(p + "exposed ms per step", r), step, arStep, false, false);
                ar.add(series(p + "chunk mean", r), cx, ca, true, true);
            } else {
                List<double[]> logged = new ArrayList<>();
                for (RunMetrics.Step s : m.steps) if (Double.isFinite(s.tokensPerSecond())) logged.add(new double[]{s.step(), s.tokensPerSecond()});
                double[] lx = new double[logged.size()], ly = new double[logged.size()];
                for (int i = 0; i < lx.length; i++) {
                    lx[i] = logged.get(i)[0];
                    ly[i] = logged.get(i)[1];
                }
                tps.add(series(p + "tokens/s", r), lx, ly, false, true);
                if (hasFinite(arStep)) ar.add(series(p + "exposed ms per step", r), step, arStep, false, false);
            }
            for (RunMetrics.Chunk k : m.chunks) {
                for (LineChart ch : List.of(lossSteps, lr, tps, ar)) ch.markers.add(new LineChart.Marker(k.lastStep(), LineChart.MarkerKind.CHUNK, ""));
                lossTokens.markers.add(new LineChart.Marker(m.tokensAt(k.lastStep()), LineChart.MarkerKind.CHUNK, ""));
            }
            for (RunMetrics.Retry t : m.retries) {
                String label = "retry " + t.attempt();
                for (LineChart ch : List.of(lossSteps, lr, tps, ar)) ch.markers.add(new LineChart.Marker(t.fromStep(), LineChart.MarkerKind.RETRY, label));
                lossTokens.markers.add(new LineChart.Marker(m.tokensAt(t.fromStep()), LineChart.MarkerKind.RETRY, label));
            }
        }
        List<LineChart> out = new ArrayList<>();
        for (LineChart c : List.of(lossSteps, lossTokens, lr, tps, ar)) if (c.hasData()) out.add(c);
        return out;
    }

    private String series(String name, int run) {
        colour.put(name, run);
        return name;
    }

    private static boolean hasFinite(double[] v) {
        for (double d : v) if (Double.isFinite(d)) return true;
        return false;
    }

    /** loss.png: loss against steps for one run, against tokens when runs are compared (their batches may differ). */
    public byte[] lossPng() throws IOException {
        List<LineChart> charts = charts();
        String want = runs.size() > 1 ? "chart-loss-tokens" : "chart-loss-steps";
        for (LineChart c : charts) if (c.id.equals(want)) return ChartImages.png(c, WIDTH, HEIGHT, this::colourOf);
        return ChartImages.png(charts.isEmpty() ? new LineChart("empty", "no steps logged yet", "step", "loss", false) : charts.get(0),
                WIDTH, HEIGHT, this::colourOf);
    }

    int colourOf(String series) { return colour.getOrDefault(series, 0); }

    public String html() throws IOException {
        String title = runs.size() == 1 ? "Run report: " + runs.get(0).label : "Run report: " + runs.size() + " runs";
        HtmlPage page = new HtmlPage(title);
        List<List<String>> rows = new ArrayList<>();
        for (RunMetrics m : runs) {
            rows.add(List.of(m.label, Long.toString(m.lastStep()), Long.toString(m.steps.isEmpty() ? 0 : m.steps.get(m.steps.size() - 1).tokens()),
                    f6(m.meanLastLoss(10)), f6(m.steps.isEmpty() ? Double.NaN : m.steps.get(m.steps.size() - 1).loss()),
                    f6(m.lastValLoss()), f2(Math.exp(m.lastValLoss())), f0(m.meanTokensPerSecond()),
                    Integer.toString(m.chunks.size()), Integer.toString(m.retries.size())));
        }
        page.table("summary", List.of("run", "steps", "tokens", "train loss (mean of last 10 steps)", "last step loss",
                "held-out loss", "held-out perplexity", "tokens/s", "chunks", "retries"), rows, null);
        for (RunMetrics m : runs) {
            page.paragraph(m.label + ": " + m.source + (m.skippedLines > 0 ? " (" + m.skippedLines + " unreadable lines skipped)" : ""));
        }
        for (LineChart c : charts()) page.image(c.id, c.title, ChartImages.png(c, WIDTH, HEIGHT, this::colourOf), WIDTH, HEIGHT);
        page.paragraph("Loss is the mean over workers of each step's training loss; held-out loss is measured on the run's validation "
                + "windows. Dotted vertical lines: chunk boundaries (one Spark job each); red lines: chunks retried from the checkpoint "
                + "at that step. Exposed all-reduce time: how long a step waited for gradients after its backward pass (the rest was "
                + "hidden behind the backward pass).");
        for (int r = 0; r < runs.size(); r++) tables(page, runs.get(r), r);
        return page.render();
    }

    private static void tables(HtmlPage page, RunMetrics m, int r) {
        page.heading(2, m.label);
        List<List<String>> ev = new ArrayList<>();
        for (RunMetrics.Eval e : m.evals) ev.add(List.of(Long.toString(e.step()), Long.toString(e.tokens()), f6(e.valLoss()), f2(Math.exp(e.valLoss()))));
        page.table("evals-" + r, List.of("step", "tokens", "held-out loss", "perplexity"), ev, null);
        if (!m.chunks.isEmpty()) {
            List<List<String>> ch = new ArrayList<>();
            for (RunMetrics.Chunk c : m.chunks) {
                ch.add(List.of(Integer.toString(c.chunk()), Long.toString(c.firstStep()), Long.toString(c.lastStep()), f0(c.tokensPerSecond()),
                        f2(c.seconds()), f2(c.allReduceExposedMsPerStep()), f2(c.allReduceStandaloneMs()), Integer.toString(c.stageAttempt())));
            }
            page.table("chunks-" + r, List.of("chunk", "first step", "last step", "tokens/s", "seconds", "exposed all-reduce ms/step",
                    "standalone all-reduce ms", "stage attempt"), ch, null);
        }
        if (!m.retries.isEmpty()) {
            List<List<String>> rt = new ArrayList<>();
            for (RunMetrics.Retry t : m.retries) rt.add(List.of(Integer.toString(t.attempt()), Long.toString(t.fromStep()), t.error()));
            page.table("retries-" + r, List.of("retry", "from step", "error"), rt, null);
        }
        List<List<String>> st = new ArrayList<>();
        int n = m.steps.size();
        int rows = Math.min(n, MAX_STEP_ROWS);
        for (int k = 0; k < rows; k++) {
            int i = rows == n ? k : (int) Math.round((double) k * (n - 1) / (rows - 1));
            RunMetrics.Step s = m.steps.get(i);
            st.add(List.of(Long.toString(s.step()), Long.toString(s.tokens()), f6(s.loss()), String.format(Locale.ROOT, "%.4e", s.lr()),
                    f6(s.gradNorm())));
        }
        page.table("steps-" + r, List.of("step", "tokens", "loss", "lr", "grad norm"), st,
                rows == n ? "all " + n + " steps" : rows + " of " + n + " steps, evenly spaced");
    }

    /** Writes report.html and loss.png into {@code out} (replacing them atomically). */
    public void writeTo(RunDirectory out) throws IOException {
        out.writeBytes(LOSS_PNG, lossPng());
        out.writeText(REPORT_HTML, html());
    }

    static String f6(double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6f", v) : "-"; }
    static String f2(double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, "%.2f", v) : "-"; }
    static String f0(double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, "%.0f", v) : "-"; }
}
