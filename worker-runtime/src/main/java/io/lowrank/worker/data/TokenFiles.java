package io.lowrank.worker.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Entry point wherever a token file is read (eval, grad, the training cursor): dispatches on the
 * file's first bytes, not its name, so a renamed file still reads correctly; the extension only
 * appears in the error for files that are neither format.
 */
public final class TokenFiles {

    /** The two token file formats. */
    public enum Kind { SHARD, NPY }

    private TokenFiles() {
    }

    /** Which format {@code file} holds, from its magic bytes. */
    public static Kind detect(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "token file does not exist or is not a regular file");
        }
        byte[] first = new byte[8];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(first, 0, first.length);
        }
        if (TokenShard.hasMagic(first, n)) {
            return Kind.SHARD;
        }
        if (NpyTokens.hasMagic(first, n)) {
            return Kind.NPY;
        }
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String ext = dot < 0 ? "(none)" : name.substring(dot);
        throw new TokenFormatException("token file " + file + ": neither a token shard (magic \"LRTOK\") nor a .npy file"
                + " (magic \\x93NUMPY); extension " + ext + ", " + n + " leading bytes " + TokenShard.hex(first, n)
                + (n == 0 ? " (empty file)" : ""));
    }

    /** All token ids of a shard or 1-D {@code .npy} file, fully validated. */
    public static int[] read(Path file) throws IOException {
        return detect(file) == Kind.SHARD ? TokenShardReader.read(file) : NpyTokens.read(file);
    }

    /**
     * Like {@link #read(Path)}, additionally checking every id against the model's vocabulary
     * ({@code .npy} files carry no vocab size, and a shard's may be smaller or larger than the model's).
     */
    public static int[] read(Path file, int vocabSize) throws IOException {
        int[] tokens = read(file);
        checkVocab(tokens, vocabSize, file.toString());
        return tokens;
    }

    /** Token count from the header alone (cheap: the payload is not read). */
    public static long count(Path file) throws IOException {
        return detect(file) == Kind.SHARD
                ? TokenShardReader.readHeader(file).tokenCount()
                : NpyTokens.readHeader(file).count();
    }

    /** Throws naming {@code source}, index and id when any id is outside {@code [0, vocabSize)}. */
    public static void checkVocab(int[] tokens, int vocabSize, String source) throws TokenFormatException {
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocabSize) {
                throw new TokenFormatException("token file " + source + ": token id " + tokens[i] + " at index " + i
                        + " is outside the model vocabulary [0, " + vocabSize + ")");
            }
        }
    }
}
