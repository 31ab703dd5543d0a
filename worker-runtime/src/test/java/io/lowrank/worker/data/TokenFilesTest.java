package io.lowrank.worker.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenFilesTest {

    @TempDir
    Path dir;

    @Test
    void dispatchesOnContentNotExtension() throws IOException {
        int[] tokens = {3, 1, 4, 1, 5, 9, 2, 6};
        Path shardNamedNpy = dir.resolve("really-a-shard.npy");
        Path npyNamedTok = dir.resolve("really-npy.tok");
        TokenShardWriter.write(shardNamedNpy, tokens, 32000);
        NpyTokens.writeInt32(npyNamedTok, tokens);
        assertEquals(TokenFiles.Kind.SHARD, TokenFiles.detect(shardNamedNpy));
        assertEquals(TokenFiles.Kind.NPY, TokenFiles.detect(npyNamedTok));
        assertArrayEquals(tokens, TokenFiles.read(shardNamedNpy));
        assertArrayEquals(tokens, TokenFiles.read(npyNamedTok));
        assertEquals(8, TokenFiles.count(shardNamedNpy));
        assertEquals(8, TokenFiles.count(npyNamedTok));
    }

    @Test
    void otherContentIsRejectedNamingFileAndExtension() throws IOException {
        Path txt = dir.resolve("corpus.txt");
        Files.writeString(txt, "hello world");
        TokenFormatException e = assertThrows(TokenFormatException.class, () -> TokenFiles.read(txt));
        assertTrue(e.getMessage().contains(txt.toString()) && e.getMessage().contains(".txt"), e.getMessage());

        Path empty = dir.resolve("empty.tok");
        Files.write(empty, new byte[0]);
        e = assertThrows(TokenFormatException.class, () -> TokenFiles.read(empty));
        assertTrue(e.getMessage().contains("empty file"), e.getMessage());

        assertThrows(NoSuchFileException.class, () -> TokenFiles.read(dir.resolve("missing.tok")));
    }

    @Test
    void vocabCheckNamesTheOffendingId() throws IOException {
        Path f = dir.resolve("ids.npy");
        NpyTokens.writeInt32(f, new int[] {1, 2, 50000});
        assertArrayEquals(new int[] {1, 2, 50000}, TokenFiles.read(f, 50257));
        TokenFormatException e = assertThrows(TokenFormatException.class, () -> TokenFiles.read(f, 32000));
        assertTrue(e.getMessage().contains("token id 50000 at index 2") && e.getMessage().contains(f.toString()), e.getMessage());
    }
}
