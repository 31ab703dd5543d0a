package io.lowrank.worker.data;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CorpusTokenizerTest {

    @TempDir
    Path dir;

    static TextTokenizer tok;

    @BeforeAll
    static void load() {
        tok = Tokenizers.byName("gpt2-32k");
    }

    /** 120 text documents and 80 JSONL documents (+2 malformed JSONL lines), in that order. */
    List<String> writeInputs(List<Path> inputs) throws IOException {
        Random rnd = new Random(11);
        List<String> docs = new ArrayList<>();
        StringBuilder txt = new StringBuilder();
        for (int i = 0; i < 120; i++) {
            String d = "Text document " + i + ".\n" + TokenizersTest.randomText(rnd, 5 + rnd.nextInt(60)).replaceAll("\\s+", " ").trim()
                    + "\nSecond line of " + i;
            docs.add(d);
            txt.append(d).append("\n\n");
        }
        Path t = dir.resolve("in/a.txt");
        Files.createDirectories(t.getParent());
        Files.writeString(t, txt, StandardCharsets.UTF_8);
        StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < 80; i++) {
            String d = "JSON document " + i + " with a \"quote\" and\nnewline";
            docs.add(d);
            jsonl.append("{\"text\": \"").append(d.replace("\"", "\\\"").replace("\n", "\\n")).append("\"}\n");
            if (i == 40) {
                jsonl.append("{broken\n{\"title\": \"no text\"}\n");
            }
        }
        Path j = dir.resolve("in/b.jsonl");
        Files.writeString(j, jsonl, StandardCharsets.UTF_8);
        inputs.add(t);
        inputs.add(j);
        return docs;
    }

    static int[] concat(List<Path> files) throws IOException {
        List<int[]> parts = new ArrayList<>();
        int n = 0;
        for (Path f : files) {
            int[] t = TokenFiles.read(f);
            parts.add(t);
            n += t.length;
        }
        int[] all = new int[n];
        int pos = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, all, pos, p.length);
            pos += p.length;
        }
        return all;
    }

    /** Splits a token stream at end-of-text ids and decodes each document. */
    static List<String> decodeDocs(int[] stream) {
        List<String> docs = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < stream.length; i++) {
            if (stream[i] == tok.endOfTextId()) {
                docs.add(tok.decode(Arrays.copyOfRange(stream, start, i)));
                start = i + 1;
            }
        }
        assertEquals(stream.length, start, "stream must end with end-of-text");
        return docs;
    }

    @Test
    void shardsHoldEveryDocumentOnceInTheirSplitAndMatchTheManifest() throws IOException {
        List<Path> inputs = new ArrayList<>();
        List<String> docs = writeInputs(inputs);
        Path out = dir.resolve("out");
        ShardManifest m = CorpusTokenizer.tokenizeToShards(inputs, tok, out, 0.2, 5,
                new CorpusTokenizer.Options().shardTokens(500));

        List<String> expectTrain = new ArrayList<>();
        List<String> expectVal = new ArrayList<>();
        for (int i = 0; i < docs.size(); i++) {
            (CorpusTokenizer.isValidation(i, 5, 0.2) ? expectVal : expectTrain).add(docs.get(i));
        }
        assertTrue(expectVal.size() > 10 && expectTrain.size() > 100, "split sizes " + expectVal.size());

        ShardManifest read = ShardManifest.read(out);
        assertEquals(m.train(), read.train());
        assertEquals(m.val(), read.val());
        assertEquals("gpt2-32k", read.tokenizer());
        assertEquals(32000, read.vocabSize());
        assertEquals(2, read.sources().size());
        assertEquals(120, read.sources().get(0).documents());
        assertEquals(80, read.sources().get(1).documents());
        assertEquals(1, read.malformed().badJson());
        assertEquals(1, read.malformed().missingField());
        assertEquals(1, read.sources().get(1).malformed().badJson());

        assertEquals(expectTrain.size(), read.train().documents());
        assertEquals(expectVal.size(), read.val().documents());
        assertTrue(read.train().shards().size() > 2, "shardTokens=500 must cut several train shards");
        assertEquals("train-00000.tok", read.train().shards().get(0).file());
        for (ShardManifest.Split split : List.of(read.train(), read.val())) {
            long sum = 0;
            for (int i = 0; i < split.shards().size(); i++) {
                ShardManifest.Shard s = split.shards().get(i);
                TokenShard.Header h = TokenShardReader.readHeader(out.resolve(s.file()));
                assertEquals(s.tokens(), h.tokenCount());
                assertEquals(s.crc32c(), h.checksum());
                assertEquals("uint16", s.dtype());
                assertTrue(i == split.shards().size() - 1 ? s.tokens() <= 500 : s.tokens() == 500);
                sum += s.tokens();
            }
            assertEquals(split.tokens(), sum);
        }
        assertEquals(expectTrain, decodeDocs(concat(read.trainFiles(out))));
        assertEquals(expectVal, decodeDocs(concat(read.valFiles(out))));
    }

    @Test
    void deterministicForSameSeedAndDifferentForAnother() throws IOException {
        List<Path> inputs = new ArrayList<>();
        writeInputs(inputs);
        ShardManifest a = CorpusTokenizer.tokenizeToShards(inputs, tok, dir.resolve("a"), 0.3, 1);
        ShardManifest b = CorpusTokenizer.tokenizeToShards(inputs, tok, dir.resolve("b"), 0.3, 1);
        ShardManifest c = CorpusTokenizer.tokenizeToShards(inputs, tok, dir.resolve("c"), 0.3, 2);
        assertEquals(a.train(), b.train());
        for (ShardManifest.Shard s : a.train().shards()) {
            assertArrayEquals(Files.readAllBytes(dir.resolve("a").resolve(s.file())),
                    Files.readAllBytes(dir.resolve("b").resolve(s.file())));
        }
        assertNotEquals(a.val(), c.val());
    }

    @Test
    void existingOutputNeedsOverwriteAndEmptyInputFails() throws IOException {
        List<Path> inputs = new ArrayList<>();
        writeInputs(inputs);
        Path out = dir.resolve("o");
        CorpusTokenizer.tokenizeToShards(inputs, tok, out, 0.1, 3, new CorpusTokenizer.Options().shardTokens(300));
        IOException e = assertThrows(IOException.class, () -> CorpusTokenizer.tokenizeToShards(inputs, tok, out, 0.1, 3));
        assertTrue(e.getMessage().contains("already holds") && e.getMessage().contains(out.toString()), e.getMessage());
        // Overwrite with bigger shards: the stale small shards must be gone.
        ShardManifest m = CorpusTokenizer.tokenizeToShards(inputs, tok, out, 0.1, 3, new CorpusTokenizer.Options().overwrite(true));
        try (var files = Files.list(out)) {
            assertEquals(m.train().shards().size() + m.val().shards().size() + 1, files.count());
        }

        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "{oops\n{\"text\": \"\"}\n");
        e = assertThrows(IOException.class, () -> CorpusTokenizer.tokenizeToShards(List.of(bad), tok, dir.resolve("x"), 0.1, 3));
        assertTrue(e.getMessage().contains("no well-formed documents") && e.getMessage().contains("badJson=1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CorpusTokenizer.tokenizeToShards(inputs, tok, dir.resolve("y"), 1.0, 3));
    }

    @Test
    void validationShareIsNearTheRequestedFraction() {
        int val = 0;
        for (long i = 0; i < 100_000; i++) {
            if (CorpusTokenizer.isValidation(i, 1234, 0.05)) {
                val++;
            }
        }
        assertEquals(5000, val, 300);
        assertTrue(!CorpusTokenizer.isValidation(7, 1, 0.0), "valFraction 0 puts nothing in validation");
    }
}
