package io.lowrank.worker.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The worker runtime's own command line: every command answers --help and -h (exit 0) naming every
 * option its parser accepts (from picocli's model); {@code train} still names train-local; a
 * repeated option takes its last value and a usage error exits 2 naming the option.
 */
class MainHelpTest {
    private static String[] run(String... argv) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(argv);
            return new String[]{Integer.toString(code), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void everyCommandAnswersHelp() {
        Map<String, CommandLine> commands = Main.commandLine().getSubcommands();
        assertTrue(commands.keySet().containsAll(java.util.List.of("train-local", "train", "eval", "grad", "bench")), commands.keySet().toString());
        for (Map.Entry<String, CommandLine> c : commands.entrySet()) {
            for (String flag : new String[]{"--help", "-h"}) {
                String[] r = run(c.getKey(), flag);
                assertEquals("0", r[0], c.getKey() + " " + flag + ": " + r[2]);
                for (OptionSpec o : c.getValue().getCommandSpec().options()) {
                    assertTrue(r[1].contains(o.longestName()), c.getKey() + " --help lacks " + o.longestName() + ":\n" + r[1]);
                }
            }
        }
    }

    @Test
    void aRepeatedOptionTakesItsLastValue() throws Exception {
        String[] r = run("bench", "--suite", "sgemm", "--size", "64", "--threads", "1", "--steps", "1", "--size=32");
        assertEquals("0", r[0], r[2]);
        String[] lines = r[1].trim().split("\n");
        assertEquals(32, new com.fasterxml.jackson.databind.ObjectMapper().readTree(lines[lines.length - 1]).get("size").asInt(), r[1]);
    }

    @Test
    void usageErrorsExitTwoNamingTheOption() {
        String[] r = run("bench", "--suite", "sgemm", "--size", "64", "--size", "x");
        assertEquals("2", r[0], r[2]);
        assertTrue(r[2].contains("--size") && r[2].contains("'x'"), r[2]);
        String[] s = run("bench", "--suite", "sgem");
        assertEquals("2", s[0], s[2]);
        assertTrue(s[2].contains("--suite 'sgem'"), s[2]);
        String[] t = run("train", "--preset", "tiny", "--set", "train.steps");
        assertEquals("2", t[0], t[2]);
        assertTrue(t[2].contains("--set expects KEY=VALUE"), t[2]);
    }
}
