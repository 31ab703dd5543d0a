package io.lowrank.spark.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.spark.fs.RunDirectory;
import org.apache.hadoop.conf.Configuration;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code report RUN_DIR [--compare RUN_DIR2 ...] [--out DIR]}: writes report.html and loss.png into
 * {@code --out} (default: RUN_DIR). Run directories may be any Hadoop file system URI. Last line
 * of stdout: JSON naming the files and each run's figures.
 */
@Command(name = "report", description = "write report.html and loss.png of a run (training/held-out loss, lr, tokens/s, all-reduce), optionally with other runs on the same charts")
public final class ReportCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "RUN_DIR", description = "run directory of train or train-local (any Hadoop file system URI)")
    String runDir;

    @Option(names = "--compare", paramLabel = "RUN_DIR", arity = "1..*", split = ",",
            description = "further run directories drawn on the same charts (default: none)")
    List<String> compare = new ArrayList<>();

    @Option(names = "--out", paramLabel = "DIR", description = "where report.html and loss.png go (default: RUN_DIR)")
    String out;

    @Override
    public Integer call() throws IOException {
        return run(new Options(runDir, compare, out), new Configuration(), System.out);
    }

    /** Typed options. */
    public record Options(String runDir, List<String> compare, String out) {
    }

    public static int run(Options o, Configuration conf, PrintStream stdout) throws IOException {
        List<RunMetrics> runs = new ArrayList<>();
        runs.add(RunMetrics.read(o.runDir(), conf));
        for (String c : o.compare()) runs.add(RunMetrics.read(c, conf));
        RunDirectory out = new RunDirectory(o.out() == null ? o.runDir() : o.out(), conf);
        out.create();
        long t0 = System.nanoTime();
        new RunReport(runs).writeTo(out);
        ObjectMapper json = new ObjectMapper();
        ObjectNode res = json.createObjectNode();
        res.put("report", out.uri() + "/" + RunReport.REPORT_HTML).put("loss_png", out.uri() + "/" + RunReport.LOSS_PNG)
                .put("seconds", (System.nanoTime() - t0) / 1e9);
        ArrayNode arr = res.putArray("runs");
        for (RunMetrics m : runs) {
            arr.addObject().put("run", m.label).put("steps", m.lastStep()).put("final_loss", m.meanLastLoss(10))
                    .put("val_loss", m.lastValLoss()).put("tokens_per_s", m.meanTokensPerSecond()).put("chunks", m.chunks.size())
                    .put("retries", m.retries.size());
        }
        stdout.println("wrote " + out.uri() + "/" + RunReport.REPORT_HTML + " and " + RunReport.LOSS_PNG);
        stdout.println(json.writeValueAsString(res));
        return 0;
    }
}
