package io.lowrank.spark.prepare;

import io.lowrank.worker.data.ShardManifest;
import io.lowrank.worker.data.TokenShard;
import io.lowrank.worker.data.TokenShardReader;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * A dataset the prepare job wrote, opened from any Hadoop file system: what the train side needs
 * to know (tokenizer, vocabulary, end-of-text id, seq_len, shards in stream order, counts) and
 * {@link #localize} to copy the shards next to a worker for a {@code TokenCursor}.
 *
 * <p>Every shard holds whole sequences of {@code seqLen + 1} tokens, so a cursor over
 * {@link Local#train()} with that seq_len reads exactly the prepared, shuffled sequences.
 */
public final class PreparedDataset {

    private final String uri;
    private final ShardManifest manifest;
    private final ShardManifest.Prepare prepare;

    private PreparedDataset(String uri, ShardManifest manifest) {
        this.uri = uri;
        this.manifest = manifest;
        this.prepare = manifest.prepare();
    }

    /**
     * Reads {@code <datasetDirUri>/manifest.json}.
     *
     * @throws PrepareException when there is no manifest (not a dataset, or an unfinished one) or
     *                          it was not written by prepare
     */
    public static PreparedDataset open(Configuration conf, String datasetDirUri) throws IOException {
        Path dir = new Path(datasetDirUri);
        FileSystem fs = dir.getFileSystem(conf);
        dir = fs.makeQualified(dir);
        Path mf = new Path(dir, ShardManifest.FILE_NAME);
        byte[] json;
        try {
            json = PrepareJob.readAll(fs, mf);
        } catch (FileNotFoundException e) {
            throw new PrepareException("no prepared dataset at " + dir + ": " + mf + " does not exist (not a dataset"
                    + " directory, or its prepare did not finish)");
        }
        ShardManifest m = ShardManifest.parse(json, mf.toString());
        if (m.prepare() == null) {
            throw new PrepareException(mf + " has no 'prepare' section: the directory was tokenized by the single-process"
                    + " tokenizer, not by prepare (sequence length and packing unknown)");
        }
        return new PreparedDataset(dir.toString(), m);
    }

    /** Fully qualified URI of the dataset directory. */
    public String uri() {
        return uri;
    }

    public ShardManifest manifest() {
        return manifest;
    }

    public String tokenizer() {
        return manifest.tokenizer();
    }

    public int vocabSize() {
        return manifest.vocabSize();
    }

    public int endOfTextId() {
        return manifest.endOfTextId();
    }

    public int seqLen() {
        return prepare.seqLen();
    }

    public String configHash() {
        return prepare.configHash();
    }

    public long documents() {
        return prepare.documents();
    }

    public long trainSequences() {
        return prepare.trainSequences();
    }

    public long valSequences() {
        return prepare.valSequences();
    }

    public long trainTokens() {
        return manifest.train().tokens();
    }

    public long valTokens() {
        return manifest.val().tokens();
    }

    /** URIs of the training shards in stream order. */
    public List<String> trainShardUris() {
        return uris(manifest.train());
    }

    /** URIs of the validation shards in stream order (empty when there is no validation split). */
    public List<String> valShardUris() {
        return uris(manifest.val());
    }

    private List<String> uris(ShardManifest.Split split) {
        List<String> out = new ArrayList<>();
        for (ShardManifest.Shard s : split.shards()) {
            out.add(new Path(new Path(uri), s.file()).toString());
        }
        return out;
    }

    /**
     * Local copies of the shards, in stream order, and what {@link #localize} did.
     *
     * @param dir     the local directory holding them (and a copy of the manifest)
     * @param copied  shards copied this time
     * @param reused  shards already there with the same size and CRC32C
     */
    public record Local(java.nio.file.Path dir, List<java.nio.file.Path> train, List<java.nio.file.Path> val,
                        int copied, int reused) {
    }

    /**
     * Copies the shards into {@code localDir/<configHash>/} (plus {@code manifest.json}, so
     * worker-runtime's {@code ShardManifest.read} works there), skipping files already present
     * with the manifest's size and CRC32C. Every copy is verified before it takes its final name:
     * header, size, payload CRC32C against the header and against the manifest.
     *
     * @throws PrepareException naming the shard when a source shard is missing or corrupt
     */
    public Local localize(Configuration conf, java.nio.file.Path localDir) throws IOException {
        java.nio.file.Path dir = localDir.resolve(configHash()).toAbsolutePath();
        Files.createDirectories(dir);
        Path remoteDir = new Path(uri);
        FileSystem fs = remoteDir.getFileSystem(conf);
        int copied = 0;
        int reused = 0;
        List<List<java.nio.file.Path>> out = new ArrayList<>();
        for (ShardManifest.Split split : List.of(manifest.train(), manifest.val())) {
            List<java.nio.file.Path> paths = new ArrayList<>();
            for (ShardManifest.Shard s : split.shards()) {
                java.nio.file.Path local = dir.resolve(s.file());
                if (matches(local, s)) {
                    reused++;
                } else {
                    copy(fs, new Path(remoteDir, s.file()), local, s);
                    copied++;
                }
                paths.add(local);
            }
            out.add(List.copyOf(paths));
        }
        java.nio.file.Path mf = dir.resolve(ShardManifest.FILE_NAME);
        java.nio.file.Path mtmp = dir.resolve("." + ShardManifest.FILE_NAME + "." + UUID.randomUUID() + ".part");
        Files.write(mtmp, manifest.toJson());
        Files.move(mtmp, mf, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return new Local(dir, out.get(0), out.get(1), copied, reused);
    }

    private static long expectedBytes(ShardManifest.Shard s) {
        return TokenShard.HEADER_BYTES + s.tokens() * ("uint16".equals(s.dtype()) ? 2L : 4L);
    }

    /** Whether {@code local} is a valid shard with the manifest's size, token count and CRC32C. */
    private static boolean matches(java.nio.file.Path local, ShardManifest.Shard s) throws IOException {
        if (!Files.isRegularFile(local) || Files.size(local) != expectedBytes(s)) {
            return false;
        }
        try {
            verify(local, s, local.toString());
            return true;
        } catch (IOException | RuntimeException e) {
            return false; // a damaged or different local copy is replaced
        }
    }

    /** Full check: header, size, payload CRC32C and ids (TokenShardReader), then the manifest's CRC and count. */
    private static void verify(java.nio.file.Path file, ShardManifest.Shard s, String name) throws IOException {
        TokenShard.Header h = TokenShardReader.readHeader(file);
        if (h.checksum() != s.crc32c() || h.tokenCount() != s.tokens()) {
            throw new PrepareException("shard " + name + " does not match the manifest: CRC32C 0x"
                    + Long.toHexString(h.checksum()) + ", " + h.tokenCount() + " tokens; manifest: 0x"
                    + Long.toHexString(s.crc32c()) + ", " + s.tokens() + " tokens");
        }
        TokenShardReader.read(file); // verifies the payload against the header's CRC32C
    }

    private static void copy(FileSystem fs, Path remote, java.nio.file.Path local, ShardManifest.Shard s)
            throws IOException {
        java.nio.file.Path part = local.resolveSibling("." + local.getFileName() + "." + UUID.randomUUID() + ".part");
        try {
            try (FSDataInputStream in = fs.open(remote); OutputStream out = Files.newOutputStream(part)) {
                in.transferTo(out);
            } catch (FileNotFoundException e) {
                throw new PrepareException("shard " + remote + " is missing from the dataset");
            }
            try {
                verify(part, s, remote.toString());
            } catch (PrepareException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw new PrepareException("shard " + remote + " is corrupt: " + e.getMessage(), e);
            }
            Files.move(part, local, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(part);
        }
    }
}
