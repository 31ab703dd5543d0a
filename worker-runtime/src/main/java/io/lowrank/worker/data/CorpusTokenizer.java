package io.lowrank.worker.data;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Single-process corpus preparation: documents from text/JSONL files are tokenized, each followed
 * by the end-of-text id, split into train and validation by document, and written as
 * {@code train-00000.tok, ...}, {@code val-00000.tok, ...} plus {@code manifest.json}.
 *
 * <p>The split is a pure function of (seed, document index), where the index counts well-formed
 * documents over all inputs in order: the same inputs and seed give byte-identical shards, and a
 * distributed implementation can reproduce the split without coordination. Shards are cut every
 * {@code shardTokens} tokens exactly (a document may continue in the next shard; the cursor reads
 * the shards of a split as one stream, so nothing is lost at the cut).
 */
public final class CorpusTokenizer {

    /** Optional settings; defaults suit a laptop-sized corpus. */
    public static final class Options {
        private String textField = "text";
        private long shardTokens = 1L << 24;
        private boolean overwrite;

        /** JSONL field holding the document (default {@code "text"}). */
        public Options textField(String field) {
            this.textField = field;
            return this;
        }

        /** Tokens per shard (default 2^24 = 16.8M; a shard is read into memory whole). */
        public Options shardTokens(long tokens) {
            if (tokens < 1 || tokens > TokenShardReader.MAX_TOKENS_IN_MEMORY) {
                throw new IllegalArgumentException("shardTokens must be in [1, " + TokenShardReader.MAX_TOKENS_IN_MEMORY
                        + "], got " + tokens);
            }
            this.shardTokens = tokens;
            return this;
        }

        /** Replace an existing tokenized corpus in the output directory instead of failing. */
        public Options overwrite(boolean value) {
            this.overwrite = value;
            return this;
        }
    }

    private CorpusTokenizer() {
    }

    /** {@link #tokenizeToShards(List, TextTokenizer, Path, double, long, Options)} with default options. */
    public static ShardManifest tokenizeToShards(List<Path> inputs, TextTokenizer tok, Path outDir,
                                                 double valFraction, long seed) throws IOException {
        return tokenizeToShards(inputs, tok, outDir, valFraction, seed, new Options());
    }

    /**
     * Tokenizes {@code inputs} (formats per {@link CorpusReader#detect}) into shards under
     * {@code outDir} and returns the manifest it wrote.
     *
     * @param valFraction fraction of documents for validation, in [0, 1)
     * @param seed        seed of the train/validation split
     * @throws IOException when an input is missing, the directory already holds a corpus (without
     *                     {@link Options#overwrite}), or no well-formed document was found
     */
    public static ShardManifest tokenizeToShards(List<Path> inputs, TextTokenizer tok, Path outDir,
                                                 double valFraction, long seed, Options options) throws IOException {
        if (inputs.isEmpty()) {
            throw new IllegalArgumentException("no corpus input files given");
        }
        if (!(valFraction >= 0 && valFraction < 1)) {
            throw new IllegalArgumentException("valFraction must be in [0, 1), got " + valFraction);
        }
        List<CorpusReader.Format> formats = new ArrayList<>();
        for (Path in : inputs) {
            if (!Files.isRegularFile(in)) {
                throw new NoSuchFileException(in.toString(), null, "corpus input file does not exist");
            }
            formats.add(CorpusReader.detect(in)); // fail on an unknown format before any work
        }
        prepareOutputDir(outDir, options.overwrite);

        CorpusReader reader = new CorpusReader(options.textField);
        SplitWriter train = new SplitWriter(outDir, "train", tok.vocabSize(), (int) options.shardTokens);
        SplitWriter val = new SplitWriter(outDir, "val", tok.vocabSize(), (int) options.shardTokens);
        MalformedCounts allMalformed = new MalformedCounts();
        List<ShardManifest.Source> sources = new ArrayList<>();
        long[] documentIndex = {0};
        for (int i = 0; i < inputs.size(); i++) {
            Path in = inputs.get(i);
            long before = documentIndex[0];
            MalformedCounts malformed = reader.read(in, formats.get(i), text -> {
                int[] ids = tok.encode(text);
                SplitWriter target = isValidation(documentIndex[0], seed, valFraction) ? val : train;
                target.addDocument(ids, tok.endOfTextId());
                documentIndex[0]++;
            });
            allMalformed.addAll(malformed);
            sources.add(new ShardManifest.Source(in.toAbsolutePath().normalize().toString(), Files.size(in),
                    documentIndex[0] - before, malformed));
        }
        if (documentIndex[0] == 0) {
            throw new IOException("no well-formed documents in " + inputs + "; " + allMalformed);
        }
        train.flush();
        val.flush();
        ShardManifest manifest = new ShardManifest(ShardManifest.FORMAT, 1, tok.name(), tok.vocabSize(),
                tok.endOfTextId(), valFraction, seed, options.shardTokens, options.textField, sources,
                train.summary(), val.summary(), allMalformed);
        manifest.write(outDir); // last: its presence marks a complete directory
        return manifest;
    }

    /**
     * Whether document {@code documentIndex} goes to validation: a SplitMix64 hash of (seed, index)
     * mapped to [0, 1) and compared with {@code valFraction}. Independent per document, so the val
     * share is {@code valFraction} in expectation, not exactly.
     */
    public static boolean isValidation(long documentIndex, long seed, double valFraction) {
        long h = mix64(seed ^ mix64(documentIndex + 0x9E3779B97F4A7C15L));
        double u = (h >>> 11) * 0x1.0p-53;
        return u < valFraction;
    }

    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Refuses to mix with an earlier run's shards unless told to replace them. */
    private static void prepareOutputDir(Path outDir, boolean overwrite) throws IOException {
        Files.createDirectories(outDir);
        List<Path> old = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(outDir, "{train,val}-*" + TokenShard.EXTENSION)) {
            ds.forEach(old::add);
        }
        Path manifest = outDir.resolve(ShardManifest.FILE_NAME);
        boolean hasManifest = Files.exists(manifest);
        if (!hasManifest && old.isEmpty()) {
            return;
        }
        if (!overwrite) {
            throw new IOException("output directory " + outDir + " already holds a tokenized corpus ("
                    + (hasManifest ? "manifest.json, " : "") + old.size() + " shard files); choose another directory"
                    + " or enable overwrite");
        }
        Files.deleteIfExists(manifest); // first, so a crash below never leaves a manifest naming deleted shards
        for (Path p : old) {
            Files.delete(p);
        }
    }

    /** Buffers one split's token stream and cuts it into shards of exactly {@code capacity} tokens. */
    private static final class SplitWriter {
        private final Path dir;
        private final String prefix;
        private final int vocab;
        private final int capacity;
        private int[] buf;
        private int size;
        private long documents;
        private long tokens;
        private final List<ShardManifest.Shard> shards = new ArrayList<>();
        private final int[] eotScratch = new int[1];

        SplitWriter(Path dir, String prefix, int vocab, int capacity) {
            this.dir = dir;
            this.prefix = prefix;
            this.vocab = vocab;
            this.capacity = capacity;
            this.buf = new int[Math.min(capacity, 1 << 16)]; // grows on demand: small corpora stay small
        }

        void addDocument(int[] ids, int eot) throws IOException {
            append(ids, ids.length);
            eotScratch[0] = eot;
            append(eotScratch, 1);
            documents++;
        }

        private void append(int[] ids, int length) throws IOException {
            int done = 0;
            while (done < length) {
                if (size == buf.length) {
                    buf = Arrays.copyOf(buf, (int) Math.min(capacity, 2L * buf.length));
                }
                int n = Math.min(length - done, buf.length - size);
                System.arraycopy(ids, done, buf, size, n);
                size += n;
                done += n;
                if (size == capacity) {
                    flush();
                }
            }
        }

        void flush() throws IOException {
            if (size == 0) {
                return;
            }
            String name = String.format("%s-%05d%s", prefix, shards.size(), TokenShard.EXTENSION);
            TokenShard.Header h = TokenShardWriter.write(dir.resolve(name), buf, 0, size, vocab);
            shards.add(new ShardManifest.Shard(name, size, TokenShard.dtypeName(h.dtype()), h.checksum()));
            tokens += size;
            size = 0;
        }

        ShardManifest.Split summary() {
            return new ShardManifest.Split(documents, tokens, List.copyOf(shards));
        }
    }
}
