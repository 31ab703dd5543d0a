package io.lowrank.worker.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenShardTest {

    @TempDir
    Path dir;

    static int[] randomTokens(long seed, int n, int vocab) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(vocab);
        }
        if (n >= 2) {
            t[0] = 0;
            t[n - 1] = vocab - 1; // boundaries: uint16 values above 32767 must not come back negative
        }
        return t;
    }

    @Test
    void uint16RoundTripAndHeaderLayout() throws IOException {
        int[] tokens = randomTokens(1, 200_003, 65536);
        Path f = dir.resolve("a.tok");
        TokenShard.Header h = TokenShardWriter.write(f, tokens, 65536);
        assertEquals(TokenShard.DTYPE_UINT16, h.dtype());
        assertEquals(64 + 2L * tokens.length, Files.size(f));
        assertArrayEquals(tokens, TokenShardReader.read(f));
        assertEquals(h, TokenShardReader.readHeader(f));

        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[8];
        b.get(magic);
        assertArrayEquals("LRTOK\0\0\0".getBytes(), magic);
        assertEquals(1, b.getInt(8));
        assertEquals(1, b.getInt(12));
        assertEquals(65536, b.getInt(16));
        assertEquals(tokens.length, b.getLong(20));
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(Arrays.copyOfRange(b.array(), 64, b.capacity()));
        assertEquals(crc.getValue(), b.getLong(28));
        assertEquals(tokens[1], b.getShort(64 + 2) & 0xffff); // little-endian payload
    }

    @Test
    void int32RoundTripForLargeVocab() throws IOException {
        int[] tokens = randomTokens(2, 10_000, 100277);
        Path f = dir.resolve("b.tok");
        TokenShard.Header h = TokenShardWriter.write(f, tokens, 100277);
        assertEquals(TokenShard.DTYPE_INT32, h.dtype());
        assertEquals(64 + 4L * tokens.length, Files.size(f));
        assertArrayEquals(tokens, TokenShardReader.read(f));
    }

    @Test
    void emptyAndSubrangeShards() throws IOException {
        Path empty = dir.resolve("empty.tok");
        TokenShardWriter.write(empty, new int[0], 32000);
        assertEquals(0, TokenShardReader.read(empty).length);

        int[] tokens = {5, 6, 7, 8, 9};
        Path sub = dir.resolve("sub.tok");
        TokenShardWriter.write(sub, tokens, 1, 3, 32000);
        assertArrayEquals(new int[] {6, 7, 8}, TokenShardReader.read(sub));
    }

    @Test
    void streamVariantRoundTripsAndDetectsTrailingBytes() throws IOException {
        int[] tokens = randomTokens(3, 5000, 32000);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TokenShardWriter.write(out, tokens, 0, tokens.length, 32000, "mem://x");
        byte[] bytes = out.toByteArray();
        assertArrayEquals(tokens, TokenShardReader.read(new ByteArrayInputStream(bytes), "mem://x"));

        byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
        TokenFormatException e = assertThrows(TokenFormatException.class,
                () -> TokenShardReader.read(new ByteArrayInputStream(longer), "mem://x"));
        assertTrue(e.getMessage().contains("mem://x") && e.getMessage().contains("trailing"), e.getMessage());

        byte[] shorter = Arrays.copyOf(bytes, bytes.length - 3);
        e = assertThrows(TokenFormatException.class,
                () -> TokenShardReader.read(new ByteArrayInputStream(shorter), "mem://x"));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void flippedPayloadByteIsAChecksumErrorNamingFileExpectedAndActual() throws IOException {
        int[] tokens = randomTokens(4, 1000, 32000);
        Path f = dir.resolve("flip.tok");
        TokenShard.Header h = TokenShardWriter.write(f, tokens, 32000);
        byte[] bytes = Files.readAllBytes(f);
        bytes[64 + 777] ^= 0x01; // low bit keeps the id below the vocab, so only the CRC can notice
        Files.write(f, bytes);
        TokenFormatException e = assertThrows(TokenFormatException.class, () -> TokenShardReader.read(f));
        String m = e.getMessage();
        assertTrue(m.contains(f.toString()), m);
        assertTrue(m.contains("checksum mismatch"), m);
        assertTrue(m.contains("expected 0x" + Long.toHexString(h.checksum())), m);
        assertTrue(m.contains("actual 0x"), m);
        // TokenFiles goes through the same verification.
        assertThrows(TokenFormatException.class, () -> TokenFiles.read(f));
    }

    @Test
    void truncatedFilesAreReportedWithSizes() throws IOException {
        int[] tokens = randomTokens(5, 100, 32000);
        Path f = dir.resolve("trunc.tok");
        TokenShardWriter.write(f, tokens, 32000);
        byte[] bytes = Files.readAllBytes(f);

        Files.write(f, Arrays.copyOf(bytes, bytes.length - 1));
        TokenFormatException e = assertThrows(TokenFormatException.class, () -> TokenShardReader.read(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("truncated")
                && e.getMessage().contains("264 bytes with header") && e.getMessage().contains("263 bytes"), e.getMessage());

        Files.write(f, Arrays.copyOf(bytes, 30));
        e = assertThrows(TokenFormatException.class, () -> TokenShardReader.read(f));
        assertTrue(e.getMessage().contains("truncated header, 30 of 64"), e.getMessage());

        Files.write(f, Arrays.copyOf(bytes, bytes.length + 2));
        e = assertThrows(TokenFormatException.class, () -> TokenShardReader.read(f));
        assertTrue(e.getMessage().contains("2 trailing bytes"), e.getMessage());
    }

    @Test
    void unknownVersionDtypeAndMagicAreRejected() throws IOException {
        Path f = dir.resolve("v.tok");
        TokenShardWriter.write(f, new int[] {1, 2, 3}, 32000);
        byte[] good = Files.readAllBytes(f);

        byte[] v = good.clone();
        ByteBuffer.wrap(v).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 7);
        Files.write(f, v);
        TokenFormatException e = assertThrows(TokenFormatException.class, () -> TokenShardReader.read(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("version 7"), e.getMessage());

        byte[] d = good.clone();
        ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN).putInt(12, 9);
        Files.write(f, d);
        e = assertThrows(TokenFormatException.class, () -> TokenShardReader.read(f));
        assertTrue(e.getMessage().contains("dtype code 9"), e.getMessage());

        byte[] m = good.clone();
        m[0] = 'X';
        Files.write(f, m);
        e = assertThrows(TokenFormatException.class, () -> TokenShardReader.read(f));
        assertTrue(e.getMessage().contains("bad magic"), e.getMessage());
    }

    @Test
    void idAboveTheHeaderVocabIsRejectedOnRead() throws IOException {
        Path f = dir.resolve("vocab.tok");
        TokenShardWriter.write(f, new int[] {1, 2, 900, 3}, 1000);
        byte[] bytes = Files.readAllBytes(f);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(16, 500); // vocab is outside the CRC
        Files.write(f, bytes);
        TokenFormatException e = assertThrows(TokenFormatException.class, () -> TokenShardReader.read(f));
        assertTrue(e.getMessage().contains("token id 900 at index 2") && e.getMessage().contains("[0, 500)"), e.getMessage());
    }

    @Test
    void failedWriteLeavesNoFileAndKeepsThePreviousShard() throws IOException {
        Path f = dir.resolve("atomic.tok");
        TokenShardWriter.write(f, new int[] {1, 2, 3}, 100);
        TokenFormatException e = assertThrows(TokenFormatException.class,
                () -> TokenShardWriter.write(f, new int[] {4, 5, 100, 6}, 100));
        assertTrue(e.getMessage().contains("token id 100 at index 2"), e.getMessage());
        assertArrayEquals(new int[] {1, 2, 3}, TokenShardReader.read(f));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temp file left behind");
        }
        Path g = dir.resolve("never.tok");
        assertThrows(TokenFormatException.class, () -> TokenShardWriter.write(g, new int[] {-1}, 100));
        assertFalse(Files.exists(g));
    }
}
