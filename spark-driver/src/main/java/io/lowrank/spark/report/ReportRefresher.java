package io.lowrank.spark.report;

import io.lowrank.spark.fs.RunDirectory;
import org.apache.hadoop.conf.Configuration;

import java.io.PrintStream;

/**
 * Rewrites a run's report while it trains (after each chunk or checkpoint), so it can be watched.
 * A report that cannot be written (no fonts, a full disk, a missing java.desktop module) is logged
 * once per distinct reason and never fails the training that called it.
 */
public final class ReportRefresher {
    private final String runDirUri;
    private final Configuration conf;
    private final PrintStream log;
    private boolean announced;
    private String lastError;
    private long lastMillis;

    public ReportRefresher(String runDirUri, Configuration conf, PrintStream log) {
        this.runDirUri = runDirUri;
        this.conf = conf;
        this.log = log;
    }

    /** @return whether the report was written */
    public boolean refresh() {
        long t0 = System.nanoTime();
        try {
            RunDirectory run = new RunDirectory(runDirUri, conf);
            new RunReport(java.util.List.of(RunMetrics.read(runDirUri, conf))).writeTo(run);
            lastMillis = (System.nanoTime() - t0) / 1_000_000;
            if (!announced) {
                log.println("report: " + run.uri() + "/" + RunReport.REPORT_HTML + " (rewritten after each chunk or checkpoint; " + lastMillis + " ms)");
                announced = true;
            }
            lastError = null;
            return true;
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Throwable e) {
            String why = e.toString();
            if (!why.equals(lastError)) log.println("warning: could not write the run report of " + runDirUri + " (training goes on): " + why);
            lastError = why;
            return false;
        }
    }

    /** How long the last successful refresh took. */
    public long lastMillis() { return lastMillis; }
}
