package io.lowrank.worker.data;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Write-to-temp-then-rename, so a crash or a failed write never leaves a half-written file
 * under the final name: readers either see the previous file or the complete new one.
 */
final class AtomicFiles {

    /** Body of an atomic write; gets a buffered stream it must not close. */
    @FunctionalInterface
    interface Body<T> {
        T write(OutputStream out) throws IOException;
    }

    private AtomicFiles() {
    }

    static <T> T write(Path file, Body<T> body) throws IOException {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Files.createDirectories(dir);
        // Own temp name instead of Files.createTempFile: that one creates mode 0600 files, which
        // would stay unreadable to other users (e.g. Spark executors) after the rename.
        Path tmp = dir.resolve("." + target.getFileName() + ".tmp-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        boolean moved = false;
        try {
            T result;
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                result = body.write(out);
                out.flush();
                ch.force(true); // data on disk before the rename makes it visible
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            moved = true;
            syncDirectory(dir);
            return result;
        } finally {
            if (!moved) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /** Makes the rename itself durable; best effort, not every file system allows it. */
    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // Directory fsync is unsupported on some platforms; the data itself is already synced.
        }
    }
}
