package io.lowrank.worker.checkpoint;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A checkpoint file exists but its content is malformed (bad header, offsets, dtype, JSON, ...).
 * The message always starts with the offending file's path.
 */
public class CheckpointFormatException extends IOException {
    private final Path file;

    public CheckpointFormatException(Path file, String detail) {
        super(file + ": " + detail);
        this.file = file;
    }

    public CheckpointFormatException(Path file, String detail, Throwable cause) {
        super(file + ": " + detail, cause);
        this.file = file;
    }

    /** The file that failed validation (may be null when reading from a stream). */
    public Path file() {
        return file;
    }
}
