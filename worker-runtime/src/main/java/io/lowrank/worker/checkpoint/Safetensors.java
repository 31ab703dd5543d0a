package io.lowrank.worker.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reader and writer for the Hugging Face safetensors format
 * (https://huggingface.co/docs/safetensors): 8-byte little-endian u64 header length N, N bytes of
 * UTF-8 JSON header (padded with spaces to a multiple of 8), then the data buffer. The header maps
 * each tensor name to {@code {"dtype":..,"shape":[..],"data_offsets":[begin,end]}} (offsets
 * relative to the data buffer) plus an optional {@code "__metadata__": {string: string}}.
 * Tensors are little-endian, row-major.
 *
 * <p>Writing is deterministic: tensors in the map's iteration order, laid out contiguously in that
 * order, metadata keys sorted. Reading validates the header like the reference implementation
 * (offsets contiguous from 0 and covering the whole buffer, byte sizes matching shape x dtype) and
 * reports problems with the file and tensor name. Files of any size are read with positioned
 * {@link FileChannel} reads in bounded chunks; one tensor must fit a Java array (< 2^31 elements).
 *
 * <p>Readable and writable dtypes: F32, F64, BF16, F16 (decoded to float), I32, I64. Other dtypes
 * of the format (BOOL, U8, I8, F8_*, I16, U16, U32, U64, C64) pass header validation so that
 * {@link Reader} can open such files and read the other tensors; reading one of them fails.
 */
public final class Safetensors {
    /** Same limit as the reference implementation. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;
    public static final String METADATA_KEY = "__metadata__";
    static final int CHUNK_BYTES = 1 << 20; // multiple of every element size

    private static final Map<String, Integer> DTYPE_SIZES = Map.ofEntries(
            Map.entry("BOOL", 1), Map.entry("U8", 1), Map.entry("I8", 1),
            Map.entry("F8_E5M2", 1), Map.entry("F8_E4M3", 1), Map.entry("F8_E8M0", 1),
            Map.entry("I16", 2), Map.entry("U16", 2), Map.entry("F16", 2), Map.entry("BF16", 2),
            Map.entry("I32", 4), Map.entry("U32", 4), Map.entry("F32", 4),
            Map.entry("I64", 8), Map.entry("U64", 8), Map.entry("F64", 8), Map.entry("C64", 8));
    private static final Set<String> SUPPORTED = Set.of(
            HostTensor.F32, HostTensor.F64, HostTensor.BF16, HostTensor.F16, HostTensor.I32, HostTensor.I64);

    /** Immutable after construction and thread-safe; a constant, not shared mutable state. */
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private Safetensors() {}

    /** Size in bytes of one element of a safetensors dtype. */
    public static int dtypeSize(String dtype) {
        Integer s = DTYPE_SIZES.get(dtype);
        if (s == null) {
            throw new IllegalArgumentException("unknown safetensors dtype '" + dtype + "' (known: "
                    + new TreeMap<>(DTYPE_SIZES).keySet() + ")");
        }
        return s;
    }

    /** Where one tensor lives in a file; offsets are relative to the data buffer. */
    public record TensorInfo(String name, String dtype, long[] shape, long begin, long end) {
        @Override
        public long[] shape() {
            return shape.clone();
        }

        public long numel() {
            return HostTensor.numelOf(shape, name);
        }

        public long byteLength() {
            return end - begin;
        }

        @Override
        public String toString() {
            return name + " " + dtype + Arrays.toString(shape) + " @[" + begin + "," + end + ")";
        }
    }

    // ------------------------------------------------------------------------------------ writing

    /**
     * Writes {@code tensors} (in iteration order) and optional {@code metadata} to {@code file}
     * atomically: a temp file in the same directory is written, synced and renamed over
     * {@code file}, so an existing file is never left half-written.
     */
    public static void write(Path file, LinkedHashMap<String, HostTensor> tensors, Map<String, String> metadata)
            throws IOException {
        byte[] header = encodeHeader(tensors, metadata); // validate before touching the disk
        AtomicFiles.write(file, out -> writeTo(out, header, tensors));
    }

    /** Writes the same bytes as {@link #write(Path, LinkedHashMap, Map)} to a stream (not closed). */
    public static void write(OutputStream out, LinkedHashMap<String, HostTensor> tensors, Map<String, String> metadata)
            throws IOException {
        writeTo(out, encodeHeader(tensors, metadata), tensors);
    }

    /** The padded JSON header (without the 8-byte length prefix) that a write would produce. */
    static byte[] encodeHeader(Map<String, HostTensor> tensors, Map<String, String> metadata) {
        Objects.requireNonNull(tensors, "tensors");
        ObjectNode root = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = root.putObject(METADATA_KEY);
            for (Map.Entry<String, String> e : new TreeMap<>(metadata).entrySet()) {
                if (e.getValue() == null) {
                    throw new IllegalArgumentException("metadata value for key '" + e.getKey() + "' is null");
                }
                meta.put(e.getKey(), e.getValue());
            }
        }
        long offset = 0;
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            String name = e.getKey();
            HostTensor t = e.getValue();
            if (name == null) throw new IllegalArgumentException("null tensor name");
            if (name.equals(METADATA_KEY)) {
                throw new IllegalArgumentException("tensor name '" + METADATA_KEY + "' is reserved");
            }
            if (t == null) throw new IllegalArgumentException("tensor '" + name + "' is null");
            ObjectNode entry = root.putObject(name);
            entry.put("dtype", t.dtype());
            ArrayNode shape = entry.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            long end = offset + t.byteSize();
            entry.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize safetensors header", e);
        }
        int padded = (json.length + 7) & ~7;
        byte[] header = Arrays.copyOf(json, padded);
        Arrays.fill(header, json.length, padded, (byte) ' ');
        return header;
    }

    private static void writeTo(OutputStream out, byte[] header, Map<String, HostTensor> tensors) throws IOException {
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
        out.write(len.array());
        out.write(header);
        long total = 0;
        for (HostTensor t : tensors.values()) total += t.byteSize();
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK_BYTES, Math.max(8, total)))
                .order(ByteOrder.LITTLE_ENDIAN);
        for (HostTensor t : tensors.values()) {
            writeData(out, t, buf);
        }
    }

    private static void writeData(OutputStream out, HostTensor t, ByteBuffer buf) throws IOException {
        int esize = dtypeSize(t.dtype());
        int n = (int) t.numel();
        int perChunk = buf.capacity() / esize;
        for (int off = 0; off < n; off += perChunk) {
            int cnt = Math.min(perChunk, n - off);
            buf.clear();
            switch (t.dtype()) {
                case HostTensor.F32 -> buf.asFloatBuffer().put(t.floatsView(), off, cnt);
                case HostTensor.F64 -> buf.asDoubleBuffer().put(t.doublesView(), off, cnt);
                case HostTensor.I32 -> buf.asIntBuffer().put(t.intsView(), off, cnt);
                case HostTensor.I64 -> buf.asLongBuffer().put(t.longsView(), off, cnt);
                case HostTensor.BF16 -> {
                    ShortBuffer s = buf.asShortBuffer();
                    float[] f = t.floatsView();
                    for (int k = 0; k < cnt; k++) s.put(HalfFloats.floatToBf16(f[off + k]));
                }
                case HostTensor.F16 -> {
                    ShortBuffer s = buf.asShortBuffer();
                    float[] f = t.floatsView();
                    for (int k = 0; k < cnt; k++) s.put(HalfFloats.floatToF16(f[off + k]));
                }
                default -> throw new IllegalStateException("cannot write dtype " + t.dtype());
            }
            out.write(buf.array(), 0, cnt * esize);
        }
    }

    // ------------------------------------------------------------------------------------ reading

    /** Reads every tensor, in header order. Loads all data on the heap; see {@link #open} for lazy reads. */
    public static LinkedHashMap<String, HostTensor> read(Path file) throws IOException {
        try (Reader r = open(file)) {
            LinkedHashMap<String, HostTensor> out = new LinkedHashMap<>();
            for (String name : r.names()) out.put(name, r.read(name));
            return out;
        }
    }

    /** The {@code __metadata__} map (empty when absent); reads only the header. */
    public static Map<String, String> readMetadata(Path file) throws IOException {
        try (Reader r = open(file)) {
            return r.metadata();
        }
    }

    /** Opens a file and validates its header; tensors are then read one at a time. */
    public static Reader open(Path file) throws IOException {
        return new Reader(file);
    }

    /**
     * An open safetensors file with a validated header. Tensor reads are positioned reads, so one
     * Reader may be used from several threads at once.
     */
    public static final class Reader implements Closeable {
        private final Path file;
        private final FileChannel ch;
        private final long dataStart;
        private final Map<String, String> metadata;
        private final LinkedHashMap<String, TensorInfo> tensors;

        private Reader(Path file) throws IOException {
            this.file = file;
            this.ch = FileChannel.open(file, StandardOpenOption.READ);
            try {
                long size = ch.size();
                if (size < 8) {
                    throw bad("file is " + size + " bytes, too short for the 8-byte header length");
                }
                ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                readFully(lenBuf, 0, "header length");
                long n = lenBuf.flip().getLong();
                if (n < 0 || n > size - 8) {
                    throw bad("header length " + Long.toUnsignedString(n) + " (first 8 bytes) is larger than the "
                            + (size - 8) + " bytes after it (file size " + size + "); not a safetensors file, or truncated");
                }
                if (n > MAX_HEADER_BYTES) {
                    throw bad("header length " + n + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
                }
                ByteBuffer hdr = ByteBuffer.allocate((int) n);
                readFully(hdr, 8, "header");
                this.dataStart = 8 + n;
                Map<String, String> meta = new LinkedHashMap<>();
                this.tensors = parseHeader(hdr.array(), size - dataStart, meta);
                this.metadata = Collections.unmodifiableMap(meta);
            } catch (IOException | RuntimeException e) {
                try {
                    ch.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
        }

        public Path file() {
            return file;
        }

        /** {@code __metadata__} entries in file order (empty if absent); unmodifiable. */
        public Map<String, String> metadata() {
            return metadata;
        }

        /** Tensor names in header order. */
        public List<String> names() {
            return List.copyOf(tensors.keySet());
        }

        public boolean contains(String name) {
            return tensors.containsKey(name);
        }

        /** Layout of one tensor; throws naming the file if absent. */
        public TensorInfo info(String name) {
            TensorInfo t = tensors.get(name);
            if (t == null) {
                throw new IllegalArgumentException(file + ": no tensor named '" + name + "' (file has "
                        + tensors.size() + " tensors)");
            }
            return t;
        }

        /** Reads one tensor; BF16/F16 are decoded to float (exactly), keeping their dtype. */
        public HostTensor read(String name) throws IOException {
            TensorInfo t = info(name);
            int n = checkReadable(t);
            long[] shape = t.shape();
            switch (t.dtype()) {
                case HostTensor.F32, HostTensor.BF16, HostTensor.F16 -> {
                    return HostTensor.ofStoredFloats(t.dtype(), shape, readFloatData(t, n));
                }
                case HostTensor.F64 -> {
                    double[] d = new double[n];
                    readChunks(t, (b, off, cnt) -> b.asDoubleBuffer().get(d, off, cnt));
                    return HostTensor.f64(shape, d);
                }
                case HostTensor.I32 -> {
                    int[] d = new int[n];
                    readChunks(t, (b, off, cnt) -> b.asIntBuffer().get(d, off, cnt));
                    return HostTensor.i32(shape, d);
                }
                case HostTensor.I64 -> {
                    long[] d = new long[n];
                    readChunks(t, (b, off, cnt) -> b.asLongBuffer().get(d, off, cnt));
                    return HostTensor.i64(shape, d);
                }
                default -> throw new IllegalStateException(t.dtype());
            }
        }

        /** Reads one tensor as float[] without an intermediate copy for F32/BF16/F16. */
        public float[] readFloats(String name) throws IOException {
            TensorInfo t = info(name);
            int n = checkReadable(t);
            return switch (t.dtype()) {
                case HostTensor.F32, HostTensor.BF16, HostTensor.F16 -> readFloatData(t, n);
                default -> read(name).toFloatArray();
            };
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }

        private int checkReadable(TensorInfo t) throws CheckpointFormatException {
            if (!SUPPORTED.contains(t.dtype())) {
                throw bad("tensor '" + t.name() + "': dtype " + t.dtype() + " is not supported by this reader"
                        + " (supported: " + new TreeMap<>(DTYPE_SIZES).keySet().stream().filter(SUPPORTED::contains).toList() + ")");
            }
            long n = t.numel();
            if (n > Integer.MAX_VALUE - 8) {
                throw bad("tensor '" + t.name() + "' has " + n + " elements, more than a Java array can hold");
            }
            return (int) n;
        }

        private float[] readFloatData(TensorInfo t, int n) throws IOException {
            float[] d = new float[n];
            switch (t.dtype()) {
                case HostTensor.F32 -> readChunks(t, (b, off, cnt) -> b.asFloatBuffer().get(d, off, cnt));
                case HostTensor.BF16 -> readChunks(t, (b, off, cnt) -> {
                    ShortBuffer s = b.asShortBuffer();
                    for (int k = 0; k < cnt; k++) d[off + k] = HalfFloats.bf16ToFloat(s.get(k));
                });
                case HostTensor.F16 -> readChunks(t, (b, off, cnt) -> {
                    ShortBuffer s = b.asShortBuffer();
                    for (int k = 0; k < cnt; k++) d[off + k] = HalfFloats.f16ToFloat(s.get(k));
                });
                default -> throw new IllegalStateException(t.dtype());
            }
            return d;
        }

        private interface ChunkSink {
            void accept(ByteBuffer littleEndianChunk, int elementOffset, int elementCount);
        }

        private void readChunks(TensorInfo t, ChunkSink sink) throws IOException {
            int esize = dtypeSize(t.dtype());
            long remaining = t.byteLength();
            long pos = dataStart + t.begin();
            int elem = 0;
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK_BYTES, remaining)).order(ByteOrder.LITTLE_ENDIAN);
            while (remaining > 0) {
                int len = (int) Math.min(buf.capacity(), remaining);
                buf.clear().limit(len);
                readFully(buf, pos, "tensor '" + t.name() + "'");
                buf.flip();
                sink.accept(buf, elem, len / esize);
                elem += len / esize;
                pos += len;
                remaining -= len;
            }
        }

        private void readFully(ByteBuffer buf, long pos, String what) throws IOException {
            long start = pos;
            while (buf.hasRemaining()) {
                int r = ch.read(buf, pos);
                if (r < 0) {
                    throw bad("unexpected end of file at byte " + pos + " while reading " + what
                            + " (from byte " + start + "); the file was truncated");
                }
                pos += r;
            }
        }

        private CheckpointFormatException bad(String detail) {
            return new CheckpointFormatException(file, detail);
        }

        private LinkedHashMap<String, TensorInfo> parseHeader(byte[] header, long dataLen, Map<String, String> meta)
                throws CheckpointFormatException {
            if (header.length == 0 || header[0] != '{') {
                throw bad("header does not start with '{'; not a safetensors file");
            }
            JsonNode root;
            try {
                root = JSON.readTree(header);
            } catch (IOException e) {
                String msg = e instanceof JsonProcessingException jp ? jp.getOriginalMessage() : e.getMessage();
                throw new CheckpointFormatException(file, "header is not valid JSON: " + msg, e);
            }
            if (root == null || !root.isObject()) {
                throw bad("header JSON is not an object");
            }
            LinkedHashMap<String, TensorInfo> out = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                JsonNode v = e.getValue();
                if (name.equals(METADATA_KEY)) {
                    if (!v.isObject()) throw bad(METADATA_KEY + " is not a JSON object");
                    for (Iterator<Map.Entry<String, JsonNode>> m = v.fields(); m.hasNext(); ) {
                        Map.Entry<String, JsonNode> me = m.next();
                        if (!me.getValue().isTextual()) {
                            throw bad(METADATA_KEY + " value for key '" + me.getKey() + "' is not a string: " + me.getValue());
                        }
                        meta.put(me.getKey(), me.getValue().textValue());
                    }
                    continue;
                }
                out.put(name, parseEntry(name, v));
            }
            checkLayout(out, dataLen);
            return out;
        }

        private TensorInfo parseEntry(String name, JsonNode v) throws CheckpointFormatException {
            String where = "tensor '" + name + "': ";
            if (!v.isObject()) throw bad(where + "header entry is not a JSON object: " + v);
            JsonNode dt = v.get("dtype");
            if (dt == null || !dt.isTextual()) throw bad(where + "missing or non-string \"dtype\"");
            String dtype = dt.textValue();
            Integer esize = DTYPE_SIZES.get(dtype);
            if (esize == null) {
                throw bad(where + "unknown dtype '" + dtype + "' (known: " + new TreeMap<>(DTYPE_SIZES).keySet() + ")");
            }
            long[] shape = longArray(v.get("shape"), where + "\"shape\"", -1);
            long[] offs = longArray(v.get("data_offsets"), where + "\"data_offsets\"", 2);
            if (offs[0] > offs[1]) {
                throw bad(where + "data_offsets " + Arrays.toString(offs) + " end before they begin");
            }
            long expected;
            try {
                expected = Math.multiplyExact(HostTensor.numelOf(shape, name), esize.longValue());
            } catch (ArithmeticException | IllegalArgumentException ex) {
                throw bad(where + "shape " + Arrays.toString(shape) + " is too large");
            }
            if (expected != offs[1] - offs[0]) {
                throw bad(where + "shape " + Arrays.toString(shape) + " x " + dtype + " (" + esize + " bytes) = "
                        + expected + " bytes, but data_offsets " + Arrays.toString(offs) + " span " + (offs[1] - offs[0]));
            }
            return new TensorInfo(name, dtype, shape, offs[0], offs[1]);
        }

        private long[] longArray(JsonNode node, String what, int requiredLength) throws CheckpointFormatException {
            if (node == null || !node.isArray()) throw bad(what + " is missing or not an array");
            if (requiredLength >= 0 && node.size() != requiredLength) {
                throw bad(what + " must have " + requiredLength + " entries: " + node);
            }
            long[] r = new long[node.size()];
            for (int k = 0; k < r.length; k++) {
                JsonNode x = node.get(k);
                if (!x.isIntegralNumber() || !x.canConvertToLong() || x.longValue() < 0) {
                    throw bad(what + " entry " + k + " is not a non-negative integer: " + node);
                }
                r[k] = x.longValue();
            }
            return r;
        }

        /** Offsets sorted by begin must tile [0, dataLen) exactly (as the reference checks). */
        private void checkLayout(Map<String, TensorInfo> tensors, long dataLen) throws CheckpointFormatException {
            List<TensorInfo> sorted = new ArrayList<>(tensors.values());
            sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
            long expectedBegin = 0;
            TensorInfo prev = null;
            for (TensorInfo t : sorted) {
                if (t.end() > dataLen) {
                    throw bad("tensor '" + t.name() + "': data_offsets [" + t.begin() + ", " + t.end()
                            + "] extend past the end of the data buffer (" + dataLen + " bytes); the file is truncated or corrupt");
                }
                if (t.begin() < expectedBegin) {
                    throw bad("tensor '" + t.name() + "': data_offsets [" + t.begin() + ", " + t.end()
                            + "] overlap tensor '" + prev.name() + "' [" + prev.begin() + ", " + prev.end() + "]");
                }
                if (t.begin() > expectedBegin) {
                    throw bad("tensor '" + t.name() + "': data_offsets [" + t.begin() + ", " + t.end() + "] leave a gap of "
                            + (t.begin() - expectedBegin) + " bytes after "
                            + (prev == null ? "the start of the data buffer" : "tensor '" + prev.name() + "'"));
                }
                expectedBegin = t.end();
                prev = t;
            }
            if (expectedBegin != dataLen) {
                throw bad((dataLen - expectedBegin) + " trailing bytes after the last tensor's data (data buffer is "
                        + dataLen + " bytes, tensors cover " + expectedBegin + ")");
            }
        }
    }
}
