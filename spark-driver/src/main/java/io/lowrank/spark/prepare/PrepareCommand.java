package io.lowrank.spark.prepare;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

import io.lowrank.worker.cli.Cli;
import io.lowrank.worker.cli.UsageException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code lowrank prepare}: the CLI over {@link PrepareJob}. Progress goes to stderr; the last
 * stdout line is one JSON object (see {@link PrepareResult#toJson()}). Exit codes: 0 done (or
 * already done), 1 the job failed (bad input, too many malformed records...), 2 usage error.
 */
@Command(name = "prepare", description = "tokenize a corpus into shuffled token shards on Spark (for train --data)")
public final class PrepareCommand implements Callable<Integer> {
    // Numbers are read as text and checked by number()/fraction() below, whose messages name the
    // option and its range.
    @Option(names = "--input", paramLabel = "URI[,URI...]", description = "files, directories or globs on any Hadoop file system (repeatable; required)")
    List<String> input = new ArrayList<>();

    @Option(names = "--output", paramLabel = "URI", description = "output root; the dataset goes to OUTPUT/CONFIG-HASH/ (required)")
    String output;

    @Option(names = "--format", paramLabel = "F", description = "auto, text, jsonl or parquet (default: auto, from each file's name)")
    String format;

    @Option(names = "--text-field", paramLabel = "NAME", description = "JSONL field / Parquet column with the text (default: text)")
    String textField;

    @Option(names = "--tokenizer", paramLabel = "T", description = "gpt2, gpt2-32k, cl100k or bytes (UTF-8 bytes + end-of-text, vocab 257) (default: gpt2-32k)")
    String tokenizer;

    @Option(names = "--seq-len", paramLabel = "N", description = "model sequence length; sequences hold N+1 tokens (default: 256)")
    String seqLen;

    @Option(names = "--val-fraction", paramLabel = "F", description = "fraction of sequences for validation (default: 0.01)")
    String valFraction;

    @Option(names = "--val-sequences", paramLabel = "N", description = "exact number of validation sequences, instead of --val-fraction (default: none)")
    String valSequences;

    @Option(names = "--seed", paramLabel = "N", description = "shuffle seed (default: 42)")
    String seed;

    @Option(names = "--shard-tokens", paramLabel = "N", description = "max tokens per shard, whole sequences (default: 16777216)")
    String shardTokens;

    @Option(names = "--max-malformed-fraction", paramLabel = "F", description = "fail above this share of malformed records (default: 0.01)")
    String maxMalformedFraction;

    @Option(names = "--split-bytes", paramLabel = "N", description = "input bytes per tokenization task; the output does not change (default: auto)")
    String splitBytes;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master (default: spark-submit's, else local[*])")
    String master;

    private PrintStream out = System.out, err = System.err;

    /** Runs {@code prepare} ({@code argv[0]} may be the word "prepare"); returns the exit code. */
    public static int run(String[] argv) {
        return run(argv, System.out, System.err);
    }

    static int run(String[] argv, PrintStream out, PrintStream err) {
        int from = argv.length > 0 && argv[0].equals("prepare") ? 1 : 0;
        PrepareCommand command = new PrepareCommand();
        command.out = out;
        command.err = err;
        CommandLine cl = Cli.commandLine(command);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(Arrays.copyOfRange(argv, from, argv.length));
    }

    @Override
    public Integer call() {
        PrepareOptions o;
        try {
            o = options(err);
            o.validate();
        } catch (UsageException | PrepareException e) {
            err.println("prepare: error: " + e.getMessage());
            err.println("(lowrank prepare --help lists the options)");
            return 2;
        }
        SparkSession spark = null;
        try {
            // a no-op re-run needs no Spark: check for the dataset with the Hadoop settings Spark would use
            PrepareResult done = PrepareJob.existing(hadoopConf(sparkConf(master)), o);
            if (done != null) {
                out.println(done.toJson());
                return 0;
            }
            spark = session(master);
            PrepareResult r = PrepareJob.run(spark, o);
            out.println(r.toJson());
            return 0;
        } catch (PrepareException e) {
            err.println("prepare: error: " + e.getMessage());
            return 1;
        } catch (Exception e) {
            err.println("prepare: failed: " + e);
            e.printStackTrace(err);
            return 1;
        } finally {
            if (spark != null) {
                spark.stop();
            }
        }
    }

    /**
     * The session: {@code --master} when given, else what spark-submit configured, else
     * {@code local[*]}. Kryo with registration required, this job's classes registered next to any
     * registrator already configured.
     */
    static SparkSession session(String master) {
        return SparkSession.builder().config(sparkConf(master)).getOrCreate();
    }

    /** Hadoop configuration as Spark builds it from a SparkConf: defaults + {@code spark.hadoop.*} entries. */
    static Configuration hadoopConf(SparkConf conf) {
        Configuration h = new Configuration();
        for (scala.Tuple2<String, String> kv : conf.getAll()) {
            if (kv._1().startsWith("spark.hadoop.")) {
                h.set(kv._1().substring("spark.hadoop.".length()), kv._2());
            }
        }
        return h;
    }

    static SparkConf sparkConf(String master) {
        // LowrankKryoRegistrator includes PrepareKryo's classes
        return io.lowrank.spark.cli.SparkSetup.baseConf("lowrank prepare", master);
    }

    private PrepareOptions options(PrintStream err) {
        PrepareOptions o = new PrepareOptions().progress(err::println);
        for (String list : input) {
            for (String in : list.split(",")) {
                if (!in.isBlank()) {
                    o.inputs(in.trim());
                }
            }
        }
        if (output != null) {
            o.output(output);
        }
        if (format != null) {
            o.format(PrepareOptions.Format.parse(format));
        }
        if (textField != null) {
            o.textField(textField);
        }
        if (tokenizer != null) {
            o.tokenizer(tokenizer);
        }
        if (seqLen != null) {
            o.seqLen((int) number(seqLen, "seq-len", 1, Integer.MAX_VALUE - 1));
        }
        if (valFraction != null) {
            o.valFraction(fraction(valFraction, "val-fraction"));
        }
        if (valSequences != null) {
            o.valSequences(number(valSequences, "val-sequences", 0, Long.MAX_VALUE));
        }
        if (seed != null) {
            o.seed(number(seed, "seed", Long.MIN_VALUE, Long.MAX_VALUE));
        }
        if (shardTokens != null) {
            o.shardTokens(number(shardTokens, "shard-tokens", 1, Long.MAX_VALUE));
        }
        if (maxMalformedFraction != null) {
            o.maxMalformedFraction(fraction(maxMalformedFraction, "max-malformed-fraction"));
        }
        if (splitBytes != null) {
            o.splitBytes(number(splitBytes, "split-bytes", 1, Long.MAX_VALUE));
        }
        return o;
    }

    private static long number(String v, String key, long min, long max) {
        long n;
        try {
            n = Long.parseLong(v.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new UsageException("--" + key + " expects an integer, got '" + v + "'");
        }
        if (n < min || n > max) {
            throw new UsageException("--" + key + " must be in [" + min + ", " + max + "], got " + n);
        }
        return n;
    }

    private static double fraction(String v, String key) {
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + key + " expects a number, got '" + v + "'");
        }
    }
}
