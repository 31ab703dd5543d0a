package io.lowrank.spark.prepare;

import io.lowrank.worker.data.CorpusReader;
import io.lowrank.worker.data.ShardManifest;
import io.lowrank.worker.data.TokenCursor;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The prepare job on a real local[2] Spark session, reading and writing through Hadoop's file:// file system. */
class PrepareJobTest {
    static final int SEQ_LEN = 31;
    static final int L = SEQ_LEN + 1;

    private static SparkSession spark() {
        return SparkTestSession.get();
    }

    private static Configuration conf() {
        return spark().sparkContext().hadoopConfiguration();
    }

    /** Three formats in one run: a text file, a gzip JSONL file reached by a glob, a Parquet directory. */
    record Inputs(Path text, Path jsonl, Path parquetDir, List<String> docs, List<String> uris) {
    }

    private static Inputs threeFormats(Path dir, long seed) throws IOException {
        Random r = new Random(seed);
        Files.createDirectories(dir.resolve("j"));
        Path text = dir.resolve("a.txt");
        Path jsonl = dir.resolve("j/b.jsonl.gz");
        Path parquet = dir.resolve("pq");
        List<String> docs = new ArrayList<>(Corpus.writeText(text, r, 180));
        docs.addAll(Corpus.writeJsonlGz(jsonl, r, 120));
        docs.addAll(Corpus.writeParquet(spark(), parquet, "text", r, 100));
        // the reference reader agrees with what was written (so the expectation does not trust SplitReader)
        assertEquals(docs.subList(0, 180), Corpus.read(text, CorpusReader.Format.TEXT));
        assertEquals(docs.subList(180, 300), Corpus.read(jsonl, CorpusReader.Format.JSONL));
        return new Inputs(text, jsonl, parquet, docs,
                List.of(text.toUri().toString(), dir.toUri() + "j/*.jsonl.gz", parquet.toUri().toString()));
    }

    private static PrepareOptions options(Inputs in, Path out) {
        return new PrepareOptions().inputs(in.uris()).output(out.toUri().toString()).seqLen(SEQ_LEN)
                .valFraction(0.1).seed(7).shardTokens(L * 60 + 5).splitBytes(5000).progress(s -> { });
    }

    @Test
    void threeFormatsArePackedShuffledAndSplitWithEveryTokenOnce(@TempDir Path dir) throws IOException {
        Inputs in = threeFormats(dir.resolve("in"), 1);
        Path out = dir.resolve("out");
        PrepareResult r = PrepareJob.run(spark(), options(in, out));

        int[] stream = Corpus.stream(in.docs());
        long n = stream.length / L;
        assertFalse(r.reused());
        assertEquals(400, r.documents());
        assertEquals(n, r.trainSequences() + r.valSequences());
        assertEquals(Math.round(n * 0.1), r.valSequences());
        assertEquals(n * L, r.tokens());
        assertEquals(stream.length - n * L, r.droppedTokens());
        assertEquals(Map.of("bad_json", 0L, "missing_field", 0L, "wrong_type", 0L, "empty_text", 0L, "bad_utf8", 0L), r.malformed());

        Path ds = out.resolve(r.configHash());
        assertEquals(ds, Path.of(java.net.URI.create(r.dataset())));
        ShardManifest m = ShardManifest.read(ds); // worker-runtime's own reader loads it
        assertEquals("gpt2-32k", m.tokenizer());
        assertEquals(32000, m.vocabSize());
        assertEquals(31999, m.endOfTextId());
        assertEquals(SEQ_LEN, m.prepare().seqLen());
        assertEquals(r.configHash(), m.prepare().configHash());
        assertEquals(60L * L, m.shardTokens());
        assertEquals(3, m.sources().size());
        assertEquals(List.of(180L, 120L, 100L), m.sources().stream().map(ShardManifest.Source::documents).toList());
        assertEquals(r.trainSequences(), m.prepare().trainSequences());
        assertTrue(m.train().shards().size() >= 5, "several train shards: " + m.train().shards().size());
        for (ShardManifest.Shard s : m.train().shards()) {
            assertTrue(s.tokens() <= 60L * L);
        }

        List<int[]> train = Corpus.stored(ds, m.train(), L);
        List<int[]> val = Corpus.stored(ds, m.val(), L);
        assertEquals(r.trainSequences(), train.size());
        assertEquals(r.valSequences(), val.size());
        List<int[]> all = new ArrayList<>(train);
        all.addAll(val);
        // every sequence of the canonical stream exactly once (so every token once, remainder dropped)
        assertEquals(Corpus.sequences(stream, L), Corpus.multiset(all));
        assertEquals(Corpus.tokenCounts(stream, (int) (n * L)), Corpus.tokenCounts(all));
        // end-of-text ids: one per document, minus those in the dropped tail
        long eots = Arrays.stream(stream, 0, (int) (n * L)).filter(t -> t == 31999).count();
        assertEquals(eots, m.train().documents() + m.val().documents());
        // shuffled: the stored order is not the stream order
        int inPlace = 0;
        for (int i = 0; i < train.size(); i++) {
            if (Arrays.equals(train.get(i), Arrays.copyOfRange(stream, i * L, (i + 1) * L))) {
                inPlace++;
            }
        }
        assertTrue(inPlace < train.size() / 10, inPlace + " of " + train.size() + " sequences in stream order");

        // the trainer's cursor over the train shards sees exactly the stored sequences, in order
        TokenCursor cursor = new TokenCursor(m.trainFiles(ds));
        int[] batch = new int[3 * L];
        cursor.next(batch, 3, SEQ_LEN);
        for (int b = 0; b < 3; b++) {
            assertArrayEquals(train.get(b), Arrays.copyOfRange(batch, b * L, (b + 1) * L));
        }

        // the loader the train side uses
        PreparedDataset p = PreparedDataset.open(conf(), r.dataset());
        assertEquals(SEQ_LEN, p.seqLen());
        assertEquals("gpt2-32k", p.tokenizer());
        assertEquals(32000, p.vocabSize());
        assertEquals(31999, p.endOfTextId());
        assertEquals(r.configHash(), p.configHash());
        assertEquals(r.trainSequences(), p.trainSequences());
        assertEquals(r.valSequences() * L, p.valTokens());
        assertEquals(m.train().shards().size(), p.trainShardUris().size());
        assertTrue(p.trainShardUris().get(1).endsWith("/train-00001.tok"), p.trainShardUris().get(1));
    }

    @Test
    void sameInputsAndConfigGiveIdenticalBytesWhateverTheSplitsAndRerunIsANoOp(@TempDir Path dir) throws IOException {
        Inputs in = threeFormats(dir.resolve("in"), 2);
        Path out1 = dir.resolve("out1");
        Path out2 = dir.resolve("out2");
        List<InputSplit> splits = InputListing.splits(conf(), InputListing.list(conf(), in.uris(), PrepareOptions.Format.AUTO), 1200);
        assertTrue(splits.stream().filter(s -> s.format.equals("parquet")).count() > 1, "Parquet cut by row groups: " + splits);
        assertTrue(splits.stream().filter(s -> s.format.equals("text")).count() > 10, "text cut by bytes: " + splits);
        PrepareResult a = PrepareJob.run(spark(), options(in, out1).splitBytes(1200));
        Path ds1 = out1.resolve(a.configHash());
        Map<String, byte[]> first = Corpus.files(ds1);
        FileTime shardTime = Files.getLastModifiedTime(ds1.resolve("train-00000.tok"));

        PrepareResult again = PrepareJob.run(spark(), options(in, out1).splitBytes(1200));
        assertTrue(again.reused());
        assertEquals(a.configHash(), again.configHash());
        assertEquals(a.trainSequences(), again.trainSequences());
        assertEquals(a.documents(), again.documents());
        assertEquals(shardTime, Files.getLastModifiedTime(ds1.resolve("train-00000.tok")), "a no-op rewrites nothing");
        try (Stream<Path> s = Files.list(out1)) {
            assertEquals(List.of(ds1), s.toList(), "no second dataset, no temp dir left");
        }

        // other split size (1 split per file instead of many) into another root: same hash, same bytes
        PrepareResult b = PrepareJob.run(spark(), options(in, out2).splitBytes(1 << 20));
        assertFalse(b.reused());
        assertEquals(a.configHash(), b.configHash());
        Map<String, byte[]> second = Corpus.files(out2.resolve(b.configHash()));
        assertEquals(first.keySet(), second.keySet());
        for (String f : first.keySet()) {
            assertArrayEquals(first.get(f), second.get(f), f);
        }
    }

    @Test
    void aChangedConfigOrInputWritesANewDatasetAndKeepsTheOld(@TempDir Path dir) throws IOException {
        Inputs in = threeFormats(dir.resolve("in"), 3);
        Path out = dir.resolve("out");
        PrepareResult a = PrepareJob.run(spark(), options(in, out));
        Map<String, byte[]> before = Corpus.files(out.resolve(a.configHash()));

        PrepareResult b = PrepareJob.run(spark(), options(in, out).seed(8));
        assertFalse(b.reused());
        assertNotEquals(a.configHash(), b.configHash());
        assertEquals(a.trainSequences() + a.valSequences(), b.trainSequences() + b.valSequences());
        Path dsA = out.resolve(a.configHash());
        Path dsB = out.resolve(b.configHash());
        // same sequences, another shuffle
        List<int[]> seqA = new ArrayList<>(Corpus.stored(dsA, ShardManifest.read(dsA).train(), L));
        seqA.addAll(Corpus.stored(dsA, ShardManifest.read(dsA).val(), L));
        List<int[]> seqB = new ArrayList<>(Corpus.stored(dsB, ShardManifest.read(dsB).train(), L));
        seqB.addAll(Corpus.stored(dsB, ShardManifest.read(dsB).val(), L));
        assertEquals(Corpus.multiset(seqA), Corpus.multiset(seqB));
        assertFalse(Arrays.equals(seqA.get(0), seqB.get(0)) && Arrays.equals(seqA.get(1), seqB.get(1)));

        PrepareResult c = PrepareJob.run(spark(), options(in, out).seqLen(15));
        assertNotEquals(a.configHash(), c.configHash());
        assertEquals(15, PreparedDataset.open(conf(), c.dataset()).seqLen());

        // an input touched (new modification time) is a new input
        Files.setLastModifiedTime(in.text(), FileTime.fromMillis(Files.getLastModifiedTime(in.text()).toMillis() + 5000));
        PrepareResult d = PrepareJob.run(spark(), options(in, out));
        assertFalse(d.reused());
        assertNotEquals(a.configHash(), d.configHash());

        Map<String, byte[]> after = Corpus.files(dsA);
        assertEquals(before.keySet(), after.keySet());
        for (String f : before.keySet()) {
            assertArrayEquals(before.get(f), after.get(f), "old dataset untouched: " + f);
        }
    }

    @Test
    void malformedRecordsAreCountedPerKindAndTheThresholdFailsWithCountsAndFiles(@TempDir Path dir) throws IOException {
        Path bad = dir.resolve("bad.jsonl");
        Random r = new Random(5);
        StringBuilder sb = new StringBuilder();
        int good = 0;
        for (int i = 0; i < 60; i++) {
            sb.append("{\"text\": \"").append(Corpus.sentence(r, 20)).append("\"}\n");
            good++;
        }
        sb.append("{not json\n").append("{\"text\": \"unterminated\n").append("[\"an\", \"array\"]\n"); // 3 bad_json
        sb.append("{\"body\": \"no text field\"}\n").append("{\"id\": 1}\n");                         // 2 missing_field
        sb.append("{\"text\": 12}\n");                                                                 // 1 wrong_type
        sb.append("{\"text\": \"  \"}\n").append("{\"text\": \"\"}\n").append("{\"text\": \"\\t\"}\n"); // 3 empty_text
        byte[] head = sb.toString().getBytes(StandardCharsets.UTF_8);
        byte[] badUtf8 = {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xC0, (byte) 0xAF, '"', '}', '\n'};
        Files.write(bad, concat(head, badUtf8, badUtf8));                                              // 2 bad_utf8
        Path text = dir.resolve("t.txt");
        Files.write(text, concat("first paragraph\nstill first\n\n".getBytes(StandardCharsets.UTF_8),
                new byte[]{'b', 'r', 'o', 'k', 'e', 'n', ' ', (byte) 0xFF, '\n', '\n'},                // 1 bad_utf8
                "last paragraph\n".getBytes(StandardCharsets.UTF_8)));
        PrepareOptions o = new PrepareOptions().inputs(bad.toUri().toString(), text.toUri().toString())
                .output(dir.resolve("out").toUri().toString()).seqLen(16).valFraction(0).splitBytes(300).progress(s -> { });

        PrepareResult ok = PrepareJob.run(spark(), o.maxMalformedFraction(0.5));
        assertEquals(good + 2, ok.documents());
        assertEquals(Map.of("bad_json", 3L, "missing_field", 2L, "wrong_type", 1L, "empty_text", 3L, "bad_utf8", 3L),
                ok.malformed());
        assertEquals(0, ok.valSequences());
        ShardManifest m = ShardManifest.read(dir.resolve("out").resolve(ok.configHash()));
        assertEquals(3, m.malformed().badJson());
        assertEquals(3, m.malformed().badUtf8());
        assertEquals(2, m.sources().get(0).malformed().badUtf8());
        assertEquals(1, m.sources().get(1).malformed().badUtf8());
        assertTrue(m.malformed().examples().stream().anyMatch(e -> e.contains("bad.jsonl") && e.endsWith("bad_json")),
                m.malformed().examples().toString());
        assertTrue(m.val().shards().isEmpty());

        Path out2 = dir.resolve("out2");
        PrepareException e = assertThrows(PrepareException.class,
                () -> PrepareJob.run(spark(), o.output(out2.toUri().toString()).maxMalformedFraction(0.1)));
        String msg = e.getMessage();
        for (String part : List.of("12 of 74 records", "bad_json=3", "missing_field=2", "wrong_type=1", "empty_text=3",
                "bad_utf8=3", "--max-malformed-fraction 0.1", bad.toUri().toString().replaceAll("^file:/+", "") + ": 11",
                "t.txt: 1")) {
            assertTrue(msg.contains(part), "'" + part + "' missing from: " + msg);
        }
        assertFalse(Files.exists(out2), "a failed run leaves nothing behind");
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int i = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, i, p.length);
            i += p.length;
        }
        return out;
    }

    @Test
    void badInputFailsClearlyAndKeepsWhatWasWritten(@TempDir Path dir) throws IOException {
        Inputs in = threeFormats(dir.resolve("in"), 4);
        Path out = dir.resolve("out");
        PrepareResult good = PrepareJob.run(spark(), options(in, out));
        Map<String, byte[]> before = Corpus.files(out);

        String missing = dir.resolve("in/nope.txt").toUri().toString();
        PrepareException e1 = assertThrows(PrepareException.class,
                () -> PrepareJob.run(spark(), options(in, out).inputs(missing)));
        assertTrue(e1.getMessage().contains("nope.txt") && e1.getMessage().contains("does not exist"), e1.getMessage());

        PrepareException e2 = assertThrows(PrepareException.class,
                () -> PrepareJob.run(spark(), options(in, out).inputs(dir.toUri() + "in/zz*.jsonl")));
        assertTrue(e2.getMessage().contains("zz*.jsonl") && e2.getMessage().contains("matches no file"), e2.getMessage());

        Path csv = dir.resolve("in/table.csv");
        Files.writeString(csv, "a,b\n1,2\n");
        PrepareException e3 = assertThrows(PrepareException.class,
                () -> PrepareJob.run(spark(), options(in, out).inputs(csv.toUri().toString())));
        assertTrue(e3.getMessage().contains("table.csv") && e3.getMessage().contains("--format"), e3.getMessage());

        PrepareException e4 = assertThrows(PrepareException.class,
                () -> PrepareJob.run(spark(), options(in, out).seqLen(100_000).shardTokens(200_000)));
        assertTrue(e4.getMessage().contains("--seq-len 100000") && e4.getMessage().contains("400 documents"), e4.getMessage());

        PrepareException e5 = assertThrows(PrepareException.class,
                () -> PrepareJob.run(spark(), options(in, out).textField("body")));
        assertTrue(e5.getMessage().contains("no column 'body'") && e5.getMessage().contains("pq"), e5.getMessage());

        PrepareException e6 = assertThrows(PrepareException.class,
                () -> PrepareJob.run(spark(), options(in, out).seqLen(0)));
        assertTrue(e6.getMessage().contains("--seq-len"), e6.getMessage());

        Map<String, byte[]> after = Corpus.files(out);
        assertEquals(before.keySet(), after.keySet(), "failed runs add or remove nothing under the output root");
        for (String f : before.keySet()) {
            assertArrayEquals(before.get(f), after.get(f), f);
        }
        assertTrue(PrepareJob.run(spark(), options(in, out)).reused(), good.dataset() + " is still a complete dataset");
    }

    @Test
    void localizeCopiesVerifiesAndSkipsAndACorruptShardIsNamed(@TempDir Path dir) throws IOException {
        Inputs in = threeFormats(dir.resolve("in"), 6);
        Path out = dir.resolve("out");
        PrepareResult r = PrepareJob.run(spark(), options(in, out));
        PreparedDataset p = PreparedDataset.open(conf(), out.resolve(r.configHash()).toUri().toString());
        int shards = p.trainShardUris().size() + p.valShardUris().size();

        PreparedDataset.Local local = p.localize(conf(), dir.resolve("local"));
        assertEquals(shards, local.copied());
        assertEquals(0, local.reused());
        assertEquals(p.trainShardUris().size(), local.train().size());
        ShardManifest lm = ShardManifest.read(local.dir());
        assertEquals(lm.trainFiles(local.dir()), local.train());
        assertEquals(Corpus.multiset(Corpus.stored(out.resolve(r.configHash()), p.manifest().train(), L)),
                Corpus.multiset(Corpus.stored(local.dir(), lm.train(), L)));

        PreparedDataset.Local again = p.localize(conf(), dir.resolve("local"));
        assertEquals(0, again.copied());
        assertEquals(shards, again.reused());

        // a damaged local copy is replaced
        flipLastByte(local.train().get(0));
        PreparedDataset.Local repaired = p.localize(conf(), dir.resolve("local"));
        assertEquals(1, repaired.copied());

        // a damaged shard in the dataset is an error naming it
        Path remote = out.resolve(r.configHash()).resolve("train-00002.tok");
        flipLastByte(remote);
        Files.deleteIfExists(remote.resolveSibling(".train-00002.tok.crc")); // Hadoop's local checksum would catch it first
        PrepareException e = assertThrows(PrepareException.class, () -> p.localize(conf(), dir.resolve("fresh")));
        assertTrue(e.getMessage().contains("train-00002.tok") && e.getMessage().contains("checksum"), e.getMessage());
        try (Stream<Path> s = Files.list(dir.resolve("fresh").resolve(r.configHash()))) {
            assertTrue(s.noneMatch(f -> f.getFileName().toString().startsWith("train-00002")), "no corrupt copy left");
        }
    }

    private static void flipLastByte(Path f) throws IOException {
        byte[] b = Files.readAllBytes(f);
        b[b.length - 1] ^= 0x01;
        Files.write(f, b);
    }
}
