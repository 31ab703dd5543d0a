package io.lowrank.worker.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CorpusReaderTest {

    @TempDir
    Path dir;

    static final byte[] BAD_UTF8 = {(byte) 0xC3, (byte) 0x28}; // invalid 2-byte sequence

    static byte[] concat(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object p : parts) {
            byte[] b = p instanceof byte[] ? (byte[]) p : ((String) p).getBytes(StandardCharsets.UTF_8);
            out.write(b, 0, b.length);
        }
        return out.toByteArray();
    }

    List<String> docs = new ArrayList<>();

    @Test
    void textDocumentsAreBlankLineSeparatedBlocks() throws IOException {
        Path f = dir.resolve("c.txt");
        Files.write(f, concat("\uFEFFFirst doc line one\r\nline two\r\n\r\n\r\n",
                "  \t \nSecond doc — ünïcødé 🚀\n\n",
                "Third ", BAD_UTF8, " broken\nstill third\n\n",
                "Fourth, no final newline"));
        MalformedCounts m = new CorpusReader().read(f, docs::add);
        assertEquals(List.of("First doc line one\nline two", "Second doc — ünïcødé 🚀", "Fourth, no final newline"), docs);
        assertEquals(1, m.badUtf8());
        assertEquals(1, m.total());
        assertTrue(m.examples().get(0).startsWith(f + ":8"), m.examples().toString());
    }

    @Test
    void jsonlMalformedRecordsAreCountedPerKind() throws IOException {
        Path f = dir.resolve("c.jsonl");
        Files.write(f, concat(
                "{\"text\": \"good one\", \"id\": 1}\n",   // 1
                "{\"text\": \"good two\\nwith newline\"}\n", // 2
                "{not json\n",                              // 3 bad json
                "[1, 2]\n",                                 // 4 not an object
                "{\"body\": \"no text field\"}\n",          // 5 missing field
                "{\"text\": 42}\n",                         // 6 wrong type
                "{\"text\": null}\n",                       // 7 wrong type
                "{\"text\": \"\"}\n",                       // 8 empty
                "{\"text\": \"   \"}\n",                    // 9 empty (whitespace)
                "\n",                                       // 10 blank line: not a record
                "{\"text\": \"bad ", BAD_UTF8, "\"}\n",     // 11 bad utf-8
                "{\"text\": \"good three\"}"));             // 12 no final newline
        MalformedCounts m = new CorpusReader().read(f, docs::add);
        assertEquals(List.of("good one", "good two\nwith newline", "good three"), docs);
        assertEquals(2, m.badJson());
        assertEquals(1, m.missingField());
        assertEquals(2, m.wrongType());
        assertEquals(2, m.emptyText());
        assertEquals(1, m.badUtf8());
        assertEquals(8, m.total());
        assertTrue(m.examples().contains(f + ":3: bad_json"), m.examples().toString());
        assertTrue(m.examples().contains(f + ":11: bad_utf8"), m.examples().toString());
    }

    @Test
    void gzipAndCustomField() throws IOException {
        Path f = dir.resolve("c.jsonl.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(f))) {
            out.write("{\"content\": \"a\"}\n{\"text\": \"b\"}\n{\"content\": \"c\"}\n".getBytes(StandardCharsets.UTF_8));
        }
        MalformedCounts m = new CorpusReader("content").read(f, docs::add);
        assertEquals(List.of("a", "c"), docs);
        assertEquals(1, m.missingField());

        Path t = dir.resolve("plain.txt.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(t))) {
            out.write("x\n\ny".getBytes(StandardCharsets.UTF_8));
        }
        docs.clear();
        new CorpusReader().read(t, docs::add);
        assertEquals(List.of("x", "y"), docs);
    }

    @Test
    void unknownExtensionIsExplained() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CorpusReader.detect(Path.of("corpus.parquet")));
        assertTrue(e.getMessage().contains("corpus.parquet") && e.getMessage().contains(".jsonl"), e.getMessage());
        assertEquals(CorpusReader.Format.JSONL, CorpusReader.detect(Path.of("x.NDJSON.gz")));
        assertEquals(CorpusReader.Format.TEXT, CorpusReader.detect(Path.of("x.txt")));
    }
}
