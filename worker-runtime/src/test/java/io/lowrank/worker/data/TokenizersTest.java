package io.lowrank.worker.data;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizersTest {

    /** Public-domain English (Austen, KJV, Jargon File) plus rarer words r50k has high ranks for. */
    static final String REAL_TEXT = String.join("\n\n",
            "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
                    + "must be in want of a wife. However little known the feelings or views of such a man may be on "
                    + "his first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding "
                    + "families, that he is considered the rightful property of some one or other of their daughters.",
            "\"My dear Mr. Bennet,\" said his lady to him one day, \"have you heard that Netherfield Park is let at last?\"",
            "In the beginning God created the heaven and the earth. And the earth was without form, and void; "
                    + "and darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters.",
            "bulletproof: adj. Used of an algorithm or implementation considered extremely robust; lossage-resistant; "
                    + "capable of correctly recovering from any imaginable exception condition -- a rare and valued quality.",
            "Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition, seemed to "
                    + "unite some of the best blessings of existence; and had lived nearly twenty-one years in the world "
                    + "with very little to distress or vex her. Superintendence, circumspection, unostentatious, "
                    + "incontrovertibly, magnanimity, perspicacity, SolidGoldMagikarp, cryptocurrency, Kubernetes, "
                    + "hyperparameter, 1234567890, 3.14159, $1,000,000 and http://example.com/path?q=1.");

    static TextTokenizer gpt2;
    static TextTokenizer gpt2k;
    static TextTokenizer cl100k;

    @BeforeAll
    static void load() {
        gpt2 = Tokenizers.byName("gpt2");
        gpt2k = Tokenizers.byName("gpt2-32k");
        cl100k = Tokenizers.byName("cl100k");
    }

    @Test
    void unknownNameNamesValueAndAllowedNames() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizers.byName("gpt3"));
        assertTrue(e.getMessage().contains("'gpt3'"), e.getMessage());
        for (String n : Tokenizers.NAMES) {
            assertTrue(e.getMessage().contains(n), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Tokenizers.byName(null));
    }

    @Test
    void sizesAndKnownIds() {
        assertEquals(50257, gpt2.vocabSize());
        assertEquals(50256, gpt2.endOfTextId());
        assertEquals(32000, gpt2k.vocabSize());
        assertEquals(31999, gpt2k.endOfTextId());
        assertEquals(100277, cl100k.vocabSize());
        assertEquals(100257, cl100k.endOfTextId());
        // Reference ids from tiktoken.
        assertArrayEquals(new int[] {15496, 995}, gpt2.encode("Hello world"));
        assertArrayEquals(new int[] {15496, 995}, gpt2k.encode("Hello world"));
        assertArrayEquals(new int[] {9906, 1917}, cl100k.encode("Hello world"));
        assertEquals("<|endoftext|>", gpt2k.decode(new int[] {31999}));
        assertEquals("<|endoftext|>", gpt2.decode(new int[] {50256}));
        assertEquals("<|endoftext|>", cl100k.decode(new int[] {100257}));
    }

    @Test
    void mergeableCountsMatchTheJtokkitTables() {
        // decode() relies on these counts to reject unassigned ids.
        assertEquals(50256, Tokenizers.loadRanks(Tokenizers.R50K_RESOURCE, Integer.MAX_VALUE).size());
        assertEquals(100256, Tokenizers.loadRanks("/com/knuddels/jtokkit/cl100k_base.tiktoken", Integer.MAX_VALUE).size());
    }

    @Test
    void gpt2_32kStaysBelow32000OnRealTextAndRoundTrips() {
        int[] full = gpt2.encode(REAL_TEXT);
        assertTrue(Arrays.stream(full).anyMatch(id -> id >= Tokenizers.GPT2_32K_EOT),
                "test text must contain r50k tokens >= 31999 to exercise the restriction");
        int[] ids = gpt2k.encode(REAL_TEXT);
        for (int id : ids) {
            assertTrue(id >= 0 && id < Tokenizers.GPT2_32K_EOT, "id " + id);
        }
        assertTrue(ids.length > full.length, "re-expressed tokens take more ids");
        assertEquals(REAL_TEXT, gpt2k.decode(ids));
    }

    @Test
    void gpt2_32kEqualsR50kWithHighTokensReEncodedFromTheirBytes() {
        // The brief's definition, computed independently: r50k ids, then every id >= 31999 replaced by a
        // plain byte-level BPE merge loop over the r50k rank table restricted to ranks < 31999.
        Map<byte[], Integer> all = Tokenizers.loadRanks(Tokenizers.R50K_RESOURCE, Integer.MAX_VALUE);
        Map<String, Integer> restricted = new HashMap<>();
        byte[][] bytesOf = new byte[50256][];
        all.forEach((b, r) -> {
            bytesOf[r] = b;
            if (r < Tokenizers.GPT2_32K_EOT) {
                restricted.put(new String(b, StandardCharsets.ISO_8859_1), r);
            }
        });
        String text = REAL_TEXT + "\n" + randomText(new Random(7), 3000);
        List<Integer> expected = new ArrayList<>();
        int high = 0;
        for (int id : gpt2.encode(text)) {
            if (id < Tokenizers.GPT2_32K_EOT) {
                expected.add(id);
            } else {
                high++;
                expected.addAll(referenceBpe(bytesOf[id], restricted));
            }
        }
        assertTrue(high > 10, "only " + high + " high tokens");
        int[] expectedIds = expected.stream().mapToInt(Integer::intValue).toArray();
        assertArrayEquals(expectedIds, gpt2k.encode(text));
    }

    /** tiktoken's byte_pair_merge, the simple quadratic way: merge the lowest-ranked adjacent pair until none. */
    static List<Integer> referenceBpe(byte[] bytes, Map<String, Integer> ranks) {
        List<String> parts = new ArrayList<>();
        for (byte b : bytes) {
            parts.add(new String(new byte[] {b}, StandardCharsets.ISO_8859_1));
        }
        while (true) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < parts.size(); i++) {
                Integer r = ranks.get(parts.get(i) + parts.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            parts.set(best, parts.get(best) + parts.remove(best + 1));
        }
        List<Integer> ids = new ArrayList<>();
        for (String p : parts) {
            ids.add(ranks.get(p));
        }
        return ids;
    }

    @Test
    void randomUnicodeRoundTripsForAllTokenizers() {
        Random rnd = new Random(42);
        for (int i = 0; i < 150; i++) {
            String s = randomText(rnd, 1 + rnd.nextInt(80));
            for (TextTokenizer t : List.of(gpt2, gpt2k, cl100k)) {
                int[] ids = t.encode(s);
                for (int id : ids) {
                    assertTrue(id >= 0 && id < t.vocabSize() && id != t.endOfTextId(), t.name() + " id " + id);
                }
                assertEquals(s, t.decode(ids), t.name() + " round trip of " + escape(s));
            }
        }
    }

    @Test
    void endOfTextTextInsideADocumentIsOrdinaryText() {
        String s = "before<|endoftext|>after";
        for (TextTokenizer t : List.of(gpt2, gpt2k, cl100k)) {
            int[] ids = t.encode(s);
            assertFalse(Arrays.stream(ids).anyMatch(id -> id == t.endOfTextId()), t.name());
            assertEquals(s, t.decode(ids));
        }
    }

    @Test
    void decodeRejectsIdsOutsideTheVocabulary() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> gpt2k.decode(new int[] {100, 32000}));
        assertTrue(e.getMessage().contains("32000") && e.getMessage().contains("position 1")
                && e.getMessage().contains("gpt2-32k"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> gpt2k.decode(new int[] {-1}));
        assertThrows(IllegalArgumentException.class, () -> gpt2.decode(new int[] {50257}));
        // cl100k has holes between its special ids.
        assertThrows(IllegalArgumentException.class, () -> cl100k.decode(new int[] {100256}));
        assertThrows(IllegalArgumentException.class, () -> cl100k.decode(new int[] {100270}));
        assertEquals("<|endofprompt|>", cl100k.decode(new int[] {100276}));
    }

    /** Random valid Unicode: ASCII, whitespace runs, Latin-1, Cyrillic, Greek, Arabic, CJK, Hangul, emoji, combining marks. */
    static String randomText(Random rnd, int codePoints) {
        int[][] ranges = {
                {0x20, 0x7e}, {0x20, 0x7e}, {0x20, 0x7e}, {0xa0, 0xff}, {0x400, 0x44f}, {0x391, 0x3c9},
                {0x627, 0x64a}, {0x4e00, 0x9fff}, {0xac00, 0xd7a3}, {0x1f300, 0x1f64f}, {0x1f900, 0x1f9ff},
                {0x300, 0x36f}, {0x2000, 0x206f}, {0x10000, 0x1007f}};
        String ws = " \t\n\r\u3000\u00a0";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < codePoints; i++) {
            if (rnd.nextInt(8) == 0) {
                sb.append(ws.charAt(rnd.nextInt(ws.length())));
                continue;
            }
            int[] r = ranges[rnd.nextInt(ranges.length)];
            int cp = r[0] + rnd.nextInt(r[1] - r[0] + 1);
            if (cp >= 0xd800 && cp <= 0xdfff) {
                cp = 'x';
            }
            sb.appendCodePoint(cp);
        }
        return sb.toString();
    }

    private static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        s.codePoints().forEach(cp -> sb.append(cp < 128 && cp >= 32 ? String.valueOf((char) cp) : String.format("\\u{%x}", cp)));
        return sb.toString();
    }
}
