package io.lowrank.spark.prepare;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code lowrank prepare}: the CLI over {@link PrepareJob}. Progress goes to stderr; the last
 * stdout line is one JSON object (see {@link PrepareResult#toJson()}). Exit codes: 0 done (or
 * already done), 1 the job failed (bad input, too many malformed records...), 2 usage error.
 */
public final class PrepareCommand {

    static final String USAGE = String.join("\n",
            "usage: lowrank prepare --input URI[,URI...] --output URI [options]",
            "  --input URI[,URI...]          files, directories or globs on any Hadoop file system (repeatable)",
            "  --output URI                  output root; the dataset goes to <output>/<config-hash>/",
            "  --format auto|text|jsonl|parquet   (default auto: from each file's name)",
            "  --text-field NAME             JSONL field / Parquet column with the text (default text)",
            "  --tokenizer gpt2|gpt2-32k|cl100k   (default gpt2-32k)",
            "  --seq-len N                   model sequence length; sequences hold N+1 tokens (default 256)",
            "  --val-fraction F              fraction of sequences for validation (default 0.01)",
            "  --val-sequences N             exact number of validation sequences (overrides --val-fraction)",
            "  --seed N                      shuffle seed (default 42)",
            "  --shard-tokens N              max tokens per shard, whole sequences (default 16777216)",
            "  --max-malformed-fraction F    fail above this share of malformed records (default 0.01)",
            "  --split-bytes N               input bytes per tokenization task (default auto; output unchanged)",
            "  --master URL                  Spark master (default: spark-submit's, else local[*])");

    private static final Set<String> OPTIONS = Set.of("input", "output", "format", "text-field", "tokenizer", "seq-len",
            "val-fraction", "val-sequences", "seed", "shard-tokens", "max-malformed-fraction", "split-bytes", "master");

    private PrepareCommand() {
    }

    /** Runs {@code prepare} ({@code argv[0]} may be the word "prepare"); returns the exit code. */
    public static int run(String[] argv) {
        return run(argv, System.out, System.err);
    }

    static int run(String[] argv, PrintStream out, PrintStream err) {
        Map<String, List<String>> args;
        PrepareOptions o;
        try {
            args = parse(argv);
            if (args.containsKey("help")) {
                out.println(USAGE);
                return 0;
            }
            o = options(args, err);
            o.validate();
        } catch (UsageException | PrepareException e) {
            err.println("prepare: error: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
        String master = last(args, "master");
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

    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String m) {
            super(m);
        }
    }

    static Map<String, List<String>> parse(String[] argv) {
        Map<String, List<String>> values = new LinkedHashMap<>();
        int from = argv.length > 0 && argv[0].equals("prepare") ? 1 : 0;
        for (int i = from; i < argv.length; i++) {
            String a = argv[i];
            if (a.equals("--help") || a.equals("-h")) {
                values.put("help", List.of("true"));
                continue;
            }
            if (!a.startsWith("--")) {
                throw new UsageException("unexpected argument '" + a + "'");
            }
            String key = a.substring(2);
            String value;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            } else {
                if (i + 1 >= argv.length) {
                    throw new UsageException("option --" + key + " needs a value");
                }
                value = argv[++i];
            }
            if (!OPTIONS.contains(key)) {
                throw new UsageException("unknown option --" + key + " (known: --" + String.join(", --", new TreeSet<>(OPTIONS)) + ")");
            }
            values.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
        }
        return values;
    }

    private static String last(Map<String, List<String>> args, String key) {
        List<String> v = args.get(key);
        return v == null ? null : v.get(v.size() - 1);
    }

    private static PrepareOptions options(Map<String, List<String>> a, PrintStream err) {
        PrepareOptions o = new PrepareOptions().progress(err::println);
        for (String list : a.getOrDefault("input", List.of())) {
            for (String in : list.split(",")) {
                if (!in.isBlank()) {
                    o.inputs(in.trim());
                }
            }
        }
        if (a.containsKey("output")) {
            o.output(last(a, "output"));
        }
        if (a.containsKey("format")) {
            o.format(PrepareOptions.Format.parse(last(a, "format")));
        }
        if (a.containsKey("text-field")) {
            o.textField(last(a, "text-field"));
        }
        if (a.containsKey("tokenizer")) {
            o.tokenizer(last(a, "tokenizer"));
        }
        if (a.containsKey("seq-len")) {
            o.seqLen((int) number(a, "seq-len", 1, Integer.MAX_VALUE - 1));
        }
        if (a.containsKey("val-fraction")) {
            o.valFraction(fraction(a, "val-fraction"));
        }
        if (a.containsKey("val-sequences")) {
            o.valSequences(number(a, "val-sequences", 0, Long.MAX_VALUE));
        }
        if (a.containsKey("seed")) {
            o.seed(number(a, "seed", Long.MIN_VALUE, Long.MAX_VALUE));
        }
        if (a.containsKey("shard-tokens")) {
            o.shardTokens(number(a, "shard-tokens", 1, Long.MAX_VALUE));
        }
        if (a.containsKey("max-malformed-fraction")) {
            o.maxMalformedFraction(fraction(a, "max-malformed-fraction"));
        }
        if (a.containsKey("split-bytes")) {
            o.splitBytes(number(a, "split-bytes", 1, Long.MAX_VALUE));
        }
        return o;
    }

    private static long number(Map<String, List<String>> a, String key, long min, long max) {
        String v = last(a, key);
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

    private static double fraction(Map<String, List<String>> a, String key) {
        String v = last(a, key);
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + key + " expects a number, got '" + v + "'");
        }
    }
}
