import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.Inflater;

/**
 * Prints character vectors stored in an R package's lazy-load data base (DIR/Rdata.rdx + Rdata.rdb),
 * without R: {@code java bin/RLazyLoadText.java DIR NAME...} writes, for each NAME, a line
 * "@@BOOK@@", the vector's elements one per line, and an empty line (what
 * {@code writeLines(c("@@BOOK@@", x, ""))} writes in R). bin/fetch-demo-corpus reads Jane Austen's
 * novels from the r-cran-janeaustenr package this way, so the demo needs no R installation (R and
 * its dependencies are most of what that package would pull in).
 *
 * <p>The format (R's serialize.c and makeLazyLoadDB): Rdata.rdx is a gzip-compressed serialization
 * of list(variables = list(NAME = c(offset, length)), ...); each object in Rdata.rdb at offset is
 * a 4-byte big-endian uncompressed length and a zlib stream of the object's serialization. This
 * reads the XDR serialization subset such data uses (pairlists, symbols, vectors, attributes,
 * references) and fails naming what it met otherwise.
 */
public final class RLazyLoadText {
    private final DataInputStream in;
    private final List<Object> refs = new ArrayList<>();

    private RLazyLoadText(InputStream in) { this.in = new DataInputStream(in); }

    record Sym(String name) {}
    record Pair(Object tag, Object car, Object cdr) {}
    record Vec(int type, Object[] items, Object attributes) {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: java RLazyLoadText.java DATA_DIR NAME...   (DATA_DIR holds Rdata.rdx and Rdata.rdb)");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        Vec index;
        try (InputStream gz = new GZIPInputStream(Files.newInputStream(dir.resolve("Rdata.rdx")))) {
            index = (Vec) new RLazyLoadText(gz).stream();
        }
        Vec variables = (Vec) field(index, "variables");
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);
        try (RandomAccessFile rdb = new RandomAccessFile(dir.resolve("Rdata.rdb").toFile(), "r")) {
            for (int a = 1; a < args.length; a++) {
                Vec where = (Vec) field(variables, args[a]);
                long offset = number(where.items[0]), length = number(where.items[1]);
                byte[] blob = new byte[(int) length];
                rdb.seek(offset);
                rdb.readFully(blob);
                int size = ((blob[0] & 0xff) << 24) | ((blob[1] & 0xff) << 16) | ((blob[2] & 0xff) << 8) | (blob[3] & 0xff);
                Inflater inf = new Inflater();
                inf.setInput(blob, 4, blob.length - 4);
                byte[] raw = new byte[size];
                int n = 0;
                while (n < size && !inf.finished()) n += inf.inflate(raw, n, size - n);
                if (n != size) throw new IOException(args[a] + ": inflated " + n + " of " + size + " bytes (not a zlib-compressed lazy-load entry?)");
                Object value = new RLazyLoadText(new ByteArrayInputStream(raw)).stream();
                if (!(value instanceof Vec v) || v.type != 16) throw new IOException(args[a] + " is not a character vector");
                out.println("@@BOOK@@");
                for (Object s : v.items) out.println(s == null ? "NA" : (String) s);
                out.println();
            }
        }
        out.flush();
    }

    private static long number(Object o) {
        if (o instanceof Vec v && v.items.length == 1) o = v.items[0];
        if (o instanceof Number x) return x.longValue();
        throw new IllegalStateException("expected a number, got " + o);
    }

    /** Element NAME of a named list (its "names" attribute). */
    private static Object field(Vec list, String name) {
        for (Object p = list.attributes; p instanceof Pair pair; p = pair.cdr) {
            if (pair.tag instanceof Sym s && s.name.equals("names")) {
                Object[] names = ((Vec) pair.car).items;
                for (int i = 0; i < names.length; i++) if (name.equals(names[i])) return list.items[i];
                throw new IllegalArgumentException("no '" + name + "' in the data base (it holds " + java.util.Arrays.toString(names) + ")");
            }
        }
        throw new IllegalStateException("list without names");
    }

    private Object stream() throws IOException {
        byte[] format = in.readNBytes(2);
        if (format[0] != 'X') throw new IOException("not an XDR serialization (format '" + (char) format[0] + "')");
        int version = in.readInt();
        in.readInt();   // writer's R version
        in.readInt();   // minimal reader version
        if (version == 3) in.readNBytes(in.readInt());   // native encoding
        return item();
    }

    private Object item() throws IOException {
        int flags = in.readInt();
        int type = flags & 0xff;
        boolean hasAttr = (flags & (1 << 9)) != 0, hasTag = (flags & (1 << 10)) != 0;
        switch (type) {
            case 254: case 253: case 252: case 251: case 250: case 242: case 241:
                return null;   // NILVALUE, the environments and markers: nothing a text vector needs
            case 255: {      // REFSXP
                int idx = flags >>> 8;
                if (idx == 0) idx = in.readInt();
                return refs.get(idx - 1);
            }
            case 1: {        // SYMSXP
                Sym s = new Sym((String) item());
                refs.add(s);
                return s;
            }
            case 2: case 6: case 239: case 240: {   // LISTSXP, LANGSXP, ATTRLISTSXP, ATTRLANGSXP
                Object attr = hasAttr ? item() : null;
                Object tag = hasTag ? item() : null;
                Object car = item();
                return new Pair(tag, car, item());
            }
            case 9: {        // CHARSXP
                int len = in.readInt();
                if (len == -1) return null;   // NA_character_
                byte[] b = in.readNBytes(len);
                boolean latin1 = (flags >>> 12 & (1 << 2)) != 0;
                return new String(b, latin1 ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
            }
            case 10: case 13: case 14: case 16: case 19: case 20: {   // LGL, INT, REAL, STR, VEC, EXPR
                int len = in.readInt();
                Object[] items = new Object[len];
                for (int i = 0; i < len; i++) {
                    items[i] = type == 14 ? (Object) in.readDouble() : type == 10 || type == 13 ? (Object) in.readInt() : item();
                }
                return new Vec(type, items, hasAttr ? item() : null);
            }
            default:
                throw new IOException("serialized R type " + type + " is not supported by this reader");
        }
    }
}
