package io.lowrank.spark.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * The raw bytes of every tensor in a safetensors file, by name, as stored: the comparison of two
 * checkpoints is byte for byte, with no float decoding in between (a NaN payload or a -0.0 counts as
 * a difference). The header's {@code __metadata__} is not a tensor and is left out.
 */
final class SafetensorsBytes {
    private static final ObjectMapper JSON = new ObjectMapper();

    record Tensor(String dtype, String shape, byte[] bytes) {
    }

    private SafetensorsBytes() {}

    static Map<String, Tensor> read(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        if (all.length < 8) throw new IOException(file + " is not a safetensors file: " + all.length + " bytes");
        long headerLength = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLength < 2 || 8 + headerLength > all.length) {
            throw new IOException(file + ": header length " + headerLength + " does not fit in " + all.length + " bytes");
        }
        JsonNode header = JSON.readTree(new String(all, 8, (int) headerLength, java.nio.charset.StandardCharsets.UTF_8));
        long dataStart = 8 + headerLength;
        Map<String, Tensor> out = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) continue;
            JsonNode offsets = e.getValue().get("data_offsets");
            long begin = dataStart + offsets.get(0).asLong(), end = dataStart + offsets.get(1).asLong();
            if (begin > end || end > all.length) throw new IOException(file + ": tensor " + e.getKey() + " lies outside the file");
            byte[] bytes = java.util.Arrays.copyOfRange(all, (int) begin, (int) end);
            out.put(e.getKey(), new Tensor(e.getValue().get("dtype").asText(), e.getValue().get("shape").toString(), bytes));
        }
        return out;
    }

    /**
     * Null when both files hold the same tensors with the same dtypes, shapes and bytes; otherwise
     * the first difference, naming the tensor (and the byte) that differs.
     */
    static String firstDifference(Path expected, Path actual) throws IOException {
        Map<String, Tensor> a = read(expected), b = read(actual);
        if (!a.keySet().equals(b.keySet())) {
            java.util.Set<String> missing = new java.util.TreeSet<>(a.keySet());
            missing.removeAll(b.keySet());
            java.util.Set<String> extra = new java.util.TreeSet<>(b.keySet());
            extra.removeAll(a.keySet());
            return actual.getFileName() + ": tensors differ: missing " + missing + ", extra " + extra;
        }
        for (Map.Entry<String, Tensor> e : a.entrySet()) {
            Tensor x = e.getValue(), y = b.get(e.getKey());
            if (!x.dtype().equals(y.dtype()) || !x.shape().equals(y.shape())) {
                return e.getKey() + ": " + y.dtype() + y.shape() + ", expected " + x.dtype() + x.shape();
            }
            int i = java.util.Arrays.mismatch(x.bytes(), y.bytes());
            if (i >= 0) {
                long differing = 0;
                for (int k = 0; k < Math.min(x.bytes().length, y.bytes().length); k++) if (x.bytes()[k] != y.bytes()[k]) differing++;
                return String.format("%s (%s): byte %d of %d differs (0x%02x, expected 0x%02x; %d bytes differ)", e.getKey(),
                        actual.getFileName(), i, x.bytes().length, i < y.bytes().length ? y.bytes()[i] : 0, i < x.bytes().length ? x.bytes()[i] : 0,
                        differing);
            }
        }
        return null;
    }
}
