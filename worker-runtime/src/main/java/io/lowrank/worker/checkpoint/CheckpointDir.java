package io.lowrank.worker.checkpoint;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * Layout of a checkpoint directory and of a run directory holding one checkpoint per saved step.
 *
 * <pre>
 * runDir/
 *   step-00001000/            one complete checkpoint (see below)
 *     config.json             model config, HF LLaMA keys
 *     model.safetensors       parameters, HF LLaMA names (+ factor names)
 *     optimizer.safetensors   optimizer state (training checkpoints only)
 *     trainer_state.json      step, data cursor, RNG, schedule state (training checkpoints only)
 *   step-00002000.tmp-1a2b..  a write in progress or one that crashed: never used
 *   step-00002000.old-3c4d..  the previous version during a replace: never used
 * </pre>
 *
 * <p><b>Why this is crash-safe.</b> {@link #writeAtomically} writes every file into a sibling
 * {@code <dir>.tmp-<random>} directory, syncs the files, and only then renames the whole directory
 * to its final name in one {@code rename(2)}. So a directory named {@code step-XXXXXXXX} exists only
 * once its content is complete; a crash (killed executor, lost node, full disk) at any point
 * leaves at worst a {@code .tmp-} directory that {@link #latest} ignores by name. When the target
 * already exists it is first renamed to {@code <dir>.old-<random>} and deleted only after the new
 * one is in place; a crash between these two renames leaves the step missing (and its
 * {@code .old-} copy on disk), and {@link #latest} falls back to the previous step. {@link #latest}
 * additionally requires {@code config.json} and {@code model.safetensors} as regular files, because
 * directories can also appear by other means (a hand copy, a partial rsync) without the rename
 * guarantee. Resuming from the newest complete checkpoint is what the driver's retry loop needs:
 * a retried chunk must never start from half-written state.
 */
public final class CheckpointDir {
    public static final String CONFIG_JSON = "config.json";
    public static final String MODEL_SAFETENSORS = "model.safetensors";
    public static final String OPTIMIZER_SAFETENSORS = "optimizer.safetensors";
    public static final String TRAINER_STATE_JSON = "trainer_state.json";
    public static final String STEP_PREFIX = "step-";
    public static final String TMP_INFIX = ".tmp-";
    public static final String OLD_INFIX = ".old-";

    private CheckpointDir() {}

    /** Writes the content of a checkpoint into an (initially empty) directory. */
    @FunctionalInterface
    public interface DirWriter {
        void write(Path dir) throws IOException;
    }

    /** {@code step-%08d}; wider for steps of 10^8 and above. */
    public static String stepDirName(long step) {
        if (step < 0) throw new IllegalArgumentException("negative step " + step);
        return String.format("%s%08d", STEP_PREFIX, step);
    }

    public static Path stepDir(Path runDir, long step) {
        return runDir.resolve(stepDirName(step));
    }

    /** The step of a canonical {@code step-XXXXXXXX} name; empty for anything else (tmp/old dirs included). */
    public static OptionalLong parseStep(String dirName) {
        if (!dirName.startsWith(STEP_PREFIX)) return OptionalLong.empty();
        String digits = dirName.substring(STEP_PREFIX.length());
        if (digits.length() < 8 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) return OptionalLong.empty();
        long step;
        try {
            step = Long.parseLong(digits);
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
        return stepDirName(step).equals(dirName) ? OptionalLong.of(step) : OptionalLong.empty();
    }

    /** True when {@code dir} has {@code config.json} and {@code model.safetensors} as regular files. */
    public static boolean isComplete(Path dir) {
        return Files.isDirectory(dir)
                && Files.isRegularFile(dir.resolve(CONFIG_JSON))
                && Files.isRegularFile(dir.resolve(MODEL_SAFETENSORS));
    }

    /** Complete step checkpoints in {@code runDir}, oldest first; empty if the directory does not exist. */
    public static List<Path> listComplete(Path runDir) throws IOException {
        List<Path> found = new ArrayList<>();
        if (!Files.isDirectory(runDir)) return found;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(runDir)) {
            for (Path p : ds) {
                if (parseStep(p.getFileName().toString()).isPresent() && isComplete(p)) found.add(p);
            }
        }
        found.sort(Comparator.comparingLong(p -> parseStep(p.getFileName().toString()).getAsLong()));
        return found;
    }

    /** The complete step checkpoint with the highest step in {@code runDir}, if any (see class doc). */
    public static Optional<Path> latest(Path runDir) throws IOException {
        List<Path> all = listComplete(runDir);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /**
     * What a command's {@code --model DIR} names: DIR itself when it is a complete checkpoint, else
     * DIR as a run directory, whose newest complete {@code step-XXXXXXXX} checkpoint is taken
     * ({@code .tmp-}/{@code .old-} directories and incomplete ones ignored, as for resume).
     *
     * @throws IOException naming DIR and what is missing when neither holds
     */
    public static Path resolveModel(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new NoSuchFileException(dir + " (--model): no such directory");
        if (isComplete(dir)) return dir;
        Optional<Path> newest = latest(dir);
        if (newest.isPresent()) return newest.get();
        if (Files.isRegularFile(dir.resolve(CONFIG_JSON)) || Files.exists(dir.resolve(MODEL_SAFETENSORS))) {
            throw new IOException(dir + " (--model) is an incomplete checkpoint: it needs both " + CONFIG_JSON + " and "
                    + MODEL_SAFETENSORS + " as regular files");
        }
        throw new IOException(dir + " (--model) is neither a checkpoint (" + CONFIG_JSON + " + " + MODEL_SAFETENSORS
                + ") nor a run directory with a complete " + STEP_PREFIX + "XXXXXXXX/ checkpoint");
    }

    /**
     * Creates or replaces {@code dir} so that it is only ever seen complete: {@code writer} fills
     * {@code <dir>.tmp-<random>}, the files are synced, then the temp directory is renamed to
     * {@code dir}. An existing {@code dir} is renamed to {@code <dir>.old-<random>} first and deleted
     * after the new one is in place (restored if the final rename fails). If {@code writer} throws,
     * the temp directory is removed and {@code dir} is untouched.
     */
    public static void writeAtomically(Path dir, DirWriter writer) throws IOException {
        Path target = dir.toAbsolutePath().normalize();
        Path parent = target.getParent();
        String base = target.getFileName().toString();
        Files.createDirectories(parent);
        Path tmp = AtomicFiles.createTempDirectory(parent, base + TMP_INFIX);
        boolean installed = false;
        try {
            writer.write(tmp);
            syncTree(tmp);
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                Path old = parent.resolve(base + OLD_INFIX + AtomicFiles.randomHex());
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    try {
                        Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
                    } catch (IOException restore) {
                        e.addSuppressed(restore);
                    }
                    throw e;
                }
                installed = true;
                AtomicFiles.fsyncDirectory(parent);
                try {
                    deleteRecursively(old);
                } catch (IOException ignored) {
                    // the new checkpoint is in place; a leftover .old- dir is ignored by latest()
                }
            } else {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                installed = true;
                AtomicFiles.fsyncDirectory(parent);
            }
        } catch (IOException | RuntimeException | Error e) {
            if (!installed) {
                try {
                    deleteRecursively(tmp);
                } catch (IOException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
    }

    /** Deletes a file or directory tree (symlinks are deleted, not followed); no-op if absent. */
    public static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) return;
        Files.walkFileTree(p, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
                if (exc instanceof NoSuchFileException) return FileVisitResult.CONTINUE;
                throw exc;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                if (exc != null) throw exc;
                Files.deleteIfExists(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** fsyncs every regular file and directory under {@code root} (writers need not sync themselves). */
    private static void syncTree(Path root) throws IOException {
        List<Path> dirs = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                        ch.force(true);
                    }
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    dirs.add(p);
                }
            }
        }
        for (Path d : dirs) AtomicFiles.fsyncDirectory(d);
    }
}
