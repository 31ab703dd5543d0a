package io.lowrank.spark.cli;

import io.lowrank.spark.SparkMain;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The help of bin/lowrank is generated from the parser's own model, so it cannot drift: every command
 * answers --help and -h with exit code 0 on stdout; the help names every option the parser accepts
 * (read from picocli's model of the command, not from a list kept here), each with a description
 * that gives its default or says it is required; the top-level usage lists every command; no
 * arguments, an unknown command and an unknown option are usage errors (exit 2) that name what was wrong.
 */
class CommandLineHelpTest {
    record Run(int code, String out, String err) {}

    static Run run(String... argv) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = SparkMain.run(argv);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void everyCommandAnswersHelpWithEveryOptionItsParserAccepts() {
        Map<String, CommandLine> commands = SparkMain.commandLine().getSubcommands();
        assertTrue(commands.keySet().containsAll(List.of("train", "prepare", "train-local", "eval", "grad", "bench")), commands.keySet().toString());
        for (Map.Entry<String, CommandLine> c : commands.entrySet()) {
            CommandSpec spec = c.getValue().getCommandSpec();
            assertTrue(spec.options().size() > 1, c.getKey() + " has options besides --help");
            for (String flag : List.of("--help", "-h")) {
                Run r = run(c.getKey(), flag);
                assertEquals(0, r.code(), c.getKey() + " " + flag + ": " + r.err());
                assertFalse(r.err().contains("picocli WARN"), c.getKey() + " help could not be formatted: " + r.err());
                assertTrue(r.out().startsWith("Usage: lowrank " + c.getKey()), c.getKey() + " " + flag + ":\n" + r.out());
                for (OptionSpec o : spec.options()) {
                    for (String name : o.names()) {
                        assertTrue(r.out().contains(name), c.getKey() + " --help does not name " + name + ":\n" + r.out());
                    }
                    String description = String.join(" ", o.description());
                    assertFalse(description.isBlank(), c.getKey() + " " + o.longestName() + " has no description");
                    assertTrue(o.usageHelp() || o.required() || description.contains("default") || description.contains("required"),
                            c.getKey() + " " + o.longestName() + " says neither its default nor that it is required: " + description);
                    // the one line in the help is the option's own description, with ${DEFAULT-VALUE} filled in
                    String firstWords = description.replace("${DEFAULT-VALUE}", String.valueOf(o.defaultValue())).split(" \\(")[0];
                    assertTrue(r.out().replaceAll("\\s+", " ").contains(firstWords), c.getKey() + " " + o.longestName() + ": " + firstWords);
                }
            }
        }
    }

    @Test
    void topLevelUsageListsEveryCommand() {
        Run help = run("--help");
        assertEquals(0, help.code(), help.err());
        for (String command : SparkMain.commandLine().getSubcommands().keySet()) {
            assertTrue(help.out().contains("  " + command + " "), "usage does not list " + command + ":\n" + help.out());
        }
        Run none = run();
        assertEquals(2, none.code());
        assertTrue(none.err().contains("Commands:") && none.err().contains("train-local"), none.err());
    }

    @Test
    void unknownCommandsAndOptionsAreUsageErrorsNamingThem() {
        Run cmd = run("trian", "--steps", "3");
        assertEquals(2, cmd.code());
        assertTrue(cmd.err().contains("trian"), cmd.err());
        // eval and grad get their required options: picocli reports missing ones first
        String[] required = {"--model", "m", "--tokens", "t", "--seq-len", "4", "--out", "o"};
        for (String command : List.of("train", "train-local", "eval", "grad", "bench", "prepare")) {
            List<String> argv = new java.util.ArrayList<>(List.of(command, "--stepz", "3"));
            if (command.equals("eval")) argv.addAll(List.of(required).subList(0, 6));
            if (command.equals("grad")) argv.addAll(List.of(required));
            Run r = run(argv.toArray(new String[0]));
            assertEquals(2, r.code(), command + ": " + r.err());
            assertTrue(r.err().contains("--stepz"), command + ": " + r.err());
        }
        Run bad = run("train", "--preset", "tiny", "--steps", "many");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--steps") && bad.err().contains("many"), bad.err());
        Run suite = run("bench", "--suite", "allreduce", "--preset", "tiny");
        assertEquals(2, suite.code());
        assertTrue(suite.err().contains("--preset does not apply to --suite allreduce"), suite.err());
        Run missing = run("grad", "--model", "m", "--tokens", "t", "--seq-len", "4");
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("--out"), missing.err());
    }
}
