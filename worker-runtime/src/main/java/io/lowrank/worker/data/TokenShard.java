package io.lowrank.worker.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Our token shard format ({@code .tok}). All integers little-endian.
 *
 * <pre>
 * offset size  field
 *  0      8    magic "LRTOK\0\0\0"
 *  8      4    format version, int32 (= 1)
 * 12      4    dtype code, int32: 1 = uint16, 2 = int32
 * 16      4    vocab size, int32 (every token id is &lt; this)
 * 20      8    token count, int64
 * 28      8    checksum, int64: CRC32C (java.util.zip.CRC32C) of the payload bytes, zero-extended
 * 36     28    reserved, zero
 * 64     ...   payload: token count x (2 or 4) bytes
 * </pre>
 *
 * <p>The header is fixed at 64 bytes so a reader can map the payload at an aligned offset and a
 * later version can add fields in the reserved area. The file size must be exactly
 * {@code 64 + count * bytesPerToken}; anything else is reported as truncation or trailing bytes.
 */
public final class TokenShard {

    static final byte[] MAGIC = {'L', 'R', 'T', 'O', 'K', 0, 0, 0};
    public static final int VERSION = 1;
    public static final int HEADER_BYTES = 64;
    public static final int DTYPE_UINT16 = 1;
    public static final int DTYPE_INT32 = 2;
    /** File extension the tokenizer pipeline uses. */
    public static final String EXTENSION = ".tok";

    private TokenShard() {
    }

    /** The decoded header of one shard. {@code checksum} is the CRC32C of the payload. */
    public record Header(int version, int dtype, int vocabSize, long tokenCount, long checksum) {

        public int bytesPerToken() {
            return bytesPerToken(dtype);
        }

        public long payloadBytes() {
            return tokenCount * bytesPerToken();
        }

        static int bytesPerToken(int dtype) {
            switch (dtype) {
                case DTYPE_UINT16:
                    return 2;
                case DTYPE_INT32:
                    return 4;
                default:
                    throw new IllegalArgumentException("unknown shard dtype code " + dtype);
            }
        }
    }

    /** uint16 whenever every id fits (vocab &lt;= 65536): halves the disk and read cost. */
    public static int dtypeFor(int vocabSize) {
        if (vocabSize <= 0) {
            throw new IllegalArgumentException("vocab size must be positive, got " + vocabSize);
        }
        return vocabSize <= 65536 ? DTYPE_UINT16 : DTYPE_INT32;
    }

    public static String dtypeName(int dtype) {
        return dtype == DTYPE_UINT16 ? "uint16" : dtype == DTYPE_INT32 ? "int32" : "unknown(" + dtype + ")";
    }

    /** True when {@code first} starts with the shard magic. */
    static boolean hasMagic(byte[] first, int length) {
        return length >= MAGIC.length && Arrays.equals(first, 0, MAGIC.length, MAGIC, 0, MAGIC.length);
    }

    static byte[] encodeHeader(Header h) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC);
        b.putInt(h.version());
        b.putInt(h.dtype());
        b.putInt(h.vocabSize());
        b.putLong(h.tokenCount());
        b.putLong(h.checksum());
        return b.array(); // rest stays zero (reserved)
    }

    /**
     * Parses and validates a 64-byte header. {@code source} names the file in every error.
     */
    static Header decodeHeader(byte[] bytes, int length, String source) throws TokenFormatException {
        if (length < HEADER_BYTES) {
            if (length >= MAGIC.length && !hasMagic(bytes, length)) {
                throw badMagic(bytes, source);
            }
            throw new TokenFormatException("token shard " + source + ": truncated header, " + length
                    + " of " + HEADER_BYTES + " bytes");
        }
        if (!hasMagic(bytes, length)) {
            throw badMagic(bytes, source);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes, 0, HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.position(MAGIC.length);
        int version = b.getInt();
        int dtype = b.getInt();
        int vocab = b.getInt();
        long count = b.getLong();
        long checksum = b.getLong();
        if (version != VERSION) {
            throw new TokenFormatException("token shard " + source + ": unsupported format version "
                    + version + " (this reader supports version " + VERSION + ")");
        }
        if (dtype != DTYPE_UINT16 && dtype != DTYPE_INT32) {
            throw new TokenFormatException("token shard " + source + ": unknown dtype code " + dtype
                    + " (1 = uint16, 2 = int32)");
        }
        if (vocab <= 0) {
            throw new TokenFormatException("token shard " + source + ": vocab size " + vocab + " is not positive");
        }
        if (dtype == DTYPE_UINT16 && vocab > 65536) {
            throw new TokenFormatException("token shard " + source + ": vocab size " + vocab
                    + " does not fit dtype uint16");
        }
        if (count < 0) {
            throw new TokenFormatException("token shard " + source + ": negative token count " + count);
        }
        if ((checksum >>> 32) != 0) {
            throw new TokenFormatException("token shard " + source + ": checksum field 0x"
                    + Long.toHexString(checksum) + " is not a 32-bit CRC32C");
        }
        return new Header(version, dtype, vocab, count, checksum);
    }

    private static TokenFormatException badMagic(byte[] bytes, String source) {
        return new TokenFormatException("token shard " + source + ": bad magic "
                + hex(bytes, Math.min(MAGIC.length, bytes.length)) + ", expected " + hex(MAGIC, MAGIC.length)
                + " (\"LRTOK\\0\\0\\0\")");
    }

    static String hex(byte[] bytes, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(String.format("%02x", bytes[i] & 0xff));
        }
        return sb.toString();
    }
}
