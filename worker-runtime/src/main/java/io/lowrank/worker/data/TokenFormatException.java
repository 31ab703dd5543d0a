package io.lowrank.worker.data;

import java.io.IOException;

/**
 * A token file (shard or .npy) or corpus artefact is malformed: bad magic, unknown version or
 * dtype, truncated, checksum mismatch, token id out of range. The message always names the file.
 * A subclass of {@link IOException} so callers that already handle I/O failures handle this too,
 * while tests and tools can tell corruption apart from a missing file.
 */
public class TokenFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public TokenFormatException(String message) {
        super(message);
    }
}
