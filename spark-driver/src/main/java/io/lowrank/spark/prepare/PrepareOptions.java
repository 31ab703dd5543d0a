package io.lowrank.spark.prepare;

import io.lowrank.worker.data.Tokenizers;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Settings of one {@link PrepareJob} run. Setters return {@code this}; {@link #validate()} checks
 * every value and names the offending option in its error.
 *
 * <p>Only the settings that change the shards enter the config hash (see {@link PrepareJob}):
 * inputs, format, text field, tokenizer, seq_len, validation size, seed and shard size. The
 * malformed threshold and the split size do not: the same data and settings give the same bytes
 * whatever the threshold or the number of Spark partitions.
 */
public final class PrepareOptions {

    /** Input formats; {@code AUTO} decides per file from its name. */
    public enum Format {
        AUTO, TEXT, JSONL, PARQUET;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Parses a {@code --format} value, naming the allowed ones when unknown. */
        public static Format parse(String s) {
            for (Format f : values()) {
                if (f.label().equals(s)) {
                    return f;
                }
            }
            throw new PrepareException("unknown --format '" + s + "'; allowed: auto, text, jsonl, parquet");
        }
    }

    public static final long DEFAULT_SHARD_TOKENS = 1L << 24;
    /** A shard is read into one int array. */
    public static final long MAX_SHARD_TOKENS = Integer.MAX_VALUE - 16;

    private final List<String> inputs = new ArrayList<>();
    private String output;
    private Format format = Format.AUTO;
    private String textField = "text";
    private String tokenizer = "gpt2-32k";
    private int seqLen = 256;
    private double valFraction = 0.01;
    private long valSequences = -1;
    private long seed = 42;
    private long shardTokens = DEFAULT_SHARD_TOKENS;
    private double maxMalformedFraction = 0.01;
    private long splitBytes = -1;
    private Consumer<String> progress = System.err::println;

    /** Adds input URIs (files, directories or globs on any Hadoop file system). */
    public PrepareOptions inputs(String... uris) {
        inputs.addAll(List.of(uris));
        return this;
    }

    public PrepareOptions inputs(List<String> uris) {
        inputs.addAll(uris);
        return this;
    }

    /** Output root; the dataset goes to {@code <output>/<config-hash>/}. */
    public PrepareOptions output(String uri) {
        this.output = uri;
        return this;
    }

    public PrepareOptions format(Format f) {
        this.format = f;
        return this;
    }

    /** JSONL field or Parquet column holding the document text (default {@code text}). */
    public PrepareOptions textField(String field) {
        this.textField = field;
        return this;
    }

    /** {@link Tokenizers#byName} name (default {@code gpt2-32k}). */
    public PrepareOptions tokenizer(String name) {
        this.tokenizer = name;
        return this;
    }

    /** Model sequence length; each stored sequence has {@code seqLen + 1} tokens (default 256). */
    public PrepareOptions seqLen(int n) {
        this.seqLen = n;
        return this;
    }

    /** Fraction of sequences for validation, in [0, 1) (default 0.01); ignored when {@link #valSequences} is set. */
    public PrepareOptions valFraction(double f) {
        this.valFraction = f;
        return this;
    }

    /** Exact number of validation sequences; overrides {@link #valFraction}. Negative = unset. */
    public PrepareOptions valSequences(long n) {
        this.valSequences = n;
        return this;
    }

    /** Seed of the sequence shuffle (default 42). */
    public PrepareOptions seed(long s) {
        this.seed = s;
        return this;
    }

    /** Upper bound of tokens per shard, rounded down to whole sequences (default 2^24). */
    public PrepareOptions shardTokens(long n) {
        this.shardTokens = n;
        return this;
    }

    /** Malformed records / all records above which the job fails (default 0.01). */
    public PrepareOptions maxMalformedFraction(double f) {
        this.maxMalformedFraction = f;
        return this;
    }

    /**
     * Bytes of uncompressed text/JSONL (and of Parquet row groups) per tokenization task; does not
     * change the output. Non-positive = automatic (total input / (2 x default parallelism), clamped
     * to [1 MiB, 32 MiB]).
     */
    public PrepareOptions splitBytes(long n) {
        this.splitBytes = n;
        return this;
    }

    /** Where progress lines go (default: stderr). */
    public PrepareOptions progress(Consumer<String> sink) {
        this.progress = sink;
        return this;
    }

    public List<String> inputs() {
        return List.copyOf(inputs);
    }

    public String output() {
        return output;
    }

    public Format format() {
        return format;
    }

    public String textField() {
        return textField;
    }

    public String tokenizer() {
        return tokenizer;
    }

    public int seqLen() {
        return seqLen;
    }

    public double valFraction() {
        return valFraction;
    }

    public long valSequences() {
        return valSequences;
    }

    public long seed() {
        return seed;
    }

    public long shardTokens() {
        return shardTokens;
    }

    public double maxMalformedFraction() {
        return maxMalformedFraction;
    }

    public long splitBytes() {
        return splitBytes;
    }

    Consumer<String> progress() {
        return progress;
    }

    /** Checks every value; the error names the option and the value. */
    public void validate() {
        if (inputs.isEmpty()) {
            throw new PrepareException("no --input given");
        }
        for (String in : inputs) {
            if (in == null || in.isBlank()) {
                throw new PrepareException("empty --input entry in " + inputs);
            }
        }
        if (output == null || output.isBlank()) {
            throw new PrepareException("no --output given");
        }
        if (textField == null || textField.isEmpty()) {
            throw new PrepareException("--text-field must be non-empty");
        }
        if (!Tokenizers.NAMES.contains(tokenizer)) {
            throw new PrepareException("unknown --tokenizer '" + tokenizer + "'; allowed: " + Tokenizers.NAMES);
        }
        if (seqLen < 1) {
            throw new PrepareException("--seq-len must be at least 1, got " + seqLen);
        }
        if (!(valFraction >= 0 && valFraction < 1)) {
            throw new PrepareException("--val-fraction must be in [0, 1), got " + valFraction);
        }
        long seqTokens = seqLen + 1L;
        if (shardTokens < seqTokens) {
            throw new PrepareException("--shard-tokens " + shardTokens + " is smaller than one sequence (seq_len + 1 = "
                    + seqTokens + " tokens)");
        }
        if (shardTokens > MAX_SHARD_TOKENS) {
            throw new PrepareException("--shard-tokens " + shardTokens + " is above " + MAX_SHARD_TOKENS
                    + ": a shard is read into one array");
        }
        if (!(maxMalformedFraction >= 0 && maxMalformedFraction <= 1)) {
            throw new PrepareException("--max-malformed-fraction must be in [0, 1], got " + maxMalformedFraction);
        }
    }
}
