package io.lowrank.worker.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class SafetensorsTest {
    @TempDir
    Path tmp;

    private static final long[][] SHAPES = {
            {}, {1}, {7}, {3, 5}, {2, 3, 5}, {0}, {4, 0, 3}, {1, 1, 1, 1, 13}, {17, 1}};

    @Test
    void roundTripsF32AndF64BitExactWithOddShapes() throws IOException {
        Random rnd = new Random(42);
        LinkedHashMap<String, HostTensor> in = new LinkedHashMap<>();
        for (int k = 0; k < SHAPES.length; k++) {
            long[] s = SHAPES[k];
            int n = (int) HostTensor.numelOf(s, "test");
            float[] f = new float[n];
            double[] d = new double[n];
            for (int j = 0; j < n; j++) {
                f[j] = Float.intBitsToFloat(rnd.nextInt());   // any bits: NaN payloads, subnormals, inf
                d[j] = Double.longBitsToDouble(rnd.nextLong());
            }
            in.put("model.layers." + k + ".f32", HostTensor.f32(s, f));
            in.put("model.layers." + k + ".f64", HostTensor.f64(s, d));
        }
        in.put("ints", HostTensor.i32(new long[] {2, 2}, new int[] {Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE}));
        in.put("longs", HostTensor.i64(new long[] {3}, new long[] {Long.MIN_VALUE, 5, Long.MAX_VALUE}));
        Path file = tmp.resolve("model.safetensors");
        Safetensors.write(file, in, null);

        LinkedHashMap<String, HostTensor> out = Safetensors.read(file);
        assertEquals(new ArrayList<>(in.keySet()), new ArrayList<>(out.keySet()), "file order = insertion order");
        for (String name : in.keySet()) {
            HostTensor a = in.get(name), b = out.get(name);
            assertEquals(a.dtype(), b.dtype(), name);
            assertArrayEquals(a.shape(), b.shape(), name);
            if (a.dtype().equals("F32")) {
                float[] x = a.toFloatArray(), y = b.toFloatArray();
                for (int j = 0; j < x.length; j++) {
                    assertEquals(Float.floatToRawIntBits(x[j]), Float.floatToRawIntBits(y[j]), name + "[" + j + "]");
                }
            } else if (a.dtype().equals("F64")) {
                double[] x = a.toDoubleArray(), y = b.toDoubleArray();
                for (int j = 0; j < x.length; j++) {
                    assertEquals(Double.doubleToRawLongBits(x[j]), Double.doubleToRawLongBits(y[j]), name + "[" + j + "]");
                }
            } else {
                assertEquals(a, b, name);
            }
        }
        assertEquals(1, out.get("model.layers.0.f32").numel(), "0-d tensor has one element");
        assertEquals(0, out.get("model.layers.5.f64").numel());
        assertTrue(Safetensors.readMetadata(file).isEmpty());
    }

    @Test
    void multiChunkTensorsRoundTrip() throws IOException {
        Random rnd = new Random(1);
        float[] big = new float[300_001];          // > 1 MiB chunk
        double[] bigD = new double[200_003];
        float[] half = new float[700_001];
        for (int j = 0; j < big.length; j++) big[j] = rnd.nextFloat() - 0.5f;
        for (int j = 0; j < bigD.length; j++) bigD[j] = rnd.nextGaussian();
        for (int j = 0; j < half.length; j++) half[j] = (float) rnd.nextGaussian();
        LinkedHashMap<String, HostTensor> in = new LinkedHashMap<>();
        in.put("a", HostTensor.f32(new long[] {big.length}, big));
        in.put("b", HostTensor.f64(new long[] {bigD.length}, bigD));
        in.put("c", HostTensor.bf16(new long[] {half.length}, half));
        in.put("d", HostTensor.f16(new long[] {1, half.length}, half));
        Path file = tmp.resolve("big.safetensors");
        Safetensors.write(file, in, Map.of("format", "pt"));
        assertEquals(in, Safetensors.read(file));
        try (Safetensors.Reader r = Safetensors.open(file)) {
            assertArrayEquals(big, r.readFloats("a"));
            assertArrayEquals(in.get("c").toFloatArray(), r.readFloats("c"));
            assertEquals(half.length * 2L, r.info("d").byteLength());
        }
    }

    @Test
    void metadataRoundTripsAndIsWrittenSorted() throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("zeta", "last");
        meta.put("format", "pt");
        meta.put("unicode", "naïve – ✓");
        meta.put("empty", "");
        LinkedHashMap<String, HostTensor> t = new LinkedHashMap<>();
        t.put("x", HostTensor.f32(new long[] {1}, new float[] {3f}));
        Path file = tmp.resolve("m.safetensors");
        Safetensors.write(file, t, meta);
        Map<String, String> back = Safetensors.readMetadata(file);
        assertEquals(meta, back);
        assertEquals(List.of("empty", "format", "unicode", "zeta"), new ArrayList<>(back.keySet()));
    }

    @Test
    void byteExactHuggingFaceLayout() throws IOException {
        LinkedHashMap<String, HostTensor> t = new LinkedHashMap<>();
        t.put("a", HostTensor.f32(new long[] {2}, new float[] {1.0f, -2.0f}));
        t.put("b", HostTensor.f64(new long[] {}, new double[] {0.5}));
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        Safetensors.write(bos, t, Map.of("format", "pt"));
        byte[] got = bos.toByteArray();

        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[8,16]}}";
        assertEquals(138, json.length());
        HexFormat hex = HexFormat.of();
        ByteArrayOutputStream want = new ByteArrayOutputStream();
        want.writeBytes(hex.parseHex("9000000000000000"));              // N = 144, u64 little endian
        want.writeBytes(json.getBytes(StandardCharsets.US_ASCII));
        want.writeBytes("      ".getBytes(StandardCharsets.US_ASCII));  // 6 spaces: 138 -> 144
        want.writeBytes(hex.parseHex("0000803f" + "000000c0"));         // 1.0f, -2.0f little endian
        want.writeBytes(hex.parseHex("000000000000e03f"));              // 0.5d little endian
        assertEquals(hex.formatHex(want.toByteArray()), hex.formatHex(got));

        // the same through the Path writer, and structural checks any HF reader relies on
        Path file = tmp.resolve("exact.safetensors");
        Safetensors.write(file, t, Map.of("format", "pt"));
        byte[] onDisk = Files.readAllBytes(file);
        assertArrayEquals(got, onDisk);
        long n = ByteBuffer.wrap(onDisk, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8, "header padded to 8 bytes");
        assertEquals(0, (8 + n) % 8, "data buffer 8-byte aligned");
        JsonNode header = new ObjectMapper().readTree(new String(onDisk, 8, (int) n, StandardCharsets.UTF_8).trim());
        long expectBegin = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) continue;
            assertEquals(expectBegin, e.getValue().get("data_offsets").get(0).asLong(), e.getKey());
            expectBegin = e.getValue().get("data_offsets").get(1).asLong();
        }
        assertEquals(onDisk.length - 8 - n, expectBegin, "offsets cover the data buffer exactly");
    }

    @Test
    void writeIsDeterministic() throws IOException {
        LinkedHashMap<String, HostTensor> t = new LinkedHashMap<>();
        t.put("w", HostTensor.f32(new long[] {2, 2}, new float[] {1, 2, 3, 4}));
        t.put("v", HostTensor.bf16(new long[] {3}, new float[] {1, 2, 3}));
        Map<String, String> meta = new java.util.HashMap<>();
        for (int k = 0; k < 50; k++) meta.put("k" + k, "v" + k);
        Path f1 = tmp.resolve("1.safetensors"), f2 = tmp.resolve("2.safetensors");
        Safetensors.write(f1, t, meta);
        Safetensors.write(f2, t, new java.util.TreeMap<>(meta));
        assertArrayEquals(Files.readAllBytes(f1), Files.readAllBytes(f2));
    }

    @Test
    void decodesBf16AndF16FromKnownBitPatterns() throws IOException {
        short[] bf = {(short) 0x3F80, (short) 0xC000, (short) 0x4049, (short) 0x7F80, (short) 0x8000, (short) 0x0001};
        short[] hf = {(short) 0x3C00, (short) 0x7BFF, (short) 0xC000, (short) 0x0001, (short) 0x0400, (short) 0xFC00,
                (short) 0x3555};
        ByteBuffer data = ByteBuffer.allocate((bf.length + hf.length) * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short s : bf) data.putShort(s);
        for (short s : hf) data.putShort(s);
        Path file = RawSafetensors.write(tmp.resolve("half.safetensors"),
                "{\"bf\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
                        + "\"hf\":{\"dtype\":\"F16\",\"shape\":[7],\"data_offsets\":[12,26]}}", data.array());
        LinkedHashMap<String, HostTensor> t = Safetensors.read(file);
        assertEquals("BF16", t.get("bf").dtype());
        assertArrayEquals(new long[] {2, 3}, t.get("bf").shape());
        assertArrayEquals(new float[] {1.0f, -2.0f, 3.140625f, Float.POSITIVE_INFINITY, -0.0f, 0x1p-133f},
                t.get("bf").toFloatArray());
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(t.get("bf").toFloatArray()[4]));
        assertArrayEquals(new float[] {1.0f, 65504f, -2.0f, 0x1p-24f, 0x1p-14f, Float.NEGATIVE_INFINITY, 0.333251953125f},
                t.get("hf").toFloatArray());
        assertArrayEquals(new double[] {1.0, 65504, -2.0, 0x1p-24, 0x1p-14, Double.NEGATIVE_INFINITY, 0.333251953125},
                t.get("hf").toDoubleArray());

        // written back as BF16/F16 the bytes are identical
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        Safetensors.write(bos, t, null);
        assertArrayEquals(Files.readAllBytes(file), bos.toByteArray());
    }

    @Test
    void readsTensorsBeyondTwoGigabytes() throws IOException {
        // Sparse file: a 2 GiB tensor we never read, then a small one starting at byte 2^31 of the buffer.
        long padBytes = 1L << 31;
        String header = "{\"pad\":{\"dtype\":\"F32\",\"shape\":[" + (padBytes / 4) + "],\"data_offsets\":[0," + padBytes + "]},"
                + "\"x\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[" + padBytes + "," + (padBytes + 16) + "]}}";
        byte[] h = RawSafetensors.pad(header);
        Path file = tmp.resolve("huge.safetensors");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer pre = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN);
            pre.putLong(h.length).put(h).flip();
            ch.write(pre, 0);
            ByteBuffer x = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(Math.PI).putDouble(-Math.E);
            ch.write(x.flip(), 8 + h.length + padBytes);
        }
        assertTrue(Files.size(file) > padBytes);
        try (Safetensors.Reader r = Safetensors.open(file)) {
            assertEquals(List.of("pad", "x"), r.names());
            assertEquals(padBytes, r.info("pad").byteLength());
            HostTensor x = r.read("x");
            assertArrayEquals(new double[] {Math.PI, -Math.E}, x.toDoubleArray());
            assertArrayEquals(new float[] {(float) Math.PI, (float) -Math.E}, r.readFloats("x"));
        }
    }

    @Test
    void rejectsReservedNameAndNullsWithoutTouchingTheFile() throws IOException {
        Path file = tmp.resolve("keep.safetensors");
        LinkedHashMap<String, HostTensor> ok = new LinkedHashMap<>();
        ok.put("x", HostTensor.f32(new long[] {1}, new float[] {1}));
        Safetensors.write(file, ok, null);
        byte[] before = Files.readAllBytes(file);
        LinkedHashMap<String, HostTensor> bad = new LinkedHashMap<>();
        bad.put("__metadata__", HostTensor.f32(new long[] {1}, new float[] {1}));
        assertThrows(IllegalArgumentException.class, () -> Safetensors.write(file, bad, null));
        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(1, Files.list(tmp).count(), "no temp file left behind");
    }

    @Test
    void hostTensorChecksShape() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HostTensor.f32(new long[] {2, 3}, new float[5]));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("5"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> HostTensor.f32(new long[] {-1}, new float[0]));
        HostTensor s = HostTensor.f64(new long[] {}, new double[] {2.5});
        assertEquals(0, s.rank());
        assertArrayEquals(new float[] {2.5f}, s.toFloatArray());
        HostTensor v = HostTensor.f32(new long[] {2}, new float[] {1, 2});
        v.shape()[0] = 9;
        assertEquals(2, v.shape()[0], "shape() is a copy");
    }
}
