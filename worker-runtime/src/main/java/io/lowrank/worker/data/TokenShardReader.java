package io.lowrank.worker.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Reads {@link TokenShard} files and verifies everything the header promises: magic, version,
 * dtype, exact size (truncation and trailing bytes), CRC32C of the payload, and every id below
 * the vocab size. All failures are {@link TokenFormatException}s naming the file.
 */
public final class TokenShardReader {

    private static final int CHUNK_BYTES = 1 << 20;
    /** Largest array length the JVM reliably allocates. */
    static final long MAX_TOKENS_IN_MEMORY = Integer.MAX_VALUE - 16;

    private TokenShardReader() {
    }

    /** Header only, plus a size check, without reading the payload. */
    public static TokenShard.Header readHeader(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            TokenShard.Header h = readHeader(ch, file.toString());
            checkSize(h, ch.size(), file.toString());
            return h;
        }
    }

    /** All tokens of a shard file, fully verified. */
    public static int[] read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            String source = file.toString();
            TokenShard.Header h = readHeader(ch, source);
            checkSize(h, ch.size(), source);
            return readPayload(ch, h, source);
        }
    }

    /**
     * All tokens of a shard read from a stream (for example a Hadoop input stream), fully
     * verified, including that the stream ends right after the payload. Does not close {@code in}.
     */
    public static int[] read(InputStream in, String sourceName) throws IOException {
        ReadableByteChannel ch = Channels.newChannel(in);
        TokenShard.Header h = readHeader(ch, sourceName);
        int[] tokens = readPayload(ch, h, sourceName);
        if (in.read() != -1) {
            throw new TokenFormatException("token shard " + sourceName + ": trailing bytes after the "
                    + h.tokenCount() + "-token payload");
        }
        return tokens;
    }

    private static TokenShard.Header readHeader(ReadableByteChannel ch, String source) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(TokenShard.HEADER_BYTES);
        readFully(ch, buf);
        return TokenShard.decodeHeader(buf.array(), buf.position(), source);
    }

    private static void checkSize(TokenShard.Header h, long fileSize, String source) throws TokenFormatException {
        long expected = TokenShard.HEADER_BYTES + h.payloadBytes();
        if (fileSize < expected) {
            throw new TokenFormatException("token shard " + source + ": truncated: header says "
                    + h.tokenCount() + " tokens (" + expected + " bytes with header), file has " + fileSize + " bytes");
        }
        if (fileSize > expected) {
            throw new TokenFormatException("token shard " + source + ": " + (fileSize - expected)
                    + " trailing bytes after the " + h.tokenCount() + "-token payload (file has " + fileSize
                    + " bytes, expected " + expected + ")");
        }
    }

    private static int[] readPayload(ReadableByteChannel ch, TokenShard.Header h, String source) throws IOException {
        if (h.tokenCount() > MAX_TOKENS_IN_MEMORY) {
            throw new TokenFormatException("token shard " + source + ": " + h.tokenCount()
                    + " tokens do not fit one in-memory array; split it into smaller shards");
        }
        int count = (int) h.tokenCount();
        int bytesPerToken = h.bytesPerToken();
        int[] tokens = new int[count];
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK_BYTES, Math.max(h.payloadBytes(), 1)))
                .order(ByteOrder.LITTLE_ENDIAN);
        CRC32C crc = new CRC32C();
        int filled = 0;
        long remainingBytes = h.payloadBytes();
        while (remainingBytes > 0) {
            buf.clear();
            buf.limit((int) Math.min(buf.capacity(), remainingBytes));
            readFully(ch, buf);
            int got = buf.position();
            if (got < buf.limit()) {
                long present = h.payloadBytes() - remainingBytes + got;
                throw new TokenFormatException("token shard " + source + ": truncated payload: header says "
                        + h.tokenCount() + " tokens (" + h.payloadBytes() + " bytes), only " + present + " present");
            }
            remainingBytes -= got;
            crc.update(buf.array(), 0, got);
            buf.flip();
            // Chunks hold whole tokens: the chunk size and every limit are multiples of 4 or of the
            // remaining payload, which is itself a multiple of bytesPerToken.
            if (bytesPerToken == 2) {
                while (buf.hasRemaining()) {
                    tokens[filled++] = buf.getShort() & 0xffff;
                }
            } else {
                while (buf.hasRemaining()) {
                    tokens[filled++] = buf.getInt();
                }
            }
        }
        long actual = crc.getValue();
        if (actual != h.checksum()) {
            throw new TokenFormatException("token shard " + source + ": checksum mismatch (CRC32C of payload): "
                    + "expected 0x" + Long.toHexString(h.checksum()) + " from header, actual 0x" + Long.toHexString(actual));
        }
        for (int i = 0; i < count; i++) {
            int id = tokens[i];
            if (id < 0 || id >= h.vocabSize()) {
                throw new TokenFormatException("token shard " + source + ": token id " + id
                        + " at index " + i + " is outside [0, " + h.vocabSize() + ")");
            }
        }
        return tokens;
    }

    /** Reads until {@code buf} is full or the channel ends; the caller checks {@code position()}. */
    static void readFully(ReadableByteChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) {
                return;
            }
        }
    }
}
