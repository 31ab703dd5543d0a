package io.lowrank.spark.prepare;

import io.lowrank.worker.data.MalformedCounts;
import io.lowrank.worker.data.ShardManifest;
import io.lowrank.worker.data.TextTokenizer;
import io.lowrank.worker.data.TokenShard;
import io.lowrank.worker.data.TokenShardWriter;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.HashPartitioner;
import org.apache.spark.SparkException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

import java.io.BufferedOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * The Spark {@code prepare} job: input files -> tokenized documents -> packed, shuffled sequences
 * -> token shards + {@code manifest.json} in {@code <output>/<config-hash>/}.
 *
 * <p><b>Pipeline.</b>
 * <ol>
 *   <li>The driver lists the inputs ({@link InputListing}) and cuts them into splits in stream
 *       order. The config hash covers the settings that shape the shards and every input's URI,
 *       size and modification time; when {@code <output>/<hash>/manifest.json} exists the run is a
 *       no-op.</li>
 *   <li>Job 1: one task per split reads its documents ({@link SplitReader}), tokenizes them with
 *       the executor's shared tokenizer and appends end-of-text to each. The blocks are cached;
 *       the job returns per-split counts (documents, tokens, malformed records by kind), also
 *       published as named accumulators.</li>
 *   <li>The driver checks the malformed fraction and the token count, and derives the layout:
 *       the canonical stream is the blocks concatenated in split order; sequence {@code i} is
 *       stream tokens {@code [i(L), (i+1)L)} with {@code L = seq_len + 1}; the remainder is
 *       dropped. A seeded {@link FeistelPermutation} sends sequence {@code i} to position
 *       {@code p(i)}; positions {@code [0, V)} are validation, the rest training; each split is
 *       cut into shards of {@code floor(shard_tokens / L)} sequences.</li>
 *   <li>Job 2: every block cuts its tokens into pieces addressed to (shard, offset), a shuffle
 *       brings each shard's pieces to one task, which assembles the shard, checks that every
 *       token slot was filled exactly once, and writes it into a temp directory.</li>
 *   <li>The driver renames the temp directory to {@code <output>/<hash>} and writes the manifest
 *       last (temp file + rename), so a directory with a manifest is always complete.</li>
 * </ol>
 *
 * <p>Every step is a function of the canonical stream, the seed and the sizes, never of the split
 * size, the partition count or the task order: the same inputs and config give byte-identical
 * shards and manifest on any cluster.
 */
public final class PrepareJob {

    /** Version tag of this procedure, part of the config hash: change it when the output bytes would change. */
    public static final String ALGORITHM = "lowrank-prepare-v1";
    static final String TMP_PREFIX = "_tmp-";
    static final List<String> KIND_NAMES = Arrays.stream(MalformedCounts.Kind.values())
            .map(k -> k.name().toLowerCase(Locale.ROOT)).toList();

    private PrepareJob() {
    }

    /**
     * Runs (or recognises as already done) one prepare.
     *
     * @throws PrepareException for bad settings or inputs (missing path, unknown format, too many
     *                          malformed records, too few tokens for one sequence...); nothing in
     *                          the output root is changed then except removing this run's temp dir
     */
    public static PrepareResult run(SparkSession spark, PrepareOptions o) throws IOException {
        o.validate();
        long t0 = System.nanoTime();
        Consumer<String> log = o.progress();
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        Plan plan = plan(conf, o);
        PrepareResult existing = reuse(plan, t0);
        if (existing != null) {
            return existing;
        }
        TextTokenizer tok = plan.tok;
        int seqTokens = plan.seqTokens;
        long seqsPerShard = plan.seqsPerShard;
        List<InputListing.InputFile> files = plan.files;
        long totalBytes = plan.totalBytes;
        String hash = plan.hash;
        Path outRoot = plan.outRoot;
        FileSystem outFs = plan.outFs;
        Path dataset = plan.dataset;
        log.accept("prepare: config hash " + hash + " -> " + dataset);

        long splitBytes = o.splitBytes() > 0 ? o.splitBytes()
                : Math.max(1L << 20, Math.min(32L << 20, totalBytes / (2L * spark.sparkContext().defaultParallelism())));
        List<InputSplit> splits = InputListing.splits(conf, files, splitBytes);

        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Accumulators acc = new Accumulators(spark);
        HadoopConf hadoopConf = new HadoopConf(conf);
        String tokName = o.tokenizer();
        String field = o.textField();
        JavaRDD<TokenBlock> blocks = jsc.parallelize(splits, splits.size())
                .mapPartitions(it -> tokenizePartition(it, hadoopConf, tokName, field, acc));
        blocks.persist(StorageLevel.MEMORY_AND_DISK());
        Path tmp = null;
        try {
            jsc.setJobDescription("prepare: tokenize " + files.size() + " files in " + splits.size() + " splits");
            long t1 = System.nanoTime();
            List<SplitStats> stats = collect(blocks.map(b -> b.stats));
            Totals totals = Totals.of(stats, files);
            log.accept(String.format(Locale.ROOT, "prepare: tokenized %d documents into %d tokens with %s in %d tasks"
                            + " (%.1f s); malformed %s", totals.documents, totals.tokens, tok.name(), splits.size(),
                    (System.nanoTime() - t1) / 1e9, totals.malformedSummary()));
            checkMalformed(totals, o.maxMalformedFraction(), files);
            Layout layout = Layout.of(totals, o, seqTokens, seqsPerShard);
            log.accept(String.format(Locale.ROOT, "prepare: %d sequences of %d tokens (%d dropped at the end), %d train"
                            + " in %d shards, %d val in %d shards", layout.n, seqTokens, layout.dropped,
                    layout.n - layout.v, layout.trainShards, layout.v, layout.valShards));

            tmp = new Path(outRoot, TMP_PREFIX + hash + "-" + UUID.randomUUID());
            if (!outFs.mkdirs(tmp)) {
                throw new IOException("cannot create " + tmp);
            }
            long[] starts = totals.starts;
            String tmpUri = tmp.toString();
            int vocab = tok.vocabSize();
            int eot = tok.endOfTextId();
            jsc.setJobDescription("prepare: pack, shuffle and write " + layout.totalShards() + " shards");
            long t2 = System.nanoTime();
            JavaPairRDD<Integer, Piece> pieces = blocks.flatMapToPair(b -> new PieceIterator(b, starts[b.stats.splitIndex], layout));
            List<ShardResult> shards = collect(pieces.partitionBy(new HashPartitioner(layout.totalShards()))
                    .mapPartitionsWithIndex((id, it) -> writeShard(id, it, layout, tmpUri, hadoopConf, vocab, eot), true));
            shards = new ArrayList<>(shards);
            shards.sort((a, b) -> Integer.compare(a.shardId, b.shardId));
            checkShards(shards, layout);
            log.accept(String.format(Locale.ROOT, "prepare: wrote %d shards (%.1f s)", shards.size(),
                    (System.nanoTime() - t2) / 1e9));

            ShardManifest manifest = manifest(o, tok, files, totals, layout, shards, hash, seqTokens);
            publish(outFs, tmp, dataset, manifest, log);
            tmp = null;
            double seconds = (System.nanoTime() - t0) / 1e9;
            log.accept(String.format(Locale.ROOT, "prepare: done in %.1f s -> %s", seconds, dataset));
            return result(dataset.toString(), false, manifest, seconds);
        } finally {
            blocks.unpersist(false);
            jsc.setJobDescription(null);
            if (tmp != null) {
                try {
                    outFs.delete(tmp, true);
                } catch (IOException e) {
                    log.accept("prepare: could not remove temp dir " + tmp + ": " + e);
                }
            }
        }
    }

    // ------------------------------------------------------------------ identity and reuse

    /**
     * The dataset these inputs and settings already produced, or null when it does not exist
     * yet. Needs no Spark: the CLI calls it before starting a session, so a no-op re-run is fast.
     */
    public static PrepareResult existing(Configuration conf, PrepareOptions o) throws IOException {
        o.validate();
        long t0 = System.nanoTime();
        return reuse(plan(conf, o), t0);
    }

    /** What the driver knows before any Spark job: files, hash, directories. */
    private static final class Plan {
        TextTokenizer tok;
        int seqTokens;
        long seqsPerShard;
        List<InputListing.InputFile> files;
        long totalBytes;
        String hash;
        Path outRoot;
        FileSystem outFs;
        Path dataset;
        Consumer<String> log;
    }

    private static Plan plan(Configuration conf, PrepareOptions o) throws IOException {
        Plan p = new Plan();
        p.log = o.progress();
        p.tok = TokenizerCache.get(o.tokenizer());
        p.seqTokens = o.seqLen() + 1;
        p.seqsPerShard = o.shardTokens() / p.seqTokens;
        p.files = InputListing.list(conf, o.inputs(), o.format());
        p.totalBytes = p.files.stream().mapToLong(InputListing.InputFile::bytes).sum();
        p.log.accept(String.format(Locale.ROOT, "prepare: %d input files, %.1f MB, from %s", p.files.size(),
                p.totalBytes / 1e6, o.inputs()));
        p.hash = configHash(o, p.files, p.tok, p.seqsPerShard);
        Path outRoot = new Path(o.output());
        p.outFs = outRoot.getFileSystem(conf);
        p.outRoot = p.outFs.makeQualified(outRoot);
        if (p.outFs.exists(p.outRoot) && !p.outFs.getFileStatus(p.outRoot).isDirectory()) {
            throw new PrepareException("--output " + o.output() + " is a file; expected a directory (it holds one"
                    + " sub-directory per dataset)");
        }
        p.dataset = new Path(p.outRoot, p.hash);
        return p;
    }

    private static PrepareResult reuse(Plan p, long t0) throws IOException {
        PrepareResult r = reuse(p.outFs, p.dataset, p.hash, t0);
        if (r != null) {
            p.log.accept("prepare: " + p.dataset + " already holds this dataset (same inputs and config, hash " + p.hash
                    + "); nothing to do");
        }
        return r;
    }

    /**
     * Hash of everything that shapes the shards: the procedure version, tokenizer, seq_len,
     * validation size, seed, sequences per shard, text field and every input's URI, size,
     * modification time and format, in stream order. 16 hex digits of SHA-256.
     */
    static String configHash(PrepareOptions o, List<InputListing.InputFile> files, TextTokenizer tok, long seqsPerShard) {
        StringBuilder sb = new StringBuilder();
        sb.append("algorithm=").append(ALGORITHM).append('\n');
        sb.append("tokenizer=").append(tok.name()).append(" vocab=").append(tok.vocabSize())
                .append(" eot=").append(tok.endOfTextId()).append('\n');
        sb.append("seq_len=").append(o.seqLen()).append('\n');
        sb.append(o.valSequences() >= 0 ? "val_sequences=" + o.valSequences() : "val_fraction=" + o.valFraction()).append('\n');
        sb.append("seed=").append(o.seed()).append('\n');
        sb.append("sequences_per_shard=").append(seqsPerShard).append('\n');
        sb.append("text_field=").append(o.textField()).append('\n');
        for (InputListing.InputFile f : files) {
            sb.append("input\t").append(f.uri()).append('\t').append(f.bytes()).append('\t')
                    .append(f.modificationTime()).append('\t').append(f.format()).append('\n');
        }
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(sb.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The existing dataset when {@code dataset} already holds a complete one with this hash, else null. */
    private static PrepareResult reuse(FileSystem fs, Path dataset, String hash, long t0) throws IOException {
        Path mf = new Path(dataset, ShardManifest.FILE_NAME);
        if (!fs.exists(mf)) {
            return null;
        }
        ShardManifest m;
        try {
            m = ShardManifest.parse(readAll(fs, mf), mf.toString());
        } catch (IOException e) {
            throw new PrepareException("existing dataset " + dataset + " has an unreadable manifest (" + e.getMessage()
                    + "); delete " + dataset + " to prepare it again", e);
        }
        if (m.prepare() == null || !hash.equals(m.prepare().configHash())) {
            throw new PrepareException("existing directory " + dataset + " holds a different dataset (config hash "
                    + (m.prepare() == null ? "none" : m.prepare().configHash()) + ", expected " + hash + "); not touching it");
        }
        for (ShardManifest.Split split : List.of(m.train(), m.val())) {
            for (ShardManifest.Shard s : split.shards()) {
                Path p = new Path(dataset, s.file());
                long expected = TokenShard.HEADER_BYTES + s.tokens() * ("uint16".equals(s.dtype()) ? 2 : 4);
                FileStatus st;
                try {
                    st = fs.getFileStatus(p);
                } catch (FileNotFoundException e) {
                    throw new PrepareException("existing dataset " + dataset + " is damaged: shard " + p + " is missing;"
                            + " delete " + dataset + " to prepare it again");
                }
                if (st.getLen() != expected) {
                    throw new PrepareException("existing dataset " + dataset + " is damaged: shard " + p + " has "
                            + st.getLen() + " bytes, the manifest says " + expected + "; delete " + dataset
                            + " to prepare it again");
                }
            }
        }
        return result(fs.makeQualified(dataset).toString(), true, m, (System.nanoTime() - t0) / 1e9);
    }

    static byte[] readAll(FileSystem fs, Path p) throws IOException {
        try (FSDataInputStream in = fs.open(p)) {
            return in.readAllBytes();
        }
    }

    private static PrepareResult result(String dataset, boolean reused, ShardManifest m, double seconds) {
        ShardManifest.Prepare p = m.prepare();
        Map<String, Long> malformed = new LinkedHashMap<>();
        for (MalformedCounts.Kind k : MalformedCounts.Kind.values()) {
            malformed.put(k.name().toLowerCase(Locale.ROOT), m.malformed().count(k));
        }
        return new PrepareResult(dataset, reused, p.configHash(), p.documents(), p.trainSequences(), p.valSequences(),
                m.train().tokens() + m.val().tokens(), p.droppedTokens(), malformed,
                m.train().shards().size() + m.val().shards().size(), seconds);
    }

    // ------------------------------------------------------------------ job 1: tokenize

    /** Named accumulators, visible in the Spark UI and REST API per stage. */
    static final class Accumulators implements Serializable {
        private static final long serialVersionUID = 1L;
        final LongAccumulator documents;
        final LongAccumulator tokens;
        final LongAccumulator[] malformed;

        Accumulators(SparkSession spark) {
            documents = spark.sparkContext().longAccumulator("prepare documents");
            tokens = spark.sparkContext().longAccumulator("prepare tokens");
            malformed = new LongAccumulator[KIND_NAMES.size()];
            for (int i = 0; i < malformed.length; i++) {
                malformed[i] = spark.sparkContext().longAccumulator("prepare malformed " + KIND_NAMES.get(i));
            }
        }
    }

    /** One tokenizer for the whole partition (shared per executor JVM), one block per split. */
    static Iterator<TokenBlock> tokenizePartition(Iterator<InputSplit> splits, HadoopConf conf, String tokenizer,
                                                  String textField, Accumulators acc) throws IOException {
        TextTokenizer tok = TokenizerCache.get(tokenizer);
        SplitReader reader = new SplitReader(conf.get(), textField);
        List<TokenBlock> out = new ArrayList<>();
        while (splits.hasNext()) {
            InputSplit split = splits.next();
            checkUnchanged(split, conf.get());
            SplitStats stats = new SplitStats(split.index, split.fileIndex);
            IntBuffer buf = new IntBuffer();
            int eot = tok.endOfTextId();
            try {
                reader.read(split, new SplitReader.Sink() {
                    @Override
                    public void document(String text) {
                        buf.add(tok.encode(text));
                        buf.add(eot);
                        stats.documents++;
                    }

                    @Override
                    public void malformed(MalformedCounts.Kind kind, String location) {
                        stats.malformed[kind.ordinal()]++;
                        stats.addExample(location + ": " + KIND_NAMES.get(kind.ordinal()));
                    }
                });
            } catch (PrepareException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw new PrepareException("reading input " + split + ": " + e, e);
            }
            stats.tokens = buf.size;
            acc.documents.add(stats.documents);
            acc.tokens.add(stats.tokens);
            for (int k = 0; k < stats.malformed.length; k++) {
                acc.malformed[k].add(stats.malformed[k]);
            }
            out.add(new TokenBlock(stats, buf.toArray()));
        }
        return out.iterator();
    }

    private static void checkUnchanged(InputSplit split, Configuration conf) throws IOException {
        Path p = new Path(split.uri);
        FileStatus st;
        try {
            st = p.getFileSystem(conf).getFileStatus(p);
        } catch (FileNotFoundException e) {
            throw new PrepareException("input file " + split.uri + " disappeared while preparing");
        }
        if (st.getLen() != split.fileBytes || st.getModificationTime() != split.fileModificationTime) {
            throw new PrepareException("input file " + split.uri + " changed while preparing (size " + split.fileBytes
                    + " -> " + st.getLen() + ", modified " + split.fileModificationTime + " -> "
                    + st.getModificationTime() + "); run again when it is stable");
        }
    }

    /** Growable int array. */
    static final class IntBuffer {
        int[] data = new int[1 << 12];
        int size;

        void add(int v) {
            ensure(1);
            data[size++] = v;
        }

        void add(int[] vs) {
            ensure(vs.length);
            System.arraycopy(vs, 0, data, size, vs.length);
            size += vs.length;
        }

        private void ensure(int more) {
            if ((long) size + more > Integer.MAX_VALUE - 16) {
                throw new PrepareException("one input split holds more than 2^31 tokens; use a smaller split size");
            }
            if (size + more > data.length) {
                data = Arrays.copyOf(data, (int) Math.min(Integer.MAX_VALUE - 16, Math.max(size + more, 2L * data.length)));
            }
        }

        int[] toArray() {
            return Arrays.copyOf(data, size);
        }
    }

    /** Sums of the per-split counts, and each split's offset in the canonical stream. */
    static final class Totals {
        long documents;
        long tokens;
        long[] malformed = new long[KIND_NAMES.size()];
        long[] malformedByFile;
        long[][] malformedByFileKind;
        List<List<String>> examplesByFile = new ArrayList<>();
        long[] documentsByFile;
        List<String> examples = new ArrayList<>();
        long[] starts;

        static Totals of(List<SplitStats> stats, List<InputListing.InputFile> files) {
            Totals t = new Totals();
            t.starts = new long[stats.size()];
            t.malformedByFile = new long[files.size()];
            t.malformedByFileKind = new long[files.size()][t.malformed.length];
            for (int f = 0; f < files.size(); f++) {
                t.examplesByFile.add(new ArrayList<>());
            }
            t.documentsByFile = new long[files.size()];
            for (int i = 0; i < stats.size(); i++) {
                SplitStats s = stats.get(i);
                if (s.splitIndex != i) {
                    throw new IllegalStateException("split results out of order: got split " + s.splitIndex + " at " + i);
                }
                t.starts[i] = t.tokens;
                t.documents += s.documents;
                t.tokens += s.tokens;
                t.documentsByFile[s.fileIndex] += s.documents;
                for (int k = 0; k < t.malformed.length; k++) {
                    t.malformed[k] += s.malformed[k];
                    t.malformedByFileKind[s.fileIndex][k] += s.malformed[k];
                }
                t.examplesByFile.get(s.fileIndex).addAll(List.of(s.examples));
                t.malformedByFile[s.fileIndex] += s.malformedTotal();
                for (String e : s.examples) {
                    if (t.examples.size() < 10) {
                        t.examples.add(e);
                    }
                }
            }
            return t;
        }

        long malformedTotal() {
            return Arrays.stream(malformed).sum();
        }

        String malformedSummary() {
            StringBuilder sb = new StringBuilder();
            for (int k = 0; k < malformed.length; k++) {
                sb.append(k == 0 ? "" : ", ").append(KIND_NAMES.get(k)).append('=').append(malformed[k]);
            }
            return sb.toString();
        }

        /** As a manifest record: overall ({@code file < 0}) or for input file {@code file}. */
        MalformedCounts toCounts(int file) {
            long[] counts = file < 0 ? malformed : malformedByFileKind[file];
            MalformedCounts c = new MalformedCounts();
            for (int k = 0; k < counts.length; k++) {
                c.addCount(MalformedCounts.Kind.values()[k], counts[k]);
            }
            (file < 0 ? examples : examplesByFile.get(file)).forEach(c::addExample);
            return c;
        }
    }

    private static void checkMalformed(Totals t, double maxFraction, List<InputListing.InputFile> files) {
        long bad = t.malformedTotal();
        long records = t.documents + bad;
        if (records == 0) {
            throw new PrepareException("no documents in the inputs " + files.stream().map(InputListing.InputFile::uri).toList());
        }
        double fraction = (double) bad / records;
        if (fraction > maxFraction || t.documents == 0) {
            StringBuilder byFile = new StringBuilder();
            int listed = 0;
            for (int f = 0; f < files.size(); f++) {
                if (t.malformedByFile[f] > 0 && listed < 20) {
                    byFile.append(listed++ == 0 ? "" : ", ").append(files.get(f).uri()).append(": ").append(t.malformedByFile[f]);
                }
            }
            throw new PrepareException(String.format(Locale.ROOT,
                    "%d of %d records (%.2f%%) are malformed, above --max-malformed-fraction %s: %s; by file: %s;"
                            + " first: %s; nothing was written", bad, records, 100.0 * fraction, maxFraction,
                    t.malformedSummary(), byFile, t.examples));
        }
    }

    // ------------------------------------------------------------------ layout

    /**
     * Where every sequence goes. Shard ids: validation shards {@code [0, valShards)}, then
     * training shards; within a split, shard {@code j} holds positions {@code [j*k, (j+1)*k)}.
     */
    static final class Layout implements Serializable {
        private static final long serialVersionUID = 1L;
        int seqTokens;
        long n;
        long v;
        long dropped;
        long seqsPerShard;
        int valShards;
        int trainShards;
        FeistelPermutation perm;

        static Layout of(Totals t, PrepareOptions o, int seqTokens, long seqsPerShard) {
            Layout l = new Layout();
            l.seqTokens = seqTokens;
            l.n = t.tokens / seqTokens;
            l.dropped = t.tokens - l.n * seqTokens;
            if (l.n == 0) {
                throw new PrepareException("--seq-len " + o.seqLen() + " is too large for the input: its " + t.documents
                        + " documents hold " + t.tokens + " tokens (with end-of-text), fewer than one sequence of seq_len + 1 = "
                        + seqTokens + " tokens");
            }
            long v;
            if (o.valSequences() >= 0) {
                v = o.valSequences();
            } else {
                v = Math.round(l.n * o.valFraction());
                if (v == 0 && o.valFraction() > 0 && l.n >= 2) {
                    v = 1;
                }
            }
            if (v >= l.n) {
                throw new PrepareException("validation would take " + v + " of the " + l.n + " sequences ("
                        + (o.valSequences() >= 0 ? "--val-sequences " + o.valSequences() : "--val-fraction " + o.valFraction())
                        + "), leaving none for training; lower it or use a smaller --seq-len");
            }
            l.v = v;
            l.seqsPerShard = seqsPerShard;
            long valShards = (v + seqsPerShard - 1) / seqsPerShard;
            long trainShards = (l.n - v + seqsPerShard - 1) / seqsPerShard;
            if (valShards + trainShards > Integer.MAX_VALUE / 2) {
                throw new PrepareException("--shard-tokens " + o.shardTokens() + " gives " + (valShards + trainShards)
                        + " shards; use larger shards");
            }
            l.valShards = (int) valShards;
            l.trainShards = (int) trainShards;
            l.perm = new FeistelPermutation(l.n, o.seed());
            return l;
        }

        int totalShards() {
            return valShards + trainShards;
        }

        /** Shard id of position {@code pos}. */
        int shardOf(long pos) {
            return pos < v ? (int) (pos / seqsPerShard) : valShards + (int) ((pos - v) / seqsPerShard);
        }

        /** Sequence slot of {@code pos} within its shard. */
        long slotOf(long pos) {
            return pos < v ? pos % seqsPerShard : (pos - v) % seqsPerShard;
        }

        boolean isVal(int shardId) {
            return shardId < valShards;
        }

        int indexInSplit(int shardId) {
            return isVal(shardId) ? shardId : shardId - valShards;
        }

        long sequencesIn(int shardId) {
            long splitSeqs = isVal(shardId) ? v : n - v;
            return Math.min(seqsPerShard, splitSeqs - (long) indexInSplit(shardId) * seqsPerShard);
        }

        static String fileName(boolean val, int index) {
            return String.format(Locale.ROOT, "%s-%05d%s", val ? "val" : "train", index, TokenShard.EXTENSION);
        }
    }

    // ------------------------------------------------------------------ job 2: pack, shuffle, write

    /** Cuts one block into pieces that do not cross a sequence boundary, addressed to their shard slot. */
    static final class PieceIterator implements Iterator<Tuple2<Integer, Piece>> {
        private final int[] tokens;
        private final Layout layout;
        private final long start; // stream position of tokens[0]
        private final long end;   // stream position after the last token of this block that lands in a sequence
        private long g;           // stream position of the next token

        PieceIterator(TokenBlock block, long start, Layout layout) {
            this.tokens = block.tokens;
            this.layout = layout;
            this.start = start;
            this.g = start;
            this.end = Math.min(start + tokens.length, layout.n * layout.seqTokens);
        }

        @Override
        public boolean hasNext() {
            return g < end;
        }

        @Override
        public Tuple2<Integer, Piece> next() {
            if (g >= end) {
                throw new NoSuchElementException();
            }
            long seqTokens = layout.seqTokens;
            long seq = g / seqTokens;
            long off = g % seqTokens;
            int len = (int) Math.min(seqTokens - off, end - g);
            int from = (int) (g - start);
            long pos = layout.perm.apply(seq);
            Piece piece = new Piece(layout.slotOf(pos) * seqTokens + off, Arrays.copyOfRange(tokens, from, from + len));
            g += len;
            return new Tuple2<>(layout.shardOf(pos), piece);
        }
    }

    static Iterator<ShardResult> writeShard(int shardId, Iterator<Tuple2<Integer, Piece>> pieces, Layout layout,
                                            String tmpDir, HadoopConf conf, int vocab, int eot) throws IOException {
        if (shardId >= layout.totalShards()) {
            return List.<ShardResult>of().iterator();
        }
        long seqs = layout.sequencesIn(shardId);
        int[] data = new int[(int) (seqs * layout.seqTokens)];
        long filled = 0;
        while (pieces.hasNext()) {
            Tuple2<Integer, Piece> t = pieces.next();
            if (t._1() != shardId) {
                throw new IllegalStateException("piece for shard " + t._1() + " arrived at shard " + shardId);
            }
            Piece p = t._2();
            System.arraycopy(p.tokens, 0, data, (int) p.destOffset, p.tokens.length);
            filled += p.tokens.length;
        }
        if (filled != data.length) {
            throw new IllegalStateException("shard " + shardId + " received " + filled + " tokens, expected " + data.length);
        }
        long ends = 0;
        for (int id : data) {
            if (id == eot) {
                ends++;
            }
        }
        boolean val = layout.isVal(shardId);
        String name = Layout.fileName(val, layout.indexInSplit(shardId));
        Path dir = new Path(tmpDir);
        FileSystem fs = dir.getFileSystem(conf.get());
        Path file = new Path(dir, name);
        TaskContext ctx = TaskContext.get();
        Path part = new Path(dir, "." + name + ".attempt-" + (ctx == null ? UUID.randomUUID() : ctx.taskAttemptId()));
        TokenShard.Header h;
        try (OutputStream out = new BufferedOutputStream(fs.create(part, true), 1 << 20)) {
            h = TokenShardWriter.write(out, data, 0, data.length, vocab, file.toString());
        }
        if (!fs.rename(part, file)) {
            if (fs.exists(file)) {
                fs.delete(part, false); // another attempt of this task wrote the same bytes first
            } else {
                throw new IOException("could not rename " + part + " to " + file);
            }
        }
        ShardResult r = new ShardResult();
        r.shardId = shardId;
        r.split = val ? "val" : "train";
        r.file = name;
        r.tokens = data.length;
        r.sequences = seqs;
        r.crc32c = h.checksum();
        r.dtype = TokenShard.dtypeName(h.dtype());
        r.bytes = TokenShard.HEADER_BYTES + h.payloadBytes();
        r.documentEnds = ends;
        return List.of(r).iterator();
    }

    private static void checkShards(List<ShardResult> shards, Layout layout) {
        if (shards.size() != layout.totalShards()) {
            throw new IllegalStateException("wrote " + shards.size() + " shards, expected " + layout.totalShards());
        }
        long seqs = 0;
        for (int i = 0; i < shards.size(); i++) {
            if (shards.get(i).shardId != i) {
                throw new IllegalStateException("shard " + i + " missing");
            }
            seqs += shards.get(i).sequences;
        }
        if (seqs != layout.n) {
            throw new IllegalStateException("shards hold " + seqs + " sequences, expected " + layout.n);
        }
    }

    // ------------------------------------------------------------------ manifest and publication

    private static ShardManifest manifest(PrepareOptions o, TextTokenizer tok, List<InputListing.InputFile> files,
                                          Totals t, Layout layout, List<ShardResult> shards, String hash, int seqTokens) {
        List<ShardManifest.Source> sources = new ArrayList<>();
        List<ShardManifest.Input> inputs = new ArrayList<>();
        for (int f = 0; f < files.size(); f++) {
            InputListing.InputFile in = files.get(f);
            sources.add(new ShardManifest.Source(in.uri(), in.bytes(), t.documentsByFile[f], t.toCounts(f)));
            inputs.add(new ShardManifest.Input(in.uri(), in.bytes(), in.modificationTime(), in.format()));
        }
        ShardManifest.Split train = split(shards, "train");
        ShardManifest.Split val = split(shards, "val");
        ShardManifest.Prepare prep = new ShardManifest.Prepare(o.seqLen(), hash, ALGORITHM, t.documents, t.tokens,
                layout.dropped, layout.n - layout.v, layout.v, layout.seqsPerShard, o.format().label(), inputs);
        double valFraction = o.valSequences() >= 0 ? (double) layout.v / layout.n : o.valFraction();
        return new ShardManifest(ShardManifest.FORMAT, 1, tok.name(), tok.vocabSize(), tok.endOfTextId(), valFraction,
                o.seed(), layout.seqsPerShard * seqTokens, o.textField(), sources, train, val,
                t.toCounts(-1), prep);
    }

    private static ShardManifest.Split split(List<ShardResult> shards, String name) {
        long tokens = 0;
        long ends = 0;
        List<ShardManifest.Shard> list = new ArrayList<>();
        for (ShardResult r : shards) {
            if (r.split.equals(name)) {
                tokens += r.tokens;
                ends += r.documentEnds;
                list.add(new ShardManifest.Shard(r.file, r.tokens, r.dtype, r.crc32c));
            }
        }
        return new ShardManifest.Split(ends, tokens, list);
    }

    /**
     * Moves the finished temp dir to its final name, then writes the manifest into it (temp file +
     * rename): the manifest appears last even where a directory rename is a copy (s3a). A final
     * directory without a manifest is an interrupted publication; it is moved aside, not deleted.
     */
    private static void publish(FileSystem fs, Path tmp, Path dataset, ShardManifest manifest, Consumer<String> log)
            throws IOException {
        if (fs.exists(dataset)) {
            if (fs.exists(new Path(dataset, ShardManifest.FILE_NAME))) {
                throw new PrepareException("dataset " + dataset + " appeared while this run was preparing it"
                        + " (a concurrent prepare?); its copy is kept and this run's output discarded");
            }
            Path aside = new Path(dataset.getParent(), "_incomplete-" + dataset.getName() + "-" + System.currentTimeMillis());
            log.accept("prepare: " + dataset + " exists without a manifest (interrupted run); moving it to " + aside);
            if (!fs.rename(dataset, aside)) {
                throw new IOException("could not move the incomplete " + dataset + " aside to " + aside);
            }
        }
        if (!fs.rename(tmp, dataset)) {
            throw new IOException("could not rename " + tmp + " to " + dataset);
        }
        byte[] json = manifest.toJson();
        Path mtmp = new Path(dataset, "." + ShardManifest.FILE_NAME + ".tmp");
        try (FSDataOutputStream out = fs.create(mtmp, true)) {
            out.write(json);
        }
        if (!fs.rename(mtmp, new Path(dataset, ShardManifest.FILE_NAME))) {
            throw new IOException("could not rename " + mtmp + " to the manifest");
        }
    }

    // ------------------------------------------------------------------ Spark plumbing

    /** {@code rdd.collect()}, with a task's {@link PrepareException} surfacing as itself. */
    private static <T> List<T> collect(JavaRDD<T> rdd) {
        try {
            return rdd.collect();
        } catch (Exception e) { // Scala code throws the checked SparkException undeclared
            if (e instanceof SparkException se) {
                throw unwrap(se);
            }
            if (e instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e);
        }
    }

    /** The PrepareException a task threw, instead of Spark's "Job aborted due to stage failure" wrapper. */
    static RuntimeException unwrap(SparkException e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof PrepareException pe) {
                return new PrepareException(pe.getMessage(), e);
            }
        }
        String msg = e.getMessage() == null ? "" : e.getMessage();
        int i = msg.indexOf(PrepareException.class.getName() + ": ");
        if (i >= 0) {
            String rest = msg.substring(i + PrepareException.class.getName().length() + 2);
            int nl = rest.indexOf('\n');
            return new PrepareException(nl >= 0 ? rest.substring(0, nl) : rest, e);
        }
        return new PrepareException("prepare failed in Spark: " + msg, e);
    }

}
