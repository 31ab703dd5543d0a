package io.lowrank.worker.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NpyTokensTest {

    @TempDir
    Path dir;

    /** A .npy file as numpy writes it, with the payload given as raw little-endian bytes. */
    static byte[] npy(int major, String dict, byte[] payload) {
        int prefix = major == 1 ? 10 : 12;
        int pad = (64 - (prefix + dict.length() + 1) % 64) % 64;
        byte[] header = (dict + " ".repeat(pad) + "\n").getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(prefix + header.length + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(NpyTokens.MAGIC).put((byte) major).put((byte) 0);
        if (major == 1) {
            b.putShort((short) header.length);
        } else {
            b.putInt(header.length);
        }
        b.put(header).put(payload);
        return b.array();
    }

    static String dict(String descr, String shape) {
        return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    }

    static byte[] le(long[] values, int size) {
        ByteBuffer b = ByteBuffer.allocate(values.length * size).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            switch (size) {
                case 1: b.put((byte) v); break;
                case 2: b.putShort((short) v); break;
                case 4: b.putInt((int) v); break;
                default: b.putLong(v);
            }
        }
        return b.array();
    }

    @Test
    void int32WriterRoundTripsWithAlignedData() throws IOException {
        int[] tokens = TokenShardTest.randomTokens(9, 12345, 1 << 30);
        Path f = dir.resolve("t.npy");
        NpyTokens.writeInt32(f, tokens);
        NpyTokens.Header h = NpyTokens.readHeader(f);
        assertEquals("<i4", h.descr());
        assertEquals(12345, h.count());
        assertEquals(0, h.dataOffset() % 64, "numpy aligns the data to 64 bytes");
        assertArrayEquals(tokens, NpyTokens.read(f));
    }

    @Test
    void readsInt64Uint16Uint8AndVersion2() throws IOException {
        long[] values = {0, 1, 200, 255};
        Path f = dir.resolve("x.npy");
        for (String[] c : new String[][] {{"<i8", "8"}, {"<u2", "2"}, {"|u1", "1"}, {"<i4", "4"}}) {
            Files.write(f, npy(1, dict(c[0], "(4,)"), le(values, Integer.parseInt(c[1]))));
            assertArrayEquals(new int[] {0, 1, 200, 255}, NpyTokens.read(f), c[0]);
        }
        Files.write(f, npy(1, dict("<u2", "(2,)"), le(new long[] {65535, 40000}, 2)));
        assertArrayEquals(new int[] {65535, 40000}, NpyTokens.read(f));
        Files.write(f, npy(2, dict("<i4", "(3,)"), le(new long[] {7, 8, 9}, 4)));
        assertArrayEquals(new int[] {7, 8, 9}, NpyTokens.read(f));
        Files.write(f, npy(1, dict("<i4", "(0,)"), new byte[0]));
        assertEquals(0, NpyTokens.read(f).length);
    }

    @Test
    void wrongDtypeNamesFileAndDtype() throws IOException {
        Path f = dir.resolve("float.npy");
        for (String descr : new String[] {"<f4", ">i4", "<i2", "<U8"}) {
            Files.write(f, npy(1, dict(descr, "(1,)"), new byte[4]));
            TokenFormatException e = assertThrows(TokenFormatException.class, () -> NpyTokens.read(f));
            assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("'" + descr + "'"), e.getMessage());
        }
    }

    @Test
    void nonOneDimensionalShapeIsRejected() throws IOException {
        Path f = dir.resolve("2d.npy");
        Files.write(f, npy(1, dict("<i4", "(2, 3)"), new byte[24]));
        TokenFormatException e = assertThrows(TokenFormatException.class, () -> NpyTokens.read(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("(2, 3)")
                && e.getMessage().contains("not 1-D"), e.getMessage());
        Files.write(f, npy(1, dict("<i4", "()"), new byte[4]));
        assertThrows(TokenFormatException.class, () -> NpyTokens.read(f));
    }

    @Test
    void truncatedTrailingAndBadValues() throws IOException {
        Path f = dir.resolve("bad.npy");
        byte[] good = npy(1, dict("<i4", "(4,)"), le(new long[] {1, 2, 3, 4}, 4));
        Files.write(f, Arrays.copyOf(good, good.length - 2));
        TokenFormatException e = assertThrows(TokenFormatException.class, () -> NpyTokens.read(f));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains(f.toString()), e.getMessage());

        Files.write(f, Arrays.copyOf(good, 40));
        e = assertThrows(TokenFormatException.class, () -> NpyTokens.read(f));
        assertTrue(e.getMessage().contains("truncated header"), e.getMessage());

        Files.write(f, Arrays.copyOf(good, good.length + 4));
        e = assertThrows(TokenFormatException.class, () -> NpyTokens.read(f));
        assertTrue(e.getMessage().contains("trailing"), e.getMessage());

        Files.write(f, npy(1, dict("<i4", "(2,)"), le(new long[] {5, -3}, 4)));
        e = assertThrows(TokenFormatException.class, () -> NpyTokens.read(f));
        assertTrue(e.getMessage().contains("token id -3 at index 1"), e.getMessage());

        Files.write(f, npy(1, dict("<i8", "(1,)"), le(new long[] {1L << 40}, 8)));
        e = assertThrows(TokenFormatException.class, () -> NpyTokens.read(f));
        assertTrue(e.getMessage().contains(Long.toString(1L << 40)), e.getMessage());

        ByteArrayOutputStream junk = new ByteArrayOutputStream();
        junk.write(NpyTokens.MAGIC);
        junk.write(new byte[] {9, 0, 10, 0});
        Files.write(f, junk.toByteArray());
        e = assertThrows(TokenFormatException.class, () -> NpyTokens.read(f));
        assertTrue(e.getMessage().contains("version 9.0"), e.getMessage());
    }
}
