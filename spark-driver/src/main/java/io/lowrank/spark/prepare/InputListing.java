package io.lowrank.spark.prepare;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.fs.UnsupportedFileSystemException;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Driver side: resolves the inputs (files, directories, globs on any Hadoop file system) into an
 * ordered list of files with their formats, and cuts them into {@link InputSplit}s.
 *
 * <p>Order: the inputs as given; within a directory or glob, files sorted by path. A file named
 * twice is read once (first place). Inside directories, names starting with '.' or '_' (checksums,
 * {@code _SUCCESS}, temp files) are skipped.
 */
final class InputListing {

    /** One input file, fully qualified, and what identifies its content. */
    record InputFile(String uri, long bytes, long modificationTime, String format, boolean gzip) {
    }

    private static final List<String> TEXT = List.of(".txt", ".text", ".md");
    private static final List<String> JSONL = List.of(".jsonl", ".ndjson", ".json");
    private static final List<String> PARQUET = List.of(".parquet", ".parq");

    private InputListing() {
    }

    static List<InputFile> list(Configuration conf, List<String> inputs, PrepareOptions.Format forced)
            throws IOException {
        Map<String, InputFile> out = new LinkedHashMap<>();
        for (String input : inputs) {
            Path pattern = new Path(input);
            FileSystem fs;
            try {
                fs = pattern.getFileSystem(conf);
            } catch (UnsupportedFileSystemException e) {
                throw new PrepareException("input " + input + ": no Hadoop file system for scheme '"
                        + pattern.toUri().getScheme() + "'" + ("s3a".equals(pattern.toUri().getScheme())
                        ? " (s3a needs hadoop-aws and its AWS SDK on the classpath)" : "") + ": " + e.getMessage(), e);
            }
            FileStatus[] matches;
            try {
                matches = fs.globStatus(pattern);
            } catch (FileNotFoundException e) {
                matches = null;
            }
            if (matches == null || matches.length == 0) {
                boolean glob = input.matches(".*[*?\\[{].*");
                throw new PrepareException(glob ? "input glob " + input + " matches no file"
                        : "input path " + input + " does not exist");
            }
            List<FileStatus> sorted = new ArrayList<>(List.of(matches));
            sorted.sort(Comparator.comparing(s -> s.getPath().toString()));
            for (FileStatus m : sorted) {
                if (m.isDirectory()) {
                    List<FileStatus> files = filesUnder(fs, m.getPath());
                    if (files.isEmpty()) {
                        throw new PrepareException("input directory " + m.getPath() + " holds no files");
                    }
                    for (FileStatus f : files) {
                        add(out, f, forced);
                    }
                } else {
                    add(out, m, forced);
                }
            }
        }
        return new ArrayList<>(out.values());
    }

    private static List<FileStatus> filesUnder(FileSystem fs, Path dir) throws IOException {
        List<FileStatus> files = new ArrayList<>();
        String base = dir.toUri().getPath();
        RemoteIterator<LocatedFileStatus> it = fs.listFiles(dir, true);
        while (it.hasNext()) {
            LocatedFileStatus f = it.next();
            String rel = f.getPath().toUri().getPath().substring(Math.min(base.length(), f.getPath().toUri().getPath().length()));
            boolean hidden = false;
            for (String part : rel.split("/")) {
                if (part.startsWith(".") || part.startsWith("_")) {
                    hidden = true;
                    break;
                }
            }
            if (!hidden) {
                files.add(f);
            }
        }
        files.sort(Comparator.comparing(s -> s.getPath().toString()));
        return files;
    }

    private static void add(Map<String, InputFile> out, FileStatus f, PrepareOptions.Format forced) {
        String uri = f.getPath().toString();
        if (out.containsKey(uri)) {
            return;
        }
        String name = f.getPath().getName().toLowerCase(Locale.ROOT);
        boolean gzip = name.endsWith(".gz");
        String base = gzip ? name.substring(0, name.length() - 3) : name;
        String format;
        if (forced != PrepareOptions.Format.AUTO) {
            format = forced.label();
        } else if (endsWithAny(base, TEXT)) {
            format = "text";
        } else if (endsWithAny(base, JSONL)) {
            format = "jsonl";
        } else if (endsWithAny(base, PARQUET)) {
            format = "parquet";
        } else {
            throw new PrepareException("input file " + uri + ": cannot tell its format from the name; expected "
                    + TEXT + " (blank-line separated text) or " + JSONL + " (JSON lines), optionally + .gz, or "
                    + PARQUET + "; or pass --format text|jsonl|parquet");
        }
        if (format.equals("parquet") && gzip) {
            throw new PrepareException("input file " + uri + ": a gzip-compressed Parquet file is not readable;"
                    + " Parquet compresses inside the file");
        }
        out.put(uri, new InputFile(uri, f.getLen(), f.getModificationTime(), format, gzip));
    }

    private static boolean endsWithAny(String name, List<String> exts) {
        for (String e : exts) {
            if (name.endsWith(e)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Cuts the files into splits of about {@code splitBytes}: byte ranges of uncompressed text and
     * JSONL, runs of row groups of Parquet (footers are read only for files larger than a split),
     * whole files for gzip (also when only the magic bytes say gzip).
     */
    static List<InputSplit> splits(Configuration conf, List<InputFile> files, long splitBytes) throws IOException {
        List<InputSplit> out = new ArrayList<>();
        for (int fi = 0; fi < files.size(); fi++) {
            InputFile f = files.get(fi);
            if (f.bytes() <= splitBytes || f.gzip()) {
                out.add(split(f, new InputSplit(out.size(), fi, f.uri(), f.format(), 0, f.bytes(), true)));
            } else if (f.format().equals("parquet")) {
                Path path = new Path(f.uri());
                List<BlockMetaData> groups;
                try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(path, conf))) {
                    groups = r.getRowGroups();
                } catch (RuntimeException e) {
                    throw new PrepareException("input file " + f.uri() + ": not a readable Parquet file: " + e.getMessage(), e);
                }
                int start = 0;
                long size = 0;
                for (int g = 0; g < groups.size(); g++) {
                    size += groups.get(g).getCompressedSize();
                    if (size >= splitBytes || g == groups.size() - 1) {
                        out.add(split(f, new InputSplit(out.size(), fi, f.uri(), f.format(), start, g + 1, false)));
                        start = g + 1;
                        size = 0;
                    }
                }
                if (groups.isEmpty()) {
                    out.add(split(f, new InputSplit(out.size(), fi, f.uri(), f.format(), 0, 0, true)));
                }
            } else if (hasGzipMagic(conf, f.uri())) {
                out.add(split(f, new InputSplit(out.size(), fi, f.uri(), f.format(), 0, f.bytes(), true)));
            } else {
                for (long s = 0; s < f.bytes(); s += splitBytes) {
                    out.add(split(f, new InputSplit(out.size(), fi, f.uri(), f.format(), s, Math.min(f.bytes(), s + splitBytes), false)));
                }
            }
        }
        return out;
    }

    private static InputSplit split(InputFile f, InputSplit s) {
        return s.file(f.bytes(), f.modificationTime());
    }

    private static boolean hasGzipMagic(Configuration conf, String uri) throws IOException {
        Path p = new Path(uri);
        try (FSDataInputStream in = p.getFileSystem(conf).open(p)) {
            int b0 = in.read();
            int b1 = in.read();
            return b0 == 0x1f && b1 == 0x8b;
        }
    }
}
