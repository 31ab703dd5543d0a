package io.lowrank.worker.data;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ByteTokenizerTest {
    final TextTokenizer tok = Tokenizers.byName("bytes");

    @Test
    void idsAreTheUtf8BytesAndEndOfTextIs256() {
        assertEquals(257, tok.vocabSize());
        for (String n : Tokenizers.NAMES) {
            // the table-free look-ups (checkpoints, bench) agree with the tokenizers themselves
            assertEquals(Tokenizers.byName(n).vocabSize(), Tokenizers.vocabSize(n), n);
            assertEquals(Tokenizers.byName(n).endOfTextId(), Tokenizers.endOfTextId(n), n);
        }
        assertEquals(256, tok.endOfTextId());
        assertArrayEquals(new int[]{72, 105, 32, 0xc3, 0xa9}, tok.encode("Hi é"));
        assertEquals("a<|endoftext|>b", tok.decode(new int[]{97, 256, 98}));
        // a literal end-of-text string in a document is text, not the boundary id
        for (int id : tok.encode("<|endoftext|>")) assertTrue(id < 256);
    }

    @Test
    void randomTextRoundTrips() {
        SplittableRandom r = new SplittableRandom(System.nanoTime());
        for (int t = 0; t < 200; t++) {
            StringBuilder sb = new StringBuilder();
            int len = r.nextInt(50);
            for (int i = 0; i < len; i++) {
                int cp;
                do cp = r.nextInt(4) == 0 ? r.nextInt(0x1F600) : r.nextInt(0x80); while (Character.isSurrogate((char) cp) && cp <= 0xFFFF);
                sb.appendCodePoint(cp);
            }
            String s = sb.toString();
            int[] ids = tok.encode(s);
            assertEquals(s.getBytes(StandardCharsets.UTF_8).length, ids.length);
            assertEquals(s, tok.decode(ids));
        }
    }

    @Test
    void idsOutsideTheVocabularyAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[]{1, 257}));
        assertTrue(e.getMessage().contains("257") && e.getMessage().contains("position 1"), e.getMessage());
    }
}
