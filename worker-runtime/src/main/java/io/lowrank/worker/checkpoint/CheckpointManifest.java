package io.lowrank.worker.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * {@code checksums.json} of a checkpoint: the size and CRC32C of every file, written into the
 * temporary directory after the files and before the rename that publishes the checkpoint, so a
 * published checkpoint always carries the checksums of what was written. A resume verifies them
 * end to end (whatever the storage underneath), and a checkpoint that fails is skipped in favour
 * of the previous one. Checkpoints without the file (written before it existed, or by another
 * implementation) are accepted unverified.
 */
public final class CheckpointManifest {
    public static final String FILE_NAME = "checksums.json";
    public static final String ALGORITHM = "CRC32C";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int BUFFER = 1 << 20;

    private CheckpointManifest() {}

    /** How a verifier reaches the checkpoint's files: a local directory or a Hadoop file system. */
    public interface FileAccess {
        /** null when the file does not exist */
        Long size(String name) throws IOException;
        InputStream open(String name) throws IOException;
    }

    /** Outcome of a verification: {@code problem} is null when every listed file matched. */
    public record Verdict(boolean hasManifest, String problem) {
        public boolean ok() { return problem == null; }
    }

    /** Writes {@code checksums.json} over every regular file in {@code dir} (call after all of them are written). */
    public static void write(Path dir) throws IOException {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                if (Files.isRegularFile(p) && !p.getFileName().toString().equals(FILE_NAME)) files.add(p);
            }
        }
        files.sort(null);
        ObjectNode root = JSON.createObjectNode();
        root.put("algorithm", ALGORITHM);
        ObjectNode entries = root.putObject("files");
        byte[] buf = new byte[BUFFER];
        for (Path f : files) {
            try (InputStream in = Files.newInputStream(f)) {
                entries.putObject(f.getFileName().toString()).put("size", Files.size(f)).put("crc32c", crcHex(in, buf));
            }
        }
        JsonFiles.writePretty(dir.resolve(FILE_NAME), root);
    }

    /**
     * The newest complete checkpoint of a local run directory that passes its checksums; each newer
     * one that fails is skipped with a warning naming the file.
     */
    public static java.util.Optional<Path> latestVerified(Path runDir, java.util.function.Consumer<String> warn) throws IOException {
        List<Path> all = CheckpointDir.listComplete(runDir);
        for (int i = all.size() - 1; i >= 0; i--) {
            Verdict v;
            try {
                v = verify(all.get(i));
            } catch (IOException e) {
                v = new Verdict(true, "cannot be read: " + e);
            }
            if (v.ok()) return java.util.Optional.of(all.get(i));
            warn.accept("WARNING: skipping checkpoint " + all.get(i) + ": " + v.problem());
        }
        return java.util.Optional.empty();
    }

    /** Verifies a local checkpoint directory. */
    public static Verdict verify(Path dir) throws IOException {
        return verify(dir.toString(), new FileAccess() {
            @Override public Long size(String name) throws IOException {
                Path p = dir.resolve(name);
                return Files.isRegularFile(p) ? Files.size(p) : null;
            }
            @Override public InputStream open(String name) throws IOException { return Files.newInputStream(dir.resolve(name)); }
        });
    }

    /**
     * Checks every file the manifest lists: present, same size, same CRC32C. The problem names the
     * file and what differs. A manifest that does not parse is a problem too.
     */
    public static Verdict verify(String dirName, FileAccess files) throws IOException {
        if (files.size(FILE_NAME) == null) return new Verdict(false, null);
        JsonNode root;
        try (InputStream in = files.open(FILE_NAME)) {
            root = JSON.readTree(in);
        } catch (IOException e) {
            return new Verdict(true, dirName + "/" + FILE_NAME + " does not parse: " + e.getMessage());
        }
        if (root == null || !ALGORITHM.equals(root.path("algorithm").asText()) || !root.path("files").isObject()) {
            return new Verdict(true, dirName + "/" + FILE_NAME + " is not a " + ALGORITHM + " manifest");
        }
        byte[] buf = new byte[BUFFER];
        for (Iterator<Map.Entry<String, JsonNode>> it = root.get("files").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            long size = e.getValue().path("size").asLong(-1);
            String crc = e.getValue().path("crc32c").asText("");
            Long actual = files.size(name);
            if (actual == null) return new Verdict(true, dirName + "/" + name + " is missing (listed in " + FILE_NAME + ")");
            if (actual != size) {
                return new Verdict(true, dirName + "/" + name + " has " + actual + " bytes, " + FILE_NAME + " says " + size);
            }
            String got;
            try (InputStream in = files.open(name)) {
                got = crcHex(in, buf);
            }
            if (!got.equals(crc)) {
                return new Verdict(true, dirName + "/" + name + " fails its checksum: CRC32C " + got + ", " + FILE_NAME + " says " + crc);
            }
        }
        return new Verdict(true, null);
    }

    private static String crcHex(InputStream in, byte[] buf) throws IOException {
        CRC32C crc = new CRC32C();
        for (int n; (n = in.read(buf)) > 0; ) crc.update(buf, 0, n);
        return String.format("%08x", crc.getValue());
    }
}
