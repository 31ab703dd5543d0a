package io.lowrank.worker.data;

import io.lowrank.worker.checkpoint.AtomicFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * 1-D token arrays in numpy's {@code .npy} format (versions 1.0, 2.0, 3.0), so token files made
 * by Python tools ({@code np.save("x.npy", ids)}) are read directly.
 *
 * <p>Readable dtypes: {@code <i4}, {@code <i8}, {@code <u2}, {@code |u1}; 1-D shape only. Ids must
 * be non-negative and (for int64) fit an int. Everything else is rejected with an error naming the
 * file and what was found. {@code fortran_order: True} is accepted for 1-D arrays because the
 * bytes are identical to C order there.
 */
public final class NpyTokens {

    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    public static final List<String> SUPPORTED_DTYPES = List.of("<i4", "<i8", "<u2", "|u1");

    private static final Pattern DESCR = Pattern.compile("['\"]descr['\"]\\s*:\\s*['\"]([^'\"]*)['\"]");
    private static final Pattern FORTRAN = Pattern.compile("['\"]fortran_order['\"]\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("['\"]shape['\"]\\s*:\\s*\\(([^)]*)\\)");
    private static final int CHUNK_BYTES = 1 << 20;

    private NpyTokens() {
    }

    /**
     * A parsed, validated header: {@code count} tokens of {@code descr} start at {@code dataOffset}.
     * {@code shape} is the shape as written in the file, for messages.
     */
    public record Header(String descr, boolean fortranOrder, String shape, long count, long dataOffset) {
        public int itemSize() {
            return itemSizeOf(descr);
        }
    }

    static boolean hasMagic(byte[] first, int length) {
        return length >= MAGIC.length && Arrays.equals(first, 0, MAGIC.length, MAGIC, 0, MAGIC.length);
    }

    /** Header only, with dtype/shape/size validation. */
    public static Header readHeader(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return readHeader(ch, file.toString());
        }
    }

    /** All ids of a 1-D token {@code .npy} file. */
    public static int[] read(Path file) throws IOException {
        String source = file.toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header h = readHeader(ch, source);
            if (h.count() > TokenShardReader.MAX_TOKENS_IN_MEMORY) {
                throw new TokenFormatException("npy file " + source + ": " + h.count()
                        + " tokens do not fit one in-memory array");
            }
            int count = (int) h.count();
            int item = h.itemSize();
            int[] tokens = new int[count];
            ch.position(h.dataOffset());
            // Chunk is a multiple of every item size, so chunks always hold whole items.
            ByteBuffer buf = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            long remaining = h.count() * item;
            int filled = 0;
            while (remaining > 0) {
                buf.clear();
                buf.limit((int) Math.min(buf.capacity(), remaining));
                TokenShardReader.readFully(ch, buf);
                if (buf.hasRemaining()) {
                    throw truncated(source, h, ch.size());
                }
                remaining -= buf.limit();
                buf.flip();
                while (buf.hasRemaining()) {
                    long v;
                    switch (h.descr()) {
                        case "<i4": v = buf.getInt(); break;
                        case "<i8": v = buf.getLong(); break;
                        case "<u2": v = buf.getShort() & 0xffff; break;
                        default: v = buf.get() & 0xff; break; // |u1
                    }
                    if (v < 0 || v > Integer.MAX_VALUE) {
                        throw new TokenFormatException("npy file " + source + ": token id " + v + " at index "
                                + filled + " is not a valid token id (negative or above " + Integer.MAX_VALUE + ")");
                    }
                    tokens[filled++] = (int) v;
                }
            }
            return tokens;
        }
    }

    /** Writes {@code tokens} as a 1-D {@code <i4} array (npy version 1.0), atomically. */
    public static void writeInt32(Path file, int[] tokens) throws IOException {
        String dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (" + tokens.length + ",), }";
        // numpy pads the header with spaces so the data starts at a multiple of 64, ending in '\n'.
        int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
        int pad = (64 - unpadded % 64) % 64;
        String headerText = dict + " ".repeat(pad) + "\n";
        byte[] headerBytes = headerText.getBytes(StandardCharsets.US_ASCII);
        AtomicFiles.write(file, out -> {
            ByteBuffer pre = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
            pre.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) headerBytes.length);
            out.write(pre.array());
            out.write(headerBytes);
            ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (int id : tokens) {
                if (!buf.hasRemaining()) {
                    out.write(buf.array(), 0, buf.position());
                    buf.clear();
                }
                buf.putInt(id);
            }
            out.write(buf.array(), 0, buf.position());
        });
    }

    private static Header readHeader(FileChannel ch, String source) throws IOException {
        ByteBuffer pre = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        TokenShardReader.readFully(ch, pre);
        if (!hasMagic(pre.array(), pre.position())) {
            throw new TokenFormatException("npy file " + source + ": bad magic "
                    + TokenShard.hex(pre.array(), Math.min(6, pre.position())) + ", expected 934e554d5059 (\\x93NUMPY)");
        }
        if (pre.position() < 10) {
            throw new TokenFormatException("npy file " + source + ": truncated header (" + pre.position() + " bytes)");
        }
        int major = pre.get(6) & 0xff;
        long headerLen;
        int prefix;
        if (major == 1) {
            headerLen = pre.getShort(8) & 0xffff;
            prefix = 10;
        } else if (major == 2 || major == 3) {
            if (pre.position() < 12) {
                throw new TokenFormatException("npy file " + source + ": truncated header (" + pre.position() + " bytes)");
            }
            headerLen = pre.getInt(8) & 0xffffffffL;
            prefix = 12;
        } else {
            throw new TokenFormatException("npy file " + source + ": unsupported npy format version " + major
                    + "." + (pre.get(7) & 0xff) + " (supported: 1.0, 2.0, 3.0)");
        }
        if (headerLen > (1 << 20)) {
            throw new TokenFormatException("npy file " + source + ": implausible header length " + headerLen);
        }
        ByteBuffer text = ByteBuffer.allocate((int) headerLen);
        ch.position(prefix);
        TokenShardReader.readFully(ch, text);
        if (text.hasRemaining()) {
            throw new TokenFormatException("npy file " + source + ": truncated header: " + text.position()
                    + " of " + headerLen + " header bytes");
        }
        // Version 3 allows UTF-8 in the header; 1 and 2 are latin-1. Both decode ASCII dicts the same.
        String dict = new String(text.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        String descr = group(DESCR, dict, "descr", source);
        String fortran = group(FORTRAN, dict, "fortran_order", source);
        String shapeText = group(SHAPE, dict, "shape", source);
        String shape = "(" + shapeText.trim() + ")";
        if (!SUPPORTED_DTYPES.contains(descr)) {
            throw new TokenFormatException("npy file " + source + ": dtype '" + descr + "' (shape " + shape
                    + ") is not a supported token dtype; supported: " + SUPPORTED_DTYPES);
        }
        long count = -1;
        int dims = 0;
        for (String part : shapeText.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            dims++;
            try {
                count = Long.parseLong(p.endsWith("L") ? p.substring(0, p.length() - 1) : p);
            } catch (NumberFormatException e) {
                throw new TokenFormatException("npy file " + source + ": unparseable shape " + shape);
            }
        }
        if (dims != 1 || count < 0) {
            throw new TokenFormatException("npy file " + source + ": shape " + shape + " (dtype " + descr
                    + ") is not 1-D; token files must hold a 1-D array");
        }
        Header h = new Header(descr, fortran.equals("True"), shape, count, prefix + headerLen);
        long expected = h.dataOffset() + count * h.itemSize();
        long size = ch.size();
        if (size < expected) {
            throw truncated(source, h, size);
        }
        if (size > expected) {
            throw new TokenFormatException("npy file " + source + ": " + (size - expected) + " trailing bytes after "
                    + count + " items of " + descr + " (file has " + size + " bytes, expected " + expected + ")");
        }
        return h;
    }

    private static TokenFormatException truncated(String source, Header h, long size) {
        return new TokenFormatException("npy file " + source + ": truncated: shape " + h.shape() + " of "
                + h.descr() + " needs " + (h.dataOffset() + h.count() * h.itemSize()) + " bytes, file has " + size);
    }

    private static String group(Pattern p, String dict, String key, String source) throws TokenFormatException {
        Matcher m = p.matcher(dict);
        if (!m.find()) {
            throw new TokenFormatException("npy file " + source + ": header has no '" + key + "' entry: " + dict.trim());
        }
        return m.group(1);
    }

    static int itemSizeOf(String descr) {
        switch (descr) {
            case "<i4": return 4;
            case "<i8": return 8;
            case "<u2": return 2;
            case "|u1": return 1;
            default: throw new IllegalArgumentException("unsupported npy dtype " + descr);
        }
    }
}
