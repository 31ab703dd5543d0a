package io.lowrank.worker.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Test helper: hand-built safetensors files, independent of the writer under test. */
final class RawSafetensors {
    private RawSafetensors() {}

    /** The header JSON as UTF-8, padded with spaces to a multiple of 8. */
    static byte[] pad(String headerJson) {
        byte[] j = headerJson.getBytes(StandardCharsets.UTF_8);
        int n = (j.length + 7) & ~7;
        byte[] h = Arrays.copyOf(j, n);
        Arrays.fill(h, j.length, n, (byte) ' ');
        return h;
    }

    /** Writes u64le(len) + padded header + data to {@code file}. */
    static Path write(Path file, String headerJson, byte[] data) throws IOException {
        byte[] h = pad(headerJson);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Files.write(file, b.array());
        return file;
    }
}
