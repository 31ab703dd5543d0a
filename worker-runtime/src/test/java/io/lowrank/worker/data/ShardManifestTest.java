package io.lowrank.worker.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardManifestTest {

    /** A manifest exactly as CorpusTokenizer wrote it before the prepare section existed. */
    static final String OLD = """
            {
              "format" : "lowrank-token-shards",
              "formatVersion" : 1,
              "tokenizer" : "gpt2-32k",
              "vocabSize" : 32000,
              "endOfTextId" : 31999,
              "valFraction" : 0.1,
              "seed" : 3,
              "shardTokens" : 16777216,
              "textField" : "text",
              "sources" : [ { "path" : "/data/a.txt", "bytes" : 120, "documents" : 4,
                  "malformed" : { "badJson" : 0, "missingField" : 0, "wrongType" : 0, "emptyText" : 0, "badUtf8" : 1,
                                  "examples" : [ "/data/a.txt:7: bad_utf8" ] } } ],
              "train" : { "documents" : 3, "tokens" : 40, "shards" : [ { "file" : "train-00000.tok", "tokens" : 40, "dtype" : "uint16", "crc32c" : 12345 } ] },
              "val" : { "documents" : 1, "tokens" : 9, "shards" : [ { "file" : "val-00000.tok", "tokens" : 9, "dtype" : "uint16", "crc32c" : 678 } ] },
              "malformed" : { "badJson" : 0, "missingField" : 0, "wrongType" : 0, "emptyText" : 0, "badUtf8" : 1,
                              "examples" : [ "/data/a.txt:7: bad_utf8" ] }
            }
            """;

    @Test
    void manifestWithoutPrepareSectionStillLoads(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve(ShardManifest.FILE_NAME), OLD);
        ShardManifest m = ShardManifest.read(dir);
        assertNull(m.prepare());
        assertEquals("gpt2-32k", m.tokenizer());
        assertEquals(40, m.train().tokens());
        assertEquals(1, m.malformed().badUtf8());
        assertEquals(List.of(dir.resolve("val-00000.tok").toAbsolutePath()), m.valFiles(dir));
        // written again without a prepare section, it has no "prepare" key at all
        assertFalse(new String(m.toJson(), StandardCharsets.UTF_8).contains("prepare"));
    }

    @Test
    void prepareSectionRoundTrips(@TempDir Path dir) throws IOException {
        ShardManifest old = ShardManifest.parse(OLD.getBytes(StandardCharsets.UTF_8), "old");
        ShardManifest.Prepare prep = new ShardManifest.Prepare(128, "0123456789abcdef", "pack-v1", 4, 520, 4,
                3, 1, 2, "auto", List.of(new ShardManifest.Input("file:/data/a.txt", 120, 1700000000000L, "text")));
        ShardManifest m = new ShardManifest(old.format(), 1, old.tokenizer(), old.vocabSize(), old.endOfTextId(),
                old.valFraction(), old.seed(), old.shardTokens(), old.textField(), old.sources(), old.train(), old.val(),
                old.malformed(), prep);
        m.write(dir);
        ShardManifest back = ShardManifest.read(dir);
        assertEquals(prep, back.prepare());
        assertEquals(m.train(), back.train());
        assertTrue(Files.readString(dir.resolve(ShardManifest.FILE_NAME)).contains("\"configHash\" : \"0123456789abcdef\""));
    }

    @Test
    void aMissingVersion1FieldIsStillAnError() {
        String broken = OLD.replace("\"seed\" : 3,", "");
        TokenFormatException e = assertThrows(TokenFormatException.class,
                () -> ShardManifest.parse(broken.getBytes(StandardCharsets.UTF_8), "x/manifest.json"));
        assertTrue(e.getMessage().contains("x/manifest.json") && e.getMessage().contains("seed"), e.getMessage());
    }
}
