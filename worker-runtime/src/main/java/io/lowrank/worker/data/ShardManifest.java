package io.lowrank.worker.data;

import io.lowrank.worker.checkpoint.AtomicFiles;

import com.fasterxml.jackson.annotation.JsonInclude;
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
 * @param prepare       what the Spark {@code prepare} job adds (sequence length, packing, config
 *                      hash, input identities); null in manifests written by {@link CorpusTokenizer}
 *                      and in manifests written before this field existed
 */
public record ShardManifest(String format, int formatVersion, String tokenizer, int vocabSize, int endOfTextId,
                            double valFraction, long seed, long shardTokens, String textField,
                            List<Source> sources, Split train, Split val, MalformedCounts malformed,
                            @JsonInclude(JsonInclude.Include.NON_NULL) Prepare prepare) {

    /** A manifest without a {@code prepare} section (what {@link CorpusTokenizer} writes). */
    public ShardManifest(String format, int formatVersion, String tokenizer, int vocabSize, int endOfTextId,
                         double valFraction, long seed, long shardTokens, String textField,
                         List<Source> sources, Split train, Split val, MalformedCounts malformed) {
        this(format, formatVersion, tokenizer, vocabSize, endOfTextId, valFraction, seed, shardTokens, textField,
                sources, train, val, malformed, null);
    }

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

    /**
     * The packed-sequence dataset the Spark {@code prepare} job writes: every shard holds a whole
     * number of sequences of {@code seqLen + 1} tokens, so the windows a {@link TokenCursor} cuts
     * from a split's shards are exactly the prepared (shuffled) sequences.
     *
     * @param seqLen            model sequence length; each stored sequence has {@code seqLen + 1} tokens
     * @param configHash        hash of the configuration and the input identities; the dataset's directory name
     * @param algorithm         version tag of the tokenize/pack/shuffle procedure that wrote the shards
     * @param documents         well-formed documents read (each followed by the end-of-text id)
     * @param streamTokens      tokens in the packed stream before the remainder was dropped
     * @param droppedTokens     tail of the stream that did not fill a sequence (always {@code < seqLen + 1})
     * @param trainSequences    sequences in the training split
     * @param valSequences      sequences in the validation split
     * @param sequencesPerShard sequences per shard (the last shard of a split may hold fewer)
     * @param inputFormat       requested input format (auto, text, jsonl, parquet)
     * @param inputs            input files in stream order, with what identifies their content
     */
    public record Prepare(int seqLen, String configHash, String algorithm, long documents, long streamTokens,
                          long droppedTokens, long trainSequences, long valSequences, long sequencesPerShard,
                          String inputFormat, List<Input> inputs) {
    }

    /** One input file of a prepared dataset: URI, size, modification time (ms), format it was read as. */
    public record Input(String uri, long bytes, long modificationTime, String format) {
    }

    private static ObjectMapper mapper() {
        return new ObjectMapper()
                .enable(SerializationFeature.INDENT_OUTPUT)
                .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES);
    }

    /** Writes {@code dir/manifest.json} atomically. */
    public void write(Path dir) throws IOException {
        AtomicFiles.write(dir.resolve(FILE_NAME), out -> out.write(toJson()));
    }

    /** The manifest as written to {@code manifest.json} (UTF-8 JSON and a final newline). */
    public byte[] toJson() throws IOException {
        byte[] json = mapper().writeValueAsBytes(this);
        byte[] out = java.util.Arrays.copyOf(json, json.length + 1);
        out[json.length] = '\n';
        return out;
    }

    /** Reads {@code dir/manifest.json}. */
    public static ShardManifest read(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        return parse(java.nio.file.Files.readAllBytes(file), file.toString());
    }

    /**
     * Parses manifest JSON read from anywhere (for example a Hadoop file system). Every field of
     * format version 1 must be present; {@code prepare}, added later, may be absent (it is null
     * then), so manifests written before it existed still load. {@code source} names the file in errors.
     */
    public static ShardManifest parse(byte[] json, String source) throws IOException {
        ShardManifest m;
        try {
            ObjectMapper mapper = mapper();
            com.fasterxml.jackson.databind.JsonNode tree = mapper.readTree(json);
            if (tree instanceof com.fasterxml.jackson.databind.node.ObjectNode obj && !obj.has("prepare")) {
                obj.putNull("prepare");
            }
            m = mapper.treeToValue(tree, ShardManifest.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new TokenFormatException("manifest " + source + ": " + e.getOriginalMessage());
        }
        if (m == null) {
            throw new TokenFormatException("manifest " + source + ": empty");
        }
        if (!FORMAT.equals(m.format())) {
            throw new TokenFormatException("manifest " + source + ": format '" + m.format() + "', expected '" + FORMAT + "'");
        }
        if (m.formatVersion() != 1) {
            throw new TokenFormatException("manifest " + source + ": unsupported formatVersion " + m.formatVersion());
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
