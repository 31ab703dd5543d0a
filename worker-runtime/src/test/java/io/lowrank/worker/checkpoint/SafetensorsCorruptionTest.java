package io.lowrank.worker.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;

import static org.junit.jupiter.api.Assertions.*;

class SafetensorsCorruptionTest {
    @TempDir
    Path tmp;

    private Path good(String name) throws IOException {
        LinkedHashMap<String, HostTensor> t = new LinkedHashMap<>();
        t.put("model.embed_tokens.weight", HostTensor.f32(new long[] {4, 3}, new float[12]));
        t.put("model.norm.weight", HostTensor.f32(new long[] {3}, new float[] {1, 1, 1}));
        Path file = tmp.resolve(name);
        Safetensors.write(file, t, null);
        return file;
    }

    private Path raw(String name, String header, int dataBytes) throws IOException {
        return RawSafetensors.write(tmp.resolve(name), header, new byte[dataBytes]);
    }

    /** Asserts that opening fails with a message naming the file and containing every fragment. */
    private void assertBad(Path file, String... fragments) {
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Safetensors.read(file));
        String m = e.getMessage();
        assertTrue(m.contains(file.toString()), "message names the file: " + m);
        assertEquals(file, e.file());
        for (String f : fragments) assertTrue(m.contains(f), "message contains '" + f + "': " + m);
    }

    @Test
    void truncatedFileNamesFileAndTensor() throws IOException {
        Path file = good("trunc.safetensors");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 4);
        }
        assertBad(file, "model.norm.weight", "truncated");
    }

    @Test
    void headerLengthLargerThanFile() throws IOException {
        Path file = good("hlen.safetensors");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1_000_000L), 0);
        }
        assertBad(file, "header length 1000000");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L), 0); // u64 max
        }
        assertBad(file, "header length 18446744073709551615");
    }

    @Test
    void tooShortAndNotSafetensors() throws IOException {
        Path small = tmp.resolve("small.safetensors");
        Files.write(small, new byte[] {1, 2, 3});
        assertBad(small, "3 bytes");
        Path text = tmp.resolve("text.safetensors");
        Files.writeString(text, "\u0010\0\0\0\0\0\0\0[1,2,3]         ");
        assertBad(text, "does not start with '{'");
    }

    @Test
    void badJson() throws IOException {
        assertBad(raw("json.safetensors", "{\"a\": {\"dtype\": \"F32\",", 0), "not valid JSON");
        assertBad(raw("dup.safetensors",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "Duplicate field 'a'");
    }

    @Test
    void overlappingOffsets() throws IOException {
        assertBad(raw("overlap.safetensors",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12),
                "tensor 'b'", "overlap tensor 'a'");
    }

    @Test
    void gapsAndTrailingBytes() throws IOException {
        assertBad(raw("gap.safetensors",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12),
                "tensor 'b'", "gap of 4 bytes");
        assertBad(raw("trail.safetensors",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12), "8 trailing bytes");
    }

    @Test
    void offsetsOutOfRange() throws IOException {
        assertBad(raw("range.safetensors",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8),
                "tensor 'a'", "past the end");
        assertBad(raw("neg.safetensors",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 0),
                "tensor 'a'", "non-negative");
        assertBad(raw("rev.safetensors",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4),
                "tensor 'a'", "end before they begin");
    }

    @Test
    void unknownDtype() throws IOException {
        assertBad(raw("dtype.safetensors",
                "{\"w\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor 'w'", "unknown dtype 'F33'");
    }

    @Test
    void shapeDoesNotMatchByteRange() throws IOException {
        assertBad(raw("shape.safetensors",
                "{\"w\":{\"dtype\":\"BF16\",\"shape\":[3,2],\"data_offsets\":[0,8]}}", 8),
                "tensor 'w'", "[3, 2]", "12 bytes", "span 8");
        assertBad(raw("shape2.safetensors",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4), "tensor 'w'", "\"shape\"");
        assertBad(raw("shape3.safetensors",
                "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "tensor 'w'", "\"shape\" is missing");
    }

    @Test
    void badMetadata() throws IOException {
        assertBad(raw("meta.safetensors", "{\"__metadata__\":{\"step\":5}}", 0), "'step'", "not a string");
    }

    @Test
    void unsupportedDtypeFailsOnlyWhenRead() throws IOException {
        Path file = raw("u8.safetensors",
                "{\"mask\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                        + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
        try (Safetensors.Reader r = Safetensors.open(file)) {
            assertArrayEquals(new float[] {0f}, r.readFloats("w"));
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> r.read("mask"));
            assertTrue(e.getMessage().contains("'mask'") && e.getMessage().contains("U8"), e.getMessage());
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> r.read("nope"));
            assertTrue(missing.getMessage().contains(file.toString()) && missing.getMessage().contains("'nope'"));
        }
    }

    @Test
    void fileTruncatedAfterOpenIsReported() throws IOException {
        Path file = good("late.safetensors");
        try (Safetensors.Reader r = Safetensors.open(file)) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() - 8);
            }
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                    () -> r.read("model.norm.weight"));
            assertTrue(e.getMessage().contains("model.norm.weight") && e.getMessage().contains("end of file"),
                    e.getMessage());
        }
    }
}
