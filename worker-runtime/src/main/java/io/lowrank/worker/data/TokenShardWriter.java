package io.lowrank.worker.data;

import io.lowrank.worker.checkpoint.AtomicFiles;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * Writes {@link TokenShard} files. The dtype is uint16 when the vocabulary has at most 65536 ids,
 * int32 otherwise. Every id is checked against the vocabulary before anything is written.
 */
public final class TokenShardWriter {

    private static final int CHUNK_TOKENS = 1 << 16;

    private TokenShardWriter() {
    }

    /** Writes all of {@code tokens} to {@code file} atomically (temp file + rename). */
    public static TokenShard.Header write(Path file, int[] tokens, int vocabSize) throws IOException {
        return write(file, tokens, 0, tokens.length, vocabSize);
    }

    /**
     * Writes {@code tokens[offset, offset+length)} to {@code file} atomically: the shard appears
     * under its final name only when complete and synced; on failure no file is left behind.
     */
    public static TokenShard.Header write(Path file, int[] tokens, int offset, int length, int vocabSize)
            throws IOException {
        return AtomicFiles.writeReturning(file, out -> write(out, tokens, offset, length, vocabSize, file.toString()));
    }

    /**
     * Writes a shard to a stream (for example a Hadoop {@code FSDataOutputStream}); the caller
     * owns and closes {@code out}, and is responsible for atomic publication on that file system.
     * The checksum sits in the header, before the payload, so the tokens are encoded twice (once
     * to checksum, once to write) instead of buffering the whole payload.
     *
     * @param destName names the destination in error messages
     */
    public static TokenShard.Header write(OutputStream out, int[] tokens, int offset, int length,
                                          int vocabSize, String destName) throws IOException {
        if (offset < 0 || length < 0 || offset > tokens.length - length) {
            throw new IndexOutOfBoundsException("token shard " + destName + ": range [" + offset + ", "
                    + ((long) offset + length) + ") outside array of length " + tokens.length);
        }
        int dtype = TokenShard.dtypeFor(vocabSize);
        ByteBuffer buf = ByteBuffer.allocate(CHUNK_TOKENS * 4).order(ByteOrder.LITTLE_ENDIAN);
        CRC32C crc = new CRC32C();
        int end = offset + length;
        for (int start = offset; start < end; start += CHUNK_TOKENS) {
            fill(buf, tokens, start, Math.min(CHUNK_TOKENS, end - start), dtype, vocabSize, offset, destName);
            crc.update(buf);
        }
        TokenShard.Header header = new TokenShard.Header(TokenShard.VERSION, dtype, vocabSize, length, crc.getValue());
        out.write(TokenShard.encodeHeader(header));
        for (int start = offset; start < end; start += CHUNK_TOKENS) {
            fill(buf, tokens, start, Math.min(CHUNK_TOKENS, end - start), dtype, vocabSize, offset, destName);
            out.write(buf.array(), 0, buf.limit());
        }
        return header;
    }

    private static void fill(ByteBuffer buf, int[] tokens, int start, int n, int dtype, int vocab,
                             int base, String destName) throws TokenFormatException {
        buf.clear();
        for (int i = start; i < start + n; i++) {
            int id = tokens[i];
            if (id < 0 || id >= vocab) {
                throw new TokenFormatException("token shard " + destName + ": token id " + id + " at index "
                        + (i - base) + " is outside [0, " + vocab + ")");
            }
            if (dtype == TokenShard.DTYPE_UINT16) {
                buf.putShort((short) id);
            } else {
                buf.putInt(id);
            }
        }
        buf.flip();
    }
}
