package io.lowrank.spark.fs;

import io.lowrank.worker.checkpoint.CheckpointDir;
import io.lowrank.worker.checkpoint.CheckpointManifest;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A run directory on any Hadoop file system (file://, hdfs://, s3a://): the same layout as a local
 * run ({@link CheckpointDir}: {@code step-XXXXXXXX/} checkpoints, {@code metrics.jsonl}) plus
 * {@code run.json}. Checkpoints are written next to their final name as {@code .tmp-<random>} and
 * renamed into place, so a directory with a canonical step name is always complete; a reader
 * additionally requires the four checkpoint files, which is what protects stores whose rename is
 * not atomic (S3) from a half-copied directory.
 */
public final class RunDirectory {
    public static final String RUN_JSON = "run.json";
    public static final String METRICS_JSONL = "metrics.jsonl";
    private static final String[] CHECKPOINT_FILES = {CheckpointDir.CONFIG_JSON, CheckpointDir.MODEL_SAFETENSORS,
            CheckpointDir.OPTIMIZER_SAFETENSORS, CheckpointDir.TRAINER_STATE_JSON};

    private final Path root;
    private final FileSystem fs;

    public RunDirectory(String uri, Configuration conf) throws IOException {
        this.root = new Path(uri);
        this.fs = root.getFileSystem(conf);
    }

    public String uri() { return fs.makeQualified(root).toString(); }
    public FileSystem fileSystem() { return fs; }
    public Path path(String child) { return new Path(root, child); }

    public void create() throws IOException {
        if (!fs.mkdirs(root)) throw new IOException("could not create run directory " + uri());
    }

    public boolean exists(String child) throws IOException { return fs.exists(path(child)); }

    /** Copies a local checkpoint directory in as {@code step-XXXXXXXX}, replacing an older copy of the same step. */
    public String publishCheckpoint(java.nio.file.Path localDir, long step) throws IOException {
        String name = CheckpointDir.stepDirName(step);
        Path target = path(name);
        Path tmp = path(name + CheckpointDir.TMP_INFIX + randomSuffix());
        fs.copyFromLocalFile(false, true, new Path(localDir.toUri()), tmp);
        for (String f : CHECKPOINT_FILES) {
            if (!fs.exists(new Path(tmp, f))) throw new IOException("checkpoint copy " + tmp + " lacks " + f);
        }
        Path old = null;
        if (fs.exists(target)) {
            old = path(name + CheckpointDir.OLD_INFIX + randomSuffix());
            if (!fs.rename(target, old)) throw new IOException("could not move the previous " + target + " aside to " + old);
        }
        if (!fs.rename(tmp, target)) throw new IOException("could not rename " + tmp + " to " + target);
        if (old != null) fs.delete(old, true);
        return fs.makeQualified(target).toString();
    }

    /**
     * Deletes all but the newest {@code keep} complete checkpoints (keep <= 0: deletes nothing);
     * returns how many it deleted. Called by the driver between chunks, when no checkpoint is being
     * written; the newest, which the next chunk resumes from, always stays.
     */
    public int pruneCheckpoints(int keep) throws IOException {
        return pruneCheckpoints(keep, w -> { });
    }

    /**
     * As {@link #pruneCheckpoints(int)}, counting only checkpoints that pass their checksums
     * ({@link CheckpointManifest}): a corrupt newest checkpoint does not use up a place, so the
     * previous good ones a resume would fall back to are never deleted; corrupt ones are left in
     * place (named in a warning) for inspection. Each checkpoint is read once per driver (cached).
     */
    public int pruneCheckpoints(int keep, java.util.function.Consumer<String> warn) throws IOException {
        if (keep <= 0) return 0;
        FileStatus[] children;
        try {
            children = fs.listStatus(root);
        } catch (FileNotFoundException e) {
            return 0;
        }
        java.util.TreeMap<Long, Path> complete = new java.util.TreeMap<>(java.util.Comparator.reverseOrder());
        for (FileStatus st : children) {
            if (!st.isDirectory()) continue;
            OptionalLong step = CheckpointDir.parseStep(st.getPath().getName());
            if (step.isPresent() && complete(st.getPath())) complete.put(step.getAsLong(), st.getPath());
        }
        int deleted = 0, seen = 0;
        for (Path p : complete.values()) {
            if (seen < keep) {
                if (verify(p, warn)) seen++;
                continue;
            }
            if (!fs.delete(p, true)) throw new IOException("could not delete the old checkpoint " + p);
            deleted++;
        }
        return deleted;
    }

    /** The newest complete checkpoint's URI, if any. */
    public Optional<String> latestCheckpoint() throws IOException {
        FileStatus[] children;
        try {
            children = fs.listStatus(root);
        } catch (FileNotFoundException e) {
            return Optional.empty();
        }
        long best = -1;
        Path bestPath = null;
        for (FileStatus st : children) {
            if (!st.isDirectory()) continue;
            OptionalLong step = CheckpointDir.parseStep(st.getPath().getName());
            if (step.isEmpty() || step.getAsLong() <= best || !complete(st.getPath())) continue;
            best = step.getAsLong();
            bestPath = st.getPath();
        }
        return bestPath == null ? Optional.empty() : Optional.of(fs.makeQualified(bestPath).toString());
    }

    /**
     * The newest complete checkpoint that passes its checksums; each newer one that fails is skipped
     * with a warning naming the file and what differs. Checkpoints without {@code checksums.json}
     * (older runs) count as verified.
     */
    public Optional<String> latestVerifiedCheckpoint(java.util.function.Consumer<String> warn) throws IOException {
        FileStatus[] children;
        try {
            children = fs.listStatus(root);
        } catch (FileNotFoundException e) {
            return Optional.empty();
        }
        java.util.TreeMap<Long, Path> complete = new java.util.TreeMap<>(java.util.Comparator.reverseOrder());
        for (FileStatus st : children) {
            if (!st.isDirectory()) continue;
            OptionalLong step = CheckpointDir.parseStep(st.getPath().getName());
            if (step.isPresent() && complete(st.getPath())) complete.put(step.getAsLong(), st.getPath());
        }
        for (Path p : complete.values()) {
            if (verify(p, warn)) return Optional.of(fs.makeQualified(p).toString());
        }
        return Optional.empty();
    }

    private final Map<String, Boolean> verified = new HashMap<>();

    /** Checks a checkpoint's checksums (once per checkpoint and manifest version); warns when it fails. */
    private boolean verify(Path dir, java.util.function.Consumer<String> warn) throws IOException {
        Path manifest = new Path(dir, CheckpointManifest.FILE_NAME);
        String key = fs.makeQualified(dir) + "@" + (fs.exists(manifest) ? fs.getFileStatus(manifest).getModificationTime() : -1);
        Boolean known = verified.get(key);
        if (known != null) return known;
        CheckpointManifest.Verdict v;
        try {
            v = CheckpointManifest.verify(fs.makeQualified(dir).toString(), new CheckpointManifest.FileAccess() {
                @Override public Long size(String name) throws IOException {
                    Path f = new Path(dir, name);
                    return fs.isFile(f) ? fs.getFileStatus(f).getLen() : null;
                }
                @Override public java.io.InputStream open(String name) throws IOException { return fs.open(new Path(dir, name)); }
            });
        } catch (IOException e) {
            // the file system's own checksums (HDFS, Hadoop's .crc files) or a read error: as unusable as a bad CRC
            v = new CheckpointManifest.Verdict(true, "cannot be read: " + e);
        }
        if (!v.ok()) warn.accept("WARNING: skipping checkpoint " + fs.makeQualified(dir) + ": " + v.problem());
        verified.put(key, v.ok());
        return v.ok();
    }

    private boolean complete(Path dir) throws IOException {
        for (String f : CHECKPOINT_FILES) {
            if (!fs.isFile(new Path(dir, f))) return false;
        }
        return true;
    }

    /** Copies a checkpoint (or any directory) of this file system into a fresh local directory. */
    public static java.nio.file.Path localize(String dirUri, Configuration conf, java.nio.file.Path localParent) throws IOException {
        Path src = new Path(dirUri);
        FileSystem fs = src.getFileSystem(conf);
        java.nio.file.Path dst = localParent.resolve(src.getName() + "-" + randomSuffix());
        java.nio.file.Files.createDirectories(dst);
        for (FileStatus st : fs.listStatus(src)) {
            if (st.isFile()) fs.copyToLocalFile(false, st.getPath(), new Path(dst.resolve(st.getPath().getName()).toUri()), true);
        }
        return dst;
    }

    /** Replaces a small text file atomically (write to a sibling, rename over). */
    public void writeText(String child, String content) throws IOException {
        writeBytes(child, content.getBytes(StandardCharsets.UTF_8));
    }

    /** Replaces a small file atomically (write to a sibling, rename over): a reader sees the old or the new file, never none. */
    public void writeBytes(String child, byte[] content) throws IOException {
        Path target = path(child);
        Path tmp = path(child + CheckpointDir.TMP_INFIX + randomSuffix());
        try (FSDataOutputStream out = fs.create(tmp, true)) {
            out.write(content);
        }
        // Replace in one step: a delete followed by a rename left a moment without the file, and a driver
        // killed in it lost metrics.jsonl (the log of every chunk before) or run.json (the run could not be
        // resumed). rename(2) replaces an existing file on local and POSIX file systems; HDFS refuses a rename
        // onto an existing file, and FileContext's OVERWRITE rename replaces it in one NameNode operation.
        // Only the local file system gets the plain rename over an existing file: elsewhere it would fail
        // first, and HDFS logs a NameNode warning for every refused rename (three per chunk).
        if ("file".equals(fs.getScheme()) || !fs.exists(target)) {
            if (fs.rename(tmp, target)) return;
        }
        if (!fs.exists(tmp)) throw new IOException("could not rename " + tmp + " to " + target);
        FileContext.getFileContext(fs.getUri(), fs.getConf()).rename(tmp, target, Options.Rename.OVERWRITE);
    }

    public String readText(String child) throws IOException {
        try (FSDataInputStream in = fs.open(path(child))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The entries of a Hadoop configuration, to rebuild it on executors. */
    public static Map<String, String> entries(Configuration conf) {
        Map<String, String> m = new HashMap<>();
        for (Map.Entry<String, String> e : conf) m.put(e.getKey(), e.getValue());
        return m;
    }

    public static Configuration configuration(Map<String, String> entries) {
        Configuration c = new Configuration(false);
        entries.forEach(c::set);
        return c;
    }

    static String randomSuffix() {
        return Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
    }
}
