package io.lowrank.spark.prepare;

import io.lowrank.worker.data.CorpusReader;
import io.lowrank.worker.data.ShardManifest;
import io.lowrank.worker.data.TextTokenizer;
import io.lowrank.worker.data.TokenShardReader;
import io.lowrank.worker.data.Tokenizers;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Test corpora and an independent reference for the packed stream. */
final class Corpus {
    static final TextTokenizer TOK = Tokenizers.byName("gpt2-32k");
    private static final String[] WORDS = ("the of and to in a is that for it as was with be by on not he this are or"
            + " his from at which but have an they you were her she there had been one all would their we him"
            + " river mountain quantum lattice ferry orchard violin copper sentence spark tensor gradient").split(" ");

    private Corpus() {
    }

    static String sentence(Random r, int words) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < words; i++) {
            sb.append(i == 0 ? "" : " ").append(WORDS[r.nextInt(WORDS.length)]);
        }
        return sb.append('.').toString();
    }

    /** Blank-line separated paragraphs, some of several lines; every paragraph is unique. */
    static List<String> writeText(Path file, Random r, int docs) throws IOException {
        List<String> out = new ArrayList<>();
        StringBuilder sb = new StringBuilder();
        for (int d = 0; d < docs; d++) {
            String doc = "doc " + file.getFileName() + " " + d + ": " + sentence(r, 5 + r.nextInt(40))
                    + (r.nextBoolean() ? "\n" + sentence(r, 3 + r.nextInt(10)) : "");
            out.add(doc);
            sb.append(doc).append(r.nextInt(4) == 0 ? "\n\n\n" : "\n\n");
        }
        Files.writeString(file, sb.toString());
        return out;
    }

    static List<String> writeJsonlGz(Path file, Random r, int docs) throws IOException {
        List<String> out = new ArrayList<>();
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(file))) {
            for (int d = 0; d < docs; d++) {
                String doc = "json " + d + " " + sentence(r, 4 + r.nextInt(30));
                out.add(doc);
                o.write(("{\"id\": " + d + ", \"text\": \"" + doc + "\"}\n").getBytes(StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    /** A Parquet directory as Spark writes it (part files, _SUCCESS, .crc files) with one string column. */
    static List<String> writeParquet(SparkSession spark, Path dir, String column, Random r, int docs) {
        List<Row> rows = new ArrayList<>();
        List<String> out = new ArrayList<>();
        for (int d = 0; d < docs; d++) {
            String doc = "parquet " + d + " " + sentence(r, 4 + r.nextInt(30));
            out.add(doc);
            rows.add(RowFactory.create(doc, d));
        }
        StructType schema = new StructType().add(column, DataTypes.StringType).add("n", DataTypes.IntegerType);
        Dataset<Row> df = spark.createDataFrame(rows, schema).coalesce(1);
        // small row groups, so a Parquet file is cut into several splits
        df.write().option("parquet.block.size", 4096).option("parquet.page.size.row.check.min", 5)
                .option("parquet.page.size.row.check.max", 10).parquet(dir.toUri().toString());
        return out;
    }

    /** Documents of a text/JSONL file as worker-runtime's single-process reader sees them. */
    static List<String> read(Path file, CorpusReader.Format format) throws IOException {
        List<String> docs = new ArrayList<>();
        new CorpusReader("text").read(file, format, docs::add);
        return docs;
    }

    /** The canonical stream: each document's tokens then end-of-text. */
    static int[] stream(List<String> docs) {
        List<int[]> parts = new ArrayList<>();
        int n = 0;
        for (String d : docs) {
            int[] ids = TOK.encode(d);
            parts.add(ids);
            n += ids.length + 1;
        }
        int[] out = new int[n];
        int p = 0;
        for (int[] ids : parts) {
            System.arraycopy(ids, 0, out, p, ids.length);
            p += ids.length;
            out[p++] = TOK.endOfTextId();
        }
        return out;
    }

    /** Multiset of the sequences of {@code seqTokens} tokens cut from {@code stream} (remainder dropped). */
    static Map<String, Integer> sequences(int[] stream, int seqTokens) {
        Map<String, Integer> m = new HashMap<>();
        for (int i = 0; i + seqTokens <= stream.length; i += seqTokens) {
            m.merge(Arrays.toString(Arrays.copyOfRange(stream, i, i + seqTokens)), 1, Integer::sum);
        }
        return m;
    }

    /** Every sequence stored in the shards of a split, in stream order. */
    static List<int[]> stored(Path datasetDir, ShardManifest.Split split, int seqTokens) throws IOException {
        List<int[]> out = new ArrayList<>();
        for (ShardManifest.Shard s : split.shards()) {
            int[] t = TokenShardReader.read(datasetDir.resolve(s.file()));
            assertEquals(s.tokens(), t.length, s.file());
            assertEquals(0, t.length % seqTokens, s.file() + " holds a whole number of sequences");
            for (int i = 0; i < t.length; i += seqTokens) {
                out.add(Arrays.copyOfRange(t, i, i + seqTokens));
            }
        }
        return out;
    }

    static Map<String, Integer> multiset(List<int[]> seqs) {
        Map<String, Integer> m = new HashMap<>();
        for (int[] s : seqs) {
            m.merge(Arrays.toString(s), 1, Integer::sum);
        }
        return m;
    }

    static Map<Integer, Long> tokenCounts(int[] tokens, int limit) {
        Map<Integer, Long> m = new HashMap<>();
        for (int i = 0; i < limit; i++) {
            m.merge(tokens[i], 1L, Long::sum);
        }
        return m;
    }

    static Map<Integer, Long> tokenCounts(List<int[]> seqs) {
        Map<Integer, Long> m = new HashMap<>();
        for (int[] s : seqs) {
            for (int t : s) {
                m.merge(t, 1L, Long::sum);
            }
        }
        return m;
    }

    /** All regular files under {@code dir} (relative name -> bytes), hidden Hadoop .crc files included. */
    static Map<String, byte[]> files(Path dir) throws IOException {
        Map<String, byte[]> m = new HashMap<>();
        try (var s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                m.put(dir.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        assertTrue(!m.isEmpty(), "no files under " + dir);
        return m;
    }
}
