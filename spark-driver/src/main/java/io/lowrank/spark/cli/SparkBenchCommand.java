package io.lowrank.spark.cli;

import io.lowrank.spark.bench.AllReduceSuite;
import io.lowrank.worker.cli.BenchCommand;
import io.lowrank.worker.cli.BenchOptions;
import io.lowrank.worker.cli.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Spec;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code bench}: the worker runtime's single-process suites ({@link BenchCommand}) plus
 * {@code --suite allreduce}, which needs Spark ({@link AllReduceSuite}). An option of one side given
 * to a suite of the other is a usage error naming it, as it was when they were separate parsers.
 */
@Command(name = "bench", description = "time training steps, sgemm, 2:4 spmm, the fused kernels or the all-reduce (--suite)")
public final class SparkBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    BenchOptions options = new BenchOptions();

    @Mixin(name = "allreduce")
    AllReduceSuite.Options allReduce = new AllReduceSuite.Options();

    @Override
    public Integer call() throws Exception {
        boolean isAllReduce = options.suite.equals("allreduce");
        Set<String> allReduceOnly = new HashSet<>();
        for (OptionSpec o : spec.mixins().get("allreduce").options()) allReduceOnly.add(o.longestName());
        Set<String> shared = Set.of("--suite", "--warmup", "--help");
        for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
            String name = o.longestName();
            if (shared.contains(name)) continue;
            if (isAllReduce != allReduceOnly.contains(name)) {
                throw new UsageException("bench: " + name + " does not apply to --suite " + options.suite
                        + " (lowrank bench --help says which suites read each option)");
            }
        }
        return isAllReduce ? AllReduceSuite.run(allReduce, options.warmup) : BenchCommand.run(options);
    }
}
