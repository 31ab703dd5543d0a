package io.lowrank.worker.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

/**
 * Reads documents from corpus files, streaming (a file never has to fit in memory):
 *
 * <ul>
 *   <li>Plain text ({@code .txt}, {@code .text}, {@code .md}): documents are blocks of lines
 *       separated by one or more blank (or whitespace-only) lines; a document's lines are joined
 *       with {@code '\n'}.</li>
 *   <li>JSONL ({@code .jsonl}, {@code .ndjson}, {@code .json}): one JSON object per line, the
 *       document is the string field {@link #textField()} ({@code "text"} by default). Blank lines
 *       are not records and are skipped.</li>
 * </ul>
 *
 * Either may be gzip-compressed (recognised by the gzip magic bytes, so {@code .gz} is optional).
 * Malformed records are skipped and counted by kind in the returned {@link MalformedCounts}
 * together with their file:line, never dropped silently.
 */
public final class CorpusReader {

    /** Corpus file formats. */
    public enum Format { TEXT, JSONL }

    /** Receives each well-formed document in file order. */
    @FunctionalInterface
    public interface DocumentConsumer {
        void accept(String text) throws IOException;
    }

    private static final List<String> TEXT_EXTENSIONS = List.of(".txt", ".text", ".md");
    private static final List<String> JSONL_EXTENSIONS = List.of(".jsonl", ".ndjson", ".json");

    private final String textField;
    private final ObjectMapper json = new ObjectMapper();

    public CorpusReader() {
        this("text");
    }

    /** @param textField name of the JSONL field holding the document text */
    public CorpusReader(String textField) {
        if (textField == null || textField.isEmpty()) {
            throw new IllegalArgumentException("JSONL text field name must be non-empty");
        }
        this.textField = textField;
    }

    public String textField() {
        return textField;
    }

    /** Format from the file name, ignoring a trailing {@code .gz}. */
    public static Format detect(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".gz")) {
            name = name.substring(0, name.length() - 3);
        }
        for (String ext : TEXT_EXTENSIONS) {
            if (name.endsWith(ext)) {
                return Format.TEXT;
            }
        }
        for (String ext : JSONL_EXTENSIONS) {
            if (name.endsWith(ext)) {
                return Format.JSONL;
            }
        }
        throw new IllegalArgumentException("corpus file " + file + ": cannot tell the format from the name; expected one of "
                + TEXT_EXTENSIONS + " (blank-line separated text) or " + JSONL_EXTENSIONS + " (JSON lines), optionally + .gz");
    }

    /** Reads {@code file} in the format its name says; see {@link #read(Path, Format, DocumentConsumer)}. */
    public MalformedCounts read(Path file, DocumentConsumer consumer) throws IOException {
        return read(file, detect(file), consumer);
    }

    /** Streams every well-formed document of {@code file} to {@code consumer}; returns what was skipped. */
    public MalformedCounts read(Path file, Format format, DocumentConsumer consumer) throws IOException {
        MalformedCounts malformed = new MalformedCounts();
        try (InputStream in = open(file)) {
            LineReader lines = new LineReader(in);
            if (format == Format.JSONL) {
                readJsonl(file, lines, consumer, malformed);
            } else {
                readText(file, lines, consumer, malformed);
            }
        }
        return malformed;
    }

    private static InputStream open(Path file) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        in.mark(2);
        int b0 = in.read();
        int b1 = in.read();
        in.reset();
        return (b0 == 0x1f && b1 == 0x8b) ? new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16) : in;
    }

    private void readJsonl(Path file, LineReader lines, DocumentConsumer consumer, MalformedCounts malformed)
            throws IOException {
        CharsetDecoder utf8 = strictUtf8();
        long lineNo = 0;
        while (lines.next()) {
            lineNo++;
            String location = file + ":" + lineNo;
            String line = decode(utf8, lines);
            if (line == null) {
                malformed.add(MalformedCounts.Kind.BAD_UTF8, location);
                continue;
            }
            if (line.isBlank()) {
                continue; // not a record (typically a trailing newline)
            }
            JsonNode node;
            try {
                node = json.readTree(line);
            } catch (JsonProcessingException e) {
                malformed.add(MalformedCounts.Kind.BAD_JSON, location);
                continue;
            }
            if (node == null || !node.isObject()) {
                malformed.add(MalformedCounts.Kind.BAD_JSON, location);
                continue;
            }
            JsonNode text = node.get(textField);
            if (text == null) {
                malformed.add(MalformedCounts.Kind.MISSING_FIELD, location);
            } else if (!text.isTextual()) {
                malformed.add(MalformedCounts.Kind.WRONG_TYPE, location);
            } else if (text.asText().isBlank()) {
                malformed.add(MalformedCounts.Kind.EMPTY_TEXT, location);
            } else {
                consumer.accept(text.asText());
            }
        }
    }

    private static void readText(Path file, LineReader lines, DocumentConsumer consumer, MalformedCounts malformed)
            throws IOException {
        CharsetDecoder utf8 = strictUtf8();
        StringBuilder doc = new StringBuilder();
        boolean badUtf8 = false;
        long docStart = 0;
        long lineNo = 0;
        while (lines.next()) {
            lineNo++;
            String line = decode(utf8, lines);
            if (lineNo == 1 && line != null && line.startsWith("\uFEFF")) {
                line = line.substring(1); // byte order mark some editors write
            }
            if (line != null && line.isBlank()) {
                flushText(file, docStart, doc, badUtf8, consumer, malformed);
                doc.setLength(0);
                badUtf8 = false;
                continue;
            }
            if (doc.length() == 0 && !badUtf8) {
                docStart = lineNo;
            }
            if (line == null) {
                badUtf8 = true; // the whole paragraph is skipped: a partial document would be worse
            } else {
                if (doc.length() > 0) {
                    doc.append('\n');
                }
                doc.append(line);
            }
        }
        flushText(file, docStart, doc, badUtf8, consumer, malformed);
    }

    private static void flushText(Path file, long docStart, StringBuilder doc, boolean badUtf8,
                                  DocumentConsumer consumer, MalformedCounts malformed) throws IOException {
        if (badUtf8) {
            malformed.add(MalformedCounts.Kind.BAD_UTF8, file + ":" + docStart);
        } else if (doc.length() > 0) {
            consumer.accept(doc.toString());
        }
    }

    private static CharsetDecoder strictUtf8() {
        return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
    }

    /** The current line as a String, or null when its bytes are not valid UTF-8. */
    private static String decode(CharsetDecoder utf8, LineReader lines) {
        try {
            CharBuffer chars = utf8.reset().decode(ByteBuffer.wrap(lines.buf, 0, lines.length));
            return chars.toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /**
     * Splits a byte stream into lines at '\n' (dropping a preceding '\r') without decoding, so
     * invalid UTF-8 is detected per line instead of being replaced silently by a Reader.
     */
    private static final class LineReader {
        private final InputStream in;
        byte[] buf = new byte[1 << 12];
        int length;
        private boolean eof;

        LineReader(InputStream in) {
            this.in = in;
        }

        boolean next() throws IOException {
            if (eof) {
                return false;
            }
            length = 0;
            int b;
            while ((b = in.read()) != -1) {
                if (b == '\n') {
                    stripCr();
                    return true;
                }
                if (length == buf.length) {
                    buf = Arrays.copyOf(buf, buf.length * 2);
                }
                buf[length++] = (byte) b;
            }
            eof = true;
            stripCr();
            return length > 0; // a final line without '\n'
        }

        private void stripCr() {
            if (length > 0 && buf[length - 1] == '\r') {
                length--;
            }
        }
    }
}
