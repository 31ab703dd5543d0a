package io.lowrank.worker.data;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.GptBytePairEncodingParams;
import com.knuddels.jtokkit.api.IntArrayList;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Named tokenizers, all byte-level BPE from jtokkit's tables:
 *
 * <ul>
 *   <li>{@code gpt2}: r50k_base as is. vocab 50257, end-of-text 50256.</li>
 *   <li>{@code gpt2-32k}: r50k_base restricted to the merge ranks {@code < 31999}; the
 *       end-of-text token takes id 31999, so the vocabulary is exactly 32000, the size the
 *       papers use (their T5 SentencePiece vocabulary), which keeps embedding/head parameter
 *       counts comparable to the published tables.</li>
 *   <li>{@code cl100k}: cl100k_base. Mergeable ranks 0..100255, end-of-text 100257; vocab size
 *       100277 = largest special id (100276, {@code <|endofprompt|>}) + 1, the same number
 *       tiktoken reports as {@code n_vocab}. Ids 100256 and 100261..100275 are unassigned and
 *       rejected by {@code decode}.</li>
 *   <li>{@code bytes}: UTF-8 bytes as ids 0..255, end-of-text 256 ({@link ByteTokenizer}); the
 *       vocabulary of the CPU-scale study presets, whose blocks then hold most parameters.</li>
 * </ul>
 *
 * <p>Each call builds a fresh tokenizer (about half a second for the table load); callers keep
 * the instance they need instead of this class caching one globally.
 */
public final class Tokenizers {

    /** Names accepted by {@link #byName}. */
    public static final List<String> NAMES = List.of("gpt2", "gpt2-32k", "cl100k", ByteTokenizer.NAME);

    /** Rank limit of {@code gpt2-32k}: ranks {@code >= } this are dropped; eot takes this id. */
    public static final int GPT2_32K_EOT = 31999;

    static final String END_OF_TEXT = "<|endoftext|>";

    /** r50k_base split pattern, as jtokkit (and tiktoken) define it. */
    static final String R50K_PATTERN =
            "'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    static final String R50K_RESOURCE = "/com/knuddels/jtokkit/r50k_base.tiktoken";

    private Tokenizers() {
    }

    /** The vocabulary size of tokenizer {@code name}, without loading its tables. */
    public static int vocabSize(String name) {
        if (name == null) throw new IllegalArgumentException("tokenizer name is null; allowed: " + NAMES);
        return switch (name) {
            case "gpt2" -> 50257;
            case "gpt2-32k" -> GPT2_32K_EOT + 1;
            case "cl100k" -> 100277;
            case ByteTokenizer.NAME -> ByteTokenizer.END_OF_TEXT + 1;
            default -> throw new IllegalArgumentException("unknown tokenizer '" + name + "'; allowed: " + NAMES);
        };
    }

    /**
     * The end-of-text id of the tokenizer called {@code name}, without loading its tables (a
     * checkpoint records it next to the name).
     *
     * @throws IllegalArgumentException naming the value and the allowed names when unknown
     */
    public static int endOfTextId(String name) {
        if (name != null) {
            switch (name) {
                case "gpt2": return 50256;
                case "gpt2-32k": return GPT2_32K_EOT;
                case "cl100k": return 100257;
                case ByteTokenizer.NAME: return ByteTokenizer.END_OF_TEXT;
                default: break;
            }
        }
        throw new IllegalArgumentException("unknown tokenizer '" + name + "'; allowed: " + NAMES);
    }

    /**
     * The tokenizer called {@code name}.
     *
     * @throws IllegalArgumentException naming the value and the allowed names when unknown
     */
    public static TextTokenizer byName(String name) {
        if (name == null) {
            throw new IllegalArgumentException("tokenizer name is null; allowed: " + NAMES);
        }
        switch (name) {
            case "gpt2": {
                Encoding enc = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
                return new JtokkitTokenizer("gpt2", enc, 50257, 50256, 50256, Set.of(50256));
            }
            case "gpt2-32k":
                return gpt2Restricted();
            case ByteTokenizer.NAME:
                return new ByteTokenizer();
            case "cl100k": {
                Encoding enc = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
                return new JtokkitTokenizer("cl100k", enc, 100277, 100257, 100256,
                        Set.of(100257, 100258, 100259, 100260, 100276));
            }
            default:
                throw new IllegalArgumentException(
                        "unknown tokenizer '" + name + "'; allowed: " + NAMES);
        }
    }

    /**
     * gpt2-32k through jtokkit's public API: a byte-level BPE registered with the r50k pattern and
     * the r50k rank table cut at 31999. Why this equals "encode with r50k, then re-encode every
     * token >= 31999 from its bytes with ranks < 31999": BPE applies merges lowest rank first and
     * a merged token always ranks above its parts, so the restricted run performs exactly the
     * r50k merges up to the first one that produces a rank >= 31999 and stops there. Running the
     * restricted merge on the whole piece gives that state directly; re-encoding each high token
     * separately reaches the same tokens (no restricted merge crosses a high token's boundary).
     * Encoding the whole text avoids feeding partial UTF-8 byte sequences through jtokkit, whose
     * encoder only accepts Strings. {@code TokenizersTest} checks the equivalence against an
     * independent byte-level merge loop.
     */
    private static TextTokenizer gpt2Restricted() {
        Map<byte[], Integer> ranks = loadRanks(R50K_RESOURCE, GPT2_32K_EOT);
        if (ranks.size() != GPT2_32K_EOT) {
            throw new IllegalStateException("expected " + GPT2_32K_EOT + " ranks below " + GPT2_32K_EOT
                    + " in " + R50K_RESOURCE + ", found " + ranks.size());
        }
        Pattern pattern = Pattern.compile(R50K_PATTERN, Pattern.UNICODE_CHARACTER_CLASS);
        GptBytePairEncodingParams params = new GptBytePairEncodingParams(
                "gpt2-32k", pattern, ranks, Map.of(END_OF_TEXT, GPT2_32K_EOT));
        EncodingRegistry registry = Encodings.newLazyEncodingRegistry();
        registry.registerGptBytePairEncoding(params);
        Encoding enc = registry.getEncoding("gpt2-32k").orElseThrow(
                () -> new IllegalStateException("jtokkit did not register gpt2-32k"));
        return new JtokkitTokenizer("gpt2-32k", enc, GPT2_32K_EOT + 1, GPT2_32K_EOT, GPT2_32K_EOT,
                Set.of(GPT2_32K_EOT));
    }

    /**
     * Rank table of a {@code .tiktoken} resource inside the jtokkit jar (lines "base64 rank"),
     * keeping ranks {@code < limit}.
     */
    static Map<byte[], Integer> loadRanks(String resource, int limit) {
        Map<byte[], Integer> ranks = new HashMap<>();
        try (InputStream in = Encoding.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("jtokkit resource " + resource + " not found on the classpath");
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            Base64.Decoder b64 = Base64.getDecoder();
            String line;
            int lineNo = 0;
            while ((line = reader.readLine()) != null) {
                lineNo++;
                if (line.isEmpty()) {
                    continue;
                }
                int space = line.indexOf(' ');
                if (space < 0) {
                    throw new IllegalStateException(resource + " line " + lineNo + ": no space in '" + line + "'");
                }
                int rank = Integer.parseInt(line.substring(space + 1).trim());
                if (rank < limit) {
                    ranks.put(b64.decode(line.substring(0, space)), rank);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading jtokkit resource " + resource, e);
        }
        return ranks;
    }

    /** Adapter from a jtokkit {@link Encoding} to {@link TextTokenizer}. */
    static final class JtokkitTokenizer implements TextTokenizer {
        private final String name;
        private final Encoding encoding;
        private final int vocabSize;
        private final int endOfTextId;
        /** Ids {@code < mergeableCount} are BPE tokens; above that only {@code specialIds} exist. */
        private final int mergeableCount;
        private final Set<Integer> specialIds;

        JtokkitTokenizer(String name, Encoding encoding, int vocabSize, int endOfTextId,
                         int mergeableCount, Set<Integer> specialIds) {
            this.name = name;
            this.encoding = encoding;
            this.vocabSize = vocabSize;
            this.endOfTextId = endOfTextId;
            this.mergeableCount = mergeableCount;
            this.specialIds = specialIds;
        }

        @Override
        public int[] encode(String text) {
            // encodeOrdinary: special-token text inside a document is just text (see interface doc).
            return encoding.encodeOrdinary(text).toArray();
        }

        @Override
        public String decode(int[] ids) {
            IntArrayList list = new IntArrayList(ids.length);
            for (int i = 0; i < ids.length; i++) {
                int id = ids[i];
                if (id < 0 || (id >= mergeableCount && !specialIds.contains(id))) {
                    throw new IllegalArgumentException("token id " + id + " at position " + i
                            + " is not in the vocabulary of tokenizer " + name + " (size " + vocabSize + ")");
                }
                list.add(id);
            }
            return encoding.decode(list);
        }

        @Override
        public int vocabSize() {
            return vocabSize;
        }

        @Override
        public int endOfTextId() {
            return endOfTextId;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String toString() {
            return "Tokenizer[" + name + ", vocab " + vocabSize + ", eot " + endOfTextId + "]";
        }
    }
}
