package io.lowrank.spark.prepare;

import io.lowrank.worker.data.CorpusReader;
import io.lowrank.worker.data.MalformedCounts;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A file read in byte-range splits of any size yields exactly the documents and malformed counts
 * worker-runtime's CorpusReader finds reading it whole.
 */
class SplitReaderTest {

    private static final String[] TEXT_LINES = {
            "", "", "   ", "\t", "\r", "\u3000", "\u00a0 not blank (nbsp)", "The quick brown fox.", "jumps over",
            "a", "émigré façade naïve", "漢字かな交じり文", "{\"text\": \"json-looking line\"}", "x\r", "emoji 🙂 here",
    };

    private static byte[] randomText(Random r, int lines) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        if (r.nextBoolean()) {
            b.writeBytes("\uFEFF".getBytes(StandardCharsets.UTF_8));
        }
        for (int i = 0; i < lines; i++) {
            int pick = r.nextInt(TEXT_LINES.length + 2);
            if (pick == TEXT_LINES.length) {
                b.writeBytes(new byte[]{'b', 'a', 'd', (byte) 0xC3, (byte) 0x28, ' ', 'u', 't', 'f'});
            } else if (pick == TEXT_LINES.length + 1) {
                b.writeBytes(("long " + "word ".repeat(r.nextInt(200))).getBytes(StandardCharsets.UTF_8));
            } else {
                b.writeBytes(TEXT_LINES[pick].getBytes(StandardCharsets.UTF_8));
            }
            if (i < lines - 1 || r.nextBoolean()) {
                b.write(r.nextInt(5) == 0 ? '\r' : '\n');
                if (b.toByteArray()[b.size() - 1] == '\r') {
                    b.write('\n');
                }
            }
        }
        return b.toByteArray();
    }

    private static byte[] randomJsonl(Random r, int lines) {
        String[] recs = {
                "{\"text\": \"hello world\"}", "{\"text\": \"second doc\", \"id\": 3}", "{\"other\": \"no text\"}",
                "{\"text\": 42}", "{\"text\": \"   \"}", "{\"text\": null}", "not json at all", "[1, 2, 3]", "",
                "  ", "{\"text\": \"multi\\nline\\n\\nwith blank\"}", "{\"text\": \"ünïcödé\"}", "{\"text\": \"tail\"}\r",
        };
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; i < lines; i++) {
            int pick = r.nextInt(recs.length + 1);
            if (pick == recs.length) {
                b.writeBytes(new byte[]{'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xff, '"', '}'});
            } else {
                b.writeBytes(recs[pick].getBytes(StandardCharsets.UTF_8));
            }
            if (i < lines - 1 || r.nextBoolean()) {
                b.write('\n');
            }
        }
        return b.toByteArray();
    }

    record Read(List<String> docs, long[] malformed) {
    }

    private static Read viaCorpusReader(Path file, CorpusReader.Format format) throws IOException {
        List<String> docs = new ArrayList<>();
        MalformedCounts mc = new CorpusReader("text").read(file, format, docs::add);
        long[] m = new long[MalformedCounts.Kind.values().length];
        for (MalformedCounts.Kind k : MalformedCounts.Kind.values()) {
            m[k.ordinal()] = mc.count(k);
        }
        return new Read(docs, m);
    }

    private static Read viaSplits(Path file, String format, long splitBytes, boolean whole) throws IOException {
        List<String> docs = new ArrayList<>();
        long[] m = new long[MalformedCounts.Kind.values().length];
        SplitReader reader = new SplitReader(new Configuration(), "text");
        SplitReader.Sink sink = new SplitReader.Sink() {
            @Override
            public void document(String text) {
                docs.add(text);
            }

            @Override
            public void malformed(MalformedCounts.Kind kind, String location) {
                m[kind.ordinal()]++;
                assertTrue(location.startsWith(file.toUri().toString()) || location.contains(file.getFileName().toString()), location);
            }
        };
        long len = Files.size(file);
        String uri = file.toUri().toString();
        if (whole) {
            reader.read(new InputSplit(0, 0, uri, format, 0, len, true), sink);
        } else {
            for (long s = 0; s < len; s += splitBytes) {
                reader.read(new InputSplit(0, 0, uri, format, s, Math.min(len, s + splitBytes), false), sink);
            }
        }
        return new Read(docs, m);
    }

    private static void assertSame(Read expected, Read actual, String what) {
        assertEquals(expected.docs(), actual.docs(), what);
        assertEquals(List.of(box(expected.malformed())), List.of(box(actual.malformed())), what + " malformed");
    }

    private static Long[] box(long[] a) {
        Long[] b = new Long[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = a[i];
        }
        return b;
    }

    @Test
    void textSplitsOfAnySizeReadTheSameParagraphs(@TempDir Path dir) throws IOException {
        Random r = new Random(7);
        int checkedDocs = 0;
        for (int round = 0; round < 16; round++) {
            Path f = dir.resolve("t" + round + ".txt");
            Files.write(f, randomText(r, 5 + r.nextInt(60)));
            Read expected = viaCorpusReader(f, CorpusReader.Format.TEXT);
            checkedDocs += expected.docs().size();
            assertSame(expected, viaSplits(f, "text", 0, true), "whole " + f);
            // every split boundary position (size 1) on a few files, coarser ones on all
            for (long size : round < 3 ? new long[]{1, 3, 8, 64, 1000} : new long[]{5, 13, 64, 1000}) {
                assertSame(expected, viaSplits(f, "text", size, false), "split " + size + " of " + f);
            }
        }
        assertTrue(checkedDocs > 60, "the random corpora should hold documents: " + checkedDocs);
    }

    @Test
    void jsonlSplitsOfAnySizeReadTheSameRecords(@TempDir Path dir) throws IOException {
        Random r = new Random(11);
        long malformed = 0;
        for (int round = 0; round < 16; round++) {
            Path f = dir.resolve("j" + round + ".jsonl");
            Files.write(f, randomJsonl(r, 3 + r.nextInt(50)));
            Read expected = viaCorpusReader(f, CorpusReader.Format.JSONL);
            for (long c : expected.malformed()) {
                malformed += c;
            }
            assertSame(expected, viaSplits(f, "jsonl", 0, true), "whole " + f);
            for (long size : round < 3 ? new long[]{1, 7, 100, 5000} : new long[]{7, 31, 100, 5000}) {
                assertSame(expected, viaSplits(f, "jsonl", size, false), "split " + size + " of " + f);
            }
        }
        assertTrue(malformed > 30, "the random corpora should hold malformed records: " + malformed);
    }

    @Test
    void gzipIsRecognisedByItsMagicBytes(@TempDir Path dir) throws IOException {
        Random r = new Random(3);
        byte[] text = randomJsonl(r, 80);
        Path plain = dir.resolve("p.jsonl");
        Files.write(plain, text);
        Path gz = dir.resolve("c.jsonl.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            out.write(text);
        }
        Read expected = viaCorpusReader(plain, CorpusReader.Format.JSONL);
        assertTrue(expected.docs().size() > 5);
        assertSame(expected, viaSplits(gz, "jsonl", 0, true), "gzip");
    }
}
