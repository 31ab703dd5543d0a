package io.lowrank.spark.prepare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI contract: exit code, progress on stderr, one JSON object as the last stdout line. */
class PrepareCommandTest {

    record Run(int rc, String out, String err) {
        JsonNode json() throws IOException {
            List<String> lines = out.lines().toList();
            assertFalse(lines.isEmpty(), "no stdout; stderr: " + err);
            return new ObjectMapper().readTree(lines.get(lines.size() - 1));
        }
    }

    private static Run run(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = PrepareCommand.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void preparesThenReusesAndPrintsOneJsonLine(@TempDir Path dir) throws IOException {
        SparkTestSession.stop(); // the command makes (and stops) its own session from --master
        Random r = new Random(9);
        Path a = dir.resolve("a.txt");
        Path b = dir.resolve("b.jsonl");
        List<String> docsA = Corpus.writeText(a, r, 120);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            sb.append("{\"body\": \"").append(Corpus.sentence(r, 12)).append("\"}\n");
        }
        sb.append("{\"text\": \"no body\"}\n");
        Files.writeString(b, sb.toString());
        String out = dir.resolve("out").toUri().toString();
        String[] argv = {"prepare", "--input", a.toUri() + "," + b.toUri(), "--output", out, "--text-field", "body",
                "--seq-len", "20", "--val-sequences", "5", "--seed", "3", "--shard-tokens", "2000",
                "--max-malformed-fraction", "0.05", "--master", "local[2]"};

        Run first = run(argv);
        assertEquals(0, first.rc(), first.err());
        JsonNode j = first.json();
        assertFalse(j.get("reused").asBoolean());
        assertEquals(170, j.get("documents").asLong());
        assertEquals(5, j.get("sequences_val").asLong());
        long seqs = j.get("sequences_train").asLong() + 5;
        assertEquals(seqs * 21, j.get("tokens").asLong());
        assertEquals(1, j.get("malformed").get("missing_field").asLong());
        assertEquals(0, j.get("malformed").get("bad_json").asLong());
        String hash = j.get("config_hash").asText();
        assertTrue(j.get("dataset").asText().endsWith("/out/" + hash), j.toString());
        assertTrue(first.err().contains("prepare: tokenized 170 documents"), first.err());
        // the text file's documents are all there: the text field only applies to JSONL
        assertEquals(120, docsA.size());

        Run second = run(argv);
        assertEquals(0, second.rc(), second.err());
        assertTrue(second.json().get("reused").asBoolean());
        assertEquals(hash, second.json().get("config_hash").asText());
        assertEquals(seqs - 5, second.json().get("sequences_train").asLong());
        assertTrue(second.err().contains("nothing to do"), second.err());

        Run failing = run("prepare", "--input", a.toUri() + "," + b.toUri(), "--output", out, "--text-field", "body",
                "--seq-len", "20", "--max-malformed-fraction", "0.001", "--master", "local[2]");
        assertEquals(1, failing.rc());
        assertTrue(failing.err().contains("missing_field=1") && failing.err().contains("b.jsonl"), failing.err());
        assertEquals("", failing.out());
    }

    @Test
    void usageErrorsExitWithTwoAndNameTheOption(@TempDir Path dir) {
        Run unknown = run("prepare", "--input", "x.txt", "--output", dir.toString(), "--seq-lenn", "3");
        assertEquals(2, unknown.rc());
        assertTrue(unknown.err().contains("--seq-lenn"), unknown.err());

        Run badNumber = run("--input", "x.txt", "--output", dir.toString(), "--seq-len", "abc");
        assertEquals(2, badNumber.rc());
        assertTrue(badNumber.err().contains("--seq-len expects an integer, got 'abc'"), badNumber.err());

        Run badFormat = run("--input", "x.txt", "--output", dir.toString(), "--format", "csv");
        assertEquals(2, badFormat.rc());
        assertTrue(badFormat.err().contains("unknown --format 'csv'"), badFormat.err());

        Run noOutput = run("--input", "x.txt");
        assertEquals(2, noOutput.rc());
        assertTrue(noOutput.err().contains("--output"), noOutput.err());
    }
}
