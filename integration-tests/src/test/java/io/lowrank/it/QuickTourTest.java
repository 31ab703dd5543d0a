package io.lowrank.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The README's quick tour runs as written, so the README cannot drift from the code: the fenced
 * {@code bash} block right after the line {@code <!-- quick-tour -->} is read, and each of its
 * {@code bin/lowrank ...} commands runs in order through bin/lowrank (a fresh JVM each, as a user
 * types them) in one working directory, each expected to exit 0. Three changes keep it short and
 * offline: every {@code --steps N} becomes {@code --steps max(2, ceil(N/100))} (which keeps their
 * order, so an extension stays an extension); a {@code train} that names no data gets
 * {@code --corpus} a small generated corpus (the demo corpus needs apt); {@code --master} is
 * {@code local[2]} unless given.
 */
class QuickTourTest {
    static final String MARKER = "<!-- quick-tour -->";

    static Path root() {
        return Path.of(System.getProperty("lowrank.conf.dir")).toAbsolutePath().normalize().getParent();
    }

    /** The commands of the quick-tour block: continuation lines joined, comments and blank lines dropped. */
    static List<String> quickTour(String readme) {
        List<String> lines = readme.lines().toList();
        int at = lines.indexOf(MARKER);
        if (at < 0) fail("README.md has no line '" + MARKER + "' followed by a ```bash block: the quick tour this test runs");
        int open = at + 1;
        while (open < lines.size() && lines.get(open).isBlank()) open++;
        if (open >= lines.size() || !lines.get(open).trim().equals("```bash")) {
            fail("README.md: the line after '" + MARKER + "' must open a ```bash block, found: "
                    + (open < lines.size() ? lines.get(open) : "the end of the file"));
        }
        List<String> commands = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = open + 1; ; i++) {
            if (i >= lines.size()) fail("README.md: the quick-tour ```bash block is not closed");
            String l = lines.get(i);
            if (l.trim().equals("```")) break;
            String t = l.strip();
            if (cur.length() == 0 && (t.isEmpty() || t.startsWith("#"))) continue;
            boolean more = t.endsWith("\\");
            cur.append((more ? t.substring(0, t.length() - 1) : t).strip()).append(' ');
            if (!more) {
                commands.add(cur.toString().trim());
                cur.setLength(0);
            }
        }
        return commands;
    }

    private static final Pattern STEPS = Pattern.compile("--steps[ =](\\d+)");

    static String shorten(String command, Path corpus) {
        Matcher m = STEPS.matcher(command);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            long n = Long.parseLong(m.group(1));
            m.appendReplacement(sb, "--steps " + Math.max(2, (n + 99) / 100));
        }
        m.appendTail(sb);
        String c = sb.toString();
        boolean train = c.matches("bin/lowrank (train|train-local)\\b.*") && !c.contains("--help") && !c.matches(".*\\s-h(\\s.*)?");
        if (train && !c.contains("--resume") && !c.contains("--corpus") && !c.contains("--data") && !c.contains("--tokens")) {
            c += " --corpus " + corpus;
        }
        if (c.startsWith("bin/lowrank train ") && train && !c.contains("--master")) c += " --master local[2]";
        return c;
    }

    @Test
    void everyQuickTourCommandRuns(@TempDir Path tmp) throws Exception {
        Path root = root();
        List<String> tour = quickTour(Files.readString(root.resolve("README.md")));
        List<String> lowrank = tour.stream().filter(c -> c.startsWith("bin/lowrank ")).toList();
        assertFalse(lowrank.isEmpty(), "the quick tour has no bin/lowrank command: " + tour);
        Path corpus = corpus(tmp);
        // the tour runs from the repository root, where it reads README.md itself as a text to evaluate
        Files.copy(root.resolve("README.md"), tmp.resolve("README.md"));
        for (String command : lowrank) {
            String run = shorten(command, corpus).replaceFirst("^bin/lowrank", root.resolve("bin/lowrank").toString().replace("\\", "\\\\"));
            ProcessBuilder pb = new ProcessBuilder("bash", "-c", run).directory(tmp.toFile()).redirectErrorStream(true);
            pb.environment().remove("SPARK_HOME");   // as in a user's shell: bin/lowrank sets up its own
            pb.redirectOutput(tmp.resolve("out.log").toFile());
            Process p = pb.start();
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("README quick tour: '" + command + "' (run as '" + run + "') did not finish in 300 s:\n" + tail(tmp.resolve("out.log")));
            }
            String out = Files.readString(tmp.resolve("out.log"), StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), "README quick tour: '" + command + "' (run as '" + run + "') exited " + p.exitValue() + ":\n" + tail(tmp.resolve("out.log")));
            assertFalse(out.isBlank(), command);
            assertFalse(out.contains("NaN"), "README quick tour: '" + command + "' printed NaN:\n" + out);
        }
    }

    @Test
    void theBlockIsFoundAndShortened() {
        String readme = String.join("\n", "# x", MARKER, "```bash", "# a comment", "bin/lowrank train --preset tiny \\",
                "  --steps 400 --run-dir runs/a", "", "bin/lowrank train --resume runs/a --steps 800", "```", "after");
        List<String> c = quickTour(readme);
        assertEquals(List.of("bin/lowrank train --preset tiny --steps 400 --run-dir runs/a", "bin/lowrank train --resume runs/a --steps 800"), c);
        Path corpus = Path.of("/c.txt");
        assertEquals("bin/lowrank train --preset tiny --steps 4 --run-dir runs/a --corpus /c.txt --master local[2]", shorten(c.get(0), corpus));
        assertEquals("bin/lowrank train --resume runs/a --steps 8 --master local[2]", shorten(c.get(1), corpus));
        assertEquals("bin/lowrank train --help", shorten("bin/lowrank train --help", corpus));
        AssertionErrorCheck.failsWith(() -> quickTour("# no tour here"), MARKER);
    }

    /** ~120k tokens: enough that the tiny preset's held-out share fills an evaluation batch (8 x 129 tokens). */
    static Path corpus(Path dir) throws IOException {
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        String[] words = {"the", "model", "learns", "a", "low", "rank", "layer", "on", "spark", "with", "every", "token", "of", "its", "data"};
        StringBuilder sb = new StringBuilder();
        for (int doc = 0; doc < 240; doc++) {
            for (int w = 0; w < 500; w++) sb.append(words[r.nextInt(words.length)]).append(w % 12 == 11 ? ". " : " ");
            sb.append("\n\n");
        }
        Path f = dir.resolve("quick-tour-corpus.txt");
        Files.writeString(f, sb);
        return f;
    }

    private static String tail(Path log) throws IOException {
        String s = Files.readString(log, StandardCharsets.UTF_8);
        return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
    }

    /** assertThrows for the AssertionFailedError that fail() raises, checking its message. */
    static final class AssertionErrorCheck {
        static void failsWith(Runnable r, String text) {
            try {
                r.run();
            } catch (AssertionError e) {
                assertTrue(e.getMessage().contains(text), e.getMessage());
                return;
            }
            fail("expected a failure naming " + text);
        }
    }
}
