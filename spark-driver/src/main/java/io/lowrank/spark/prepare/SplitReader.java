package io.lowrank.spark.prepare;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.worker.data.CorpusReader;
import io.lowrank.worker.data.MalformedCounts.Kind;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Reads the documents of one {@link InputSplit} from a Hadoop file system, with exactly the
 * record rules of worker-runtime's {@link CorpusReader} (text: blank-line separated paragraphs,
 * lines joined with '\n', a leading byte order mark dropped; JSONL: one object per line, the text
 * field must be a non-blank string; strict UTF-8 everywhere; gzip recognised by its magic bytes),
 * so a file read whole or in any number of byte-range splits yields the same documents in the
 * same order. Parquet: one string (BINARY) column, read row group by row group.
 */
final class SplitReader {

    /** Receives the split's documents in order and its malformed records. */
    interface Sink {
        void document(String text) throws IOException;

        void malformed(Kind kind, String location);
    }

    private static final int CHUNK = 1 << 16;

    private final Configuration conf;
    private final String textField;
    private final ObjectMapper json = new ObjectMapper();
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);

    SplitReader(Configuration conf, String textField) {
        this.conf = conf;
        this.textField = textField;
    }

    void read(InputSplit split, Sink sink) throws IOException {
        switch (split.format) {
            case "parquet":
                readParquet(split, sink);
                return;
            case "text":
            case "jsonl":
                readLines(split, sink);
                return;
            default:
                throw new PrepareException("input " + split.uri + ": unknown format '" + split.format + "'");
        }
    }

    // ---------------------------------------------------------------- text and JSONL

    private void readLines(InputSplit split, Sink sink) throws IOException {
        Path path = new Path(split.uri);
        FileSystem fs = path.getFileSystem(conf);
        boolean text = split.format.equals("text");
        try (FSDataInputStream raw = fs.open(path)) {
            Lines lines;
            boolean prevBlank = true;
            long end = split.whole ? Long.MAX_VALUE : split.end;
            if (split.whole || split.start == 0) {
                InputStream in = raw;
                if (split.whole) {
                    BufferedInputStream b = new BufferedInputStream(raw, 2);
                    b.mark(2);
                    int b0 = b.read();
                    int b1 = b.read();
                    b.reset();
                    in = (b0 == 0x1f && b1 == 0x8b) ? new GZIPInputStream(b, CHUNK) : b;
                }
                lines = new Lines(in, 0);
            } else {
                raw.seek(split.start - 1);
                lines = new Lines(raw, split.start - 1);
                if (!lines.skipPastNewline()) {
                    return; // the split starts inside the file's last line
                }
                if (text) {
                    prevBlank = previousLineBlank(raw, lines.position());
                }
            }
            if (text) {
                readText(split.uri, lines, end, prevBlank, sink);
            } else {
                readJsonl(split.uri, lines, end, sink);
            }
        }
    }

    private void readJsonl(String uri, Lines lines, long end, Sink sink) throws IOException {
        while (lines.position() < end && lines.next()) {
            String location = uri + ":byte " + lines.lineStart;
            String line = decode(lines.buf, 0, lines.length);
            if (line == null) {
                sink.malformed(Kind.BAD_UTF8, location);
                continue;
            }
            if (line.isBlank()) {
                continue;
            }
            JsonNode node;
            try {
                node = json.readTree(line);
            } catch (JsonProcessingException e) {
                sink.malformed(Kind.BAD_JSON, location);
                continue;
            }
            if (node == null || !node.isObject()) {
                sink.malformed(Kind.BAD_JSON, location);
                continue;
            }
            JsonNode value = node.get(textField);
            if (value == null) {
                sink.malformed(Kind.MISSING_FIELD, location);
            } else if (!value.isTextual()) {
                sink.malformed(Kind.WRONG_TYPE, location);
            } else if (value.asText().isBlank()) {
                sink.malformed(Kind.EMPTY_TEXT, location);
            } else {
                sink.document(value.asText());
            }
        }
    }

    /**
     * A document is a maximal run of non-blank lines; it belongs to the split holding its first
     * byte. {@code prevBlank} says whether the line before the split's first whole line was blank
     * (true at the start of the file); when it was not, the split starts inside a paragraph an
     * earlier split owns, and skips to the next blank line.
     */
    private void readText(String uri, Lines lines, long end, boolean prevBlank, Sink sink) throws IOException {
        final int skipping = 0;
        final int idle = 1;
        final int inDoc = 2;
        int state = prevBlank ? idle : skipping;
        StringBuilder doc = new StringBuilder();
        boolean badUtf8 = false;
        long docStart = -1;
        while (true) {
            if (state != inDoc && lines.position() >= end) {
                return;
            }
            if (!lines.next()) {
                break;
            }
            String line = decode(lines.buf, 0, lines.length);
            if (lines.lineStart == 0 && line != null && line.startsWith("\uFEFF")) {
                line = line.substring(1);
            }
            boolean blank = line != null && line.isBlank();
            if (blank) {
                if (state == inDoc) {
                    flush(uri, docStart, doc, badUtf8, sink);
                }
                state = idle;
                continue;
            }
            if (state == skipping) {
                continue;
            }
            if (state == idle) {
                state = inDoc;
                doc.setLength(0);
                badUtf8 = false;
                docStart = lines.lineStart;
            }
            if (line == null) {
                badUtf8 = true; // the whole paragraph is skipped, as CorpusReader does
            } else {
                if (doc.length() > 0) {
                    doc.append('\n');
                }
                doc.append(line);
            }
        }
        if (state == inDoc) {
            flush(uri, docStart, doc, badUtf8, sink);
        }
    }

    private static void flush(String uri, long docStart, StringBuilder doc, boolean badUtf8, Sink sink)
            throws IOException {
        if (badUtf8) {
            sink.malformed(Kind.BAD_UTF8, uri + ":byte " + docStart);
        } else if (doc.length() > 0) {
            sink.document(doc.toString());
        }
    }

    /**
     * Whether the line ending with the '\n' at {@code lineStart - 1} is blank, by CorpusReader's
     * rule (decoded, '\r' stripped, a byte order mark dropped on the first line, whitespace only).
     * Scans backwards and stops at the first printable ASCII byte, so a long previous line costs
     * little.
     */
    private boolean previousLineBlank(FSDataInputStream in, long lineStart) throws IOException {
        if (lineStart == 0) {
            return true;
        }
        long newline = lineStart - 1;
        long pos = newline; // exclusive end of the previous line's bytes
        byte[] chunk = new byte[4096];
        long prevStart = 0;
        scan:
        while (pos > 0) {
            int n = (int) Math.min(chunk.length, pos);
            in.readFully(pos - n, chunk, 0, n);
            for (int i = n - 1; i >= 0; i--) {
                int b = chunk[i] & 0xff;
                if (b == '\n') {
                    prevStart = pos - n + i + 1;
                    break scan;
                }
                if (b >= 0x21 && b <= 0x7e) {
                    return false; // printable ASCII: never whitespace
                }
            }
            pos -= n;
        }
        long len = newline - prevStart;
        if (len > Integer.MAX_VALUE - 16) {
            return false;
        }
        byte[] bytes = new byte[(int) len];
        in.readFully(prevStart, bytes, 0, bytes.length);
        int length = bytes.length;
        if (length > 0 && bytes[length - 1] == '\r') {
            length--;
        }
        String line = decode(bytes, 0, length);
        if (line == null) {
            return false;
        }
        if (prevStart == 0 && line.startsWith("\uFEFF")) {
            line = line.substring(1);
        }
        return line.isBlank();
    }

    private String decode(byte[] bytes, int off, int len) {
        try {
            CharBuffer chars = utf8.reset().decode(ByteBuffer.wrap(bytes, off, len));
            return chars.toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /**
     * Lines split at '\n' with a preceding '\r' dropped, not decoded (so bad UTF-8 is caught per
     * line), with absolute byte positions. A final line without '\n' counts when non-empty.
     */
    static final class Lines {
        private final InputStream in;
        private final byte[] chunk = new byte[CHUNK];
        private int chunkPos;
        private int chunkLen;
        private long pos;
        private boolean eof;
        byte[] buf = new byte[1 << 12];
        int length;
        long lineStart;

        Lines(InputStream in, long position) {
            this.in = in;
            this.pos = position;
        }

        /** Position of the next unread byte (the start of the next line after a {@link #next}). */
        long position() {
            return pos;
        }

        private int read() throws IOException {
            if (chunkPos == chunkLen) {
                if (eof) {
                    return -1;
                }
                int n = in.read(chunk, 0, chunk.length);
                while (n == 0) {
                    n = in.read(chunk, 0, chunk.length);
                }
                if (n < 0) {
                    eof = true;
                    return -1;
                }
                chunkPos = 0;
                chunkLen = n;
            }
            pos++;
            return chunk[chunkPos++] & 0xff;
        }

        /** Consumes bytes through the next '\n'; false when the stream ends first. */
        boolean skipPastNewline() throws IOException {
            int b;
            while ((b = read()) != -1) {
                if (b == '\n') {
                    return true;
                }
            }
            return false;
        }

        boolean next() throws IOException {
            lineStart = pos;
            length = 0;
            int b;
            while ((b = read()) != -1) {
                if (b == '\n') {
                    stripCr();
                    return true;
                }
                if (length == buf.length) {
                    buf = Arrays.copyOf(buf, buf.length * 2);
                }
                buf[length++] = (byte) b;
            }
            stripCr();
            return length > 0;
        }

        private void stripCr() {
            if (length > 0 && buf[length - 1] == '\r') {
                length--;
            }
        }
    }

    // ---------------------------------------------------------------- Parquet

    /**
     * The column holding the text, checked: a top-level, non-repeated BINARY (string) column.
     * The error names the file, the column and what was found instead.
     */
    static Type textColumn(MessageType schema, String uri, String field) {
        if (!schema.containsField(field)) {
            List<String> names = schema.getFields().stream().map(Type::getName).toList();
            throw new PrepareException("parquet file " + uri + " has no column '" + field + "' (columns: " + names
                    + "); choose the text column with --text-field");
        }
        Type t = schema.getType(field);
        if (!t.isPrimitive() || t.isRepetition(Type.Repetition.REPEATED)
                || t.asPrimitiveType().getPrimitiveTypeName() != PrimitiveType.PrimitiveTypeName.BINARY) {
            throw new PrepareException("parquet file " + uri + ": column '" + field + "' is " + t
                    + ", expected a string (optional/required binary) column");
        }
        return t;
    }

    private void readParquet(InputSplit split, Sink sink) throws IOException {
        Path path = new Path(split.uri);
        try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(path, conf))) {
            MessageType schema = reader.getFooter().getFileMetaData().getSchema();
            Type column = textColumn(schema, split.uri, textField);
            MessageType projection = new MessageType(schema.getName(), column);
            reader.setRequestedSchema(projection);
            List<BlockMetaData> groups = reader.getRowGroups();
            int from = split.whole ? 0 : (int) split.start;
            int to = split.whole ? groups.size() : (int) split.end;
            long row = 0;
            for (int g = 0; g < from; g++) {
                row += groups.get(g).getRowCount();
                reader.skipNextRowGroup();
            }
            MessageColumnIO io = new ColumnIOFactory().getColumnIO(projection);
            for (int g = from; g < to; g++) {
                PageReadStore pages = reader.readNextRowGroup();
                if (pages == null) {
                    throw new PrepareException("parquet file " + split.uri + ": row group " + g + " missing (file has "
                            + groups.size() + " in its footer)");
                }
                RecordReader<Group> records = io.getRecordReader(pages, new GroupRecordConverter(projection));
                long rows = pages.getRowCount();
                for (long i = 0; i < rows; i++, row++) {
                    Group rec = records.read();
                    String location = split.uri + ":row " + row;
                    if (rec == null || rec.getFieldRepetitionCount(0) == 0) {
                        sink.malformed(Kind.MISSING_FIELD, location); // null value
                        continue;
                    }
                    byte[] bytes = rec.getBinary(0, 0).getBytes();
                    String text = decode(bytes, 0, bytes.length);
                    if (text == null) {
                        sink.malformed(Kind.BAD_UTF8, location);
                    } else if (text.isBlank()) {
                        sink.malformed(Kind.EMPTY_TEXT, location);
                    } else {
                        sink.document(text);
                    }
                }
            }
        }
    }
}
