package io.lowrank.worker.checkpoint;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Whole-file atomic writes: the content goes to a temp file in the target's directory, is flushed
 * to disk, then renamed over the target. Readers see either the old complete file or the new
 * complete one; a failed or interrupted write leaves the old file untouched (and removes the temp
 * file when it can).
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Writes the content of a file to a stream (the stream is closed by the caller). */
    @FunctionalInterface
    public interface StreamWriter {
        void write(OutputStream out) throws IOException;
    }

    /** Writes the content of a file and returns a value computed while writing (e.g. a checksum). */
    @FunctionalInterface
    public interface ResultWriter<T> {
        T write(OutputStream out) throws IOException;
    }

    /** Atomically replaces {@code target} with what {@code writer} writes. Creates parent dirs. */
    public static void write(Path target, StreamWriter writer) throws IOException {
        writeReturning(target, out -> {
            writer.write(out);
            return null;
        });
    }

    /**
     * Atomically replaces {@code target}: the content goes to a hidden temp file in the same
     * directory, is synced, then renamed over the target, so readers see the old file or the whole
     * new one, never a part. Returns what {@code writer} returned.
     */
    public static <T> T writeReturning(Path target, ResultWriter<T> writer) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = createTempFile(dir, "." + abs.getFileName() + ".tmp-");
        boolean moved = false;
        try {
            T result;
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                result = writer.write(out);
                out.flush();
                ch.force(true);
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            moved = true;
            fsyncDirectory(dir);
            return result;
        } finally {
            if (!moved) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the original failure matters more; a stray hidden temp file is harmless
                }
            }
        }
    }

    /** Atomically replaces {@code target} with {@code bytes}. */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, out -> out.write(bytes));
    }

    /**
     * Creates a new empty file {@code prefix + random hex} in {@code dir}. Unlike
     * {@link Files#createTempFile} this keeps the default (umask) permissions, so the renamed result
     * is readable like any other file the process writes.
     */
    static Path createTempFile(Path dir, String prefix) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path p = dir.resolve(prefix + randomHex());
            try {
                Files.newByteChannel(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
                return p;
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 100) throw e;
            }
        }
    }

    /** Creates a new empty directory {@code prefix + random hex} in {@code dir} (umask permissions). */
    static Path createTempDirectory(Path dir, String prefix) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path p = dir.resolve(prefix + randomHex());
            try {
                return Files.createDirectory(p);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 100) throw e;
            }
        }
    }

    static String randomHex() {
        return Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
    }

    /**
     * Flushes a directory's entries (new names, renames) to disk. Best effort: some platforms and
     * file systems cannot open a directory for syncing, which is ignored.
     */
    public static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // not supported here (e.g. Windows); the rename itself is still atomic
        }
    }
}
