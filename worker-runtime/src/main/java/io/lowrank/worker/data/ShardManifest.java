package io.lowrank.worker.data;

import io.lowrank.worker.checkpoint.AtomicFiles;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code manifest.json} of a tokenized corpus directory: what produced the shards and what they
 * hold. Written last and atomically, so its presence means the directory is complete.
 *
 * @param format        always {@value #FORMAT}
 * @param formatVersion manifest version (1)
 * @param tokenizer     {@link Tokenizers#byName} name
 * @param vocabSize     tokenizer vocabulary size (also in each shard header)
 * @param endOfTextId   id appended after each document
 * @param valFraction   requested fraction of documents in the validation split
 * @param seed          seed of the document split
 * @param shardTokens   maximum tokens per shard
 * @param textField     JSONL field read
 * @param sources       input files, in the order read
 * @param train         training split
 * @param val           validation split
 * @param malformed     skipped records over all sources
 */
public record ShardManifest(String format, int formatVersion, String tokenizer, int vocabSize, int endOfTextId,
                            double valFraction, long seed, long shardTokens, String textField,
                            List<Source> sources, Split train, Split val, MalformedCounts malformed) {

    public static final String FORMAT = "lowrank-token-shards";
    public static final String FILE_NAME = "manifest.json";

    /** One input file: where, how big, how many documents were taken and skipped. */
    public record Source(String path, long bytes, long documents, MalformedCounts malformed) {
    }

    /** One split: document and token totals and its shards in stream order. */
    public record Split(long documents, long tokens, List<Shard> shards) {
    }

    /** One shard: file name relative to the manifest's directory, token count, CRC32C of the payload. */
    public record Shard(String file, long tokens, String dtype, long crc32c) {
    }

    private static ObjectMapper mapper() {
        return new ObjectMapper()
                .enable(SerializationFeature.INDENT_OUTPUT)
                .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES);
    }

    /** Writes {@code dir/manifest.json} atomically. */
    public void write(Path dir) throws IOException {
        AtomicFiles.write(dir.resolve(FILE_NAME), out -> {
            out.write(mapper().writeValueAsBytes(this));
            out.write('\n');
        });
    }

    /** Reads {@code dir/manifest.json}. */
    public static ShardManifest read(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        ShardManifest m;
        try {
            m = mapper().readValue(file.toFile(), ShardManifest.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new TokenFormatException("manifest " + file + ": " + e.getOriginalMessage());
        }
        if (!FORMAT.equals(m.format())) {
            throw new TokenFormatException("manifest " + file + ": format '" + m.format() + "', expected '" + FORMAT + "'");
        }
        if (m.formatVersion() != 1) {
            throw new TokenFormatException("manifest " + file + ": unsupported formatVersion " + m.formatVersion());
        }
        return m;
    }

    /** Absolute paths of the training shards, in order (what a {@link TokenCursor} reads). */
    public List<Path> trainFiles(Path dir) {
        return paths(dir, train);
    }

    /** Absolute paths of the validation shards, in order. */
    public List<Path> valFiles(Path dir) {
        return paths(dir, val);
    }

    private static List<Path> paths(Path dir, Split split) {
        List<Path> out = new ArrayList<>();
        for (Shard s : split.shards()) {
            out.add(dir.resolve(s.file()).toAbsolutePath());
        }
        return out;
    }
}
