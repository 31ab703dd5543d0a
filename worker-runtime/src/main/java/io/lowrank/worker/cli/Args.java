package io.lowrank.worker.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * --key value command-line options. Every option a command reads must be declared, so that a typo
 * is an error naming the option rather than a silently ignored flag.
 */
public final class Args {
    private final String command;
    private final Map<String, List<String>> values = new LinkedHashMap<>();

    public Args(String command, String[] argv, int from, Set<String> allowed, Set<String> flags) {
        this.command = command;
        for (int i = from; i < argv.length; i++) {
            String a = argv[i];
            if (!a.startsWith("--")) throw new UsageException(command + ": unexpected argument '" + a + "'");
            String key = a.substring(2), value;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            } else if (flags.contains(key)) {
                value = "true";
            } else {
                if (i + 1 >= argv.length) throw new UsageException(command + ": option --" + key + " needs a value");
                value = argv[++i];
            }
            if (!allowed.contains(key) && !flags.contains(key)) {
                throw new UsageException(command + ": unknown option --" + key + " (known: --" + String.join(", --", sorted(allowed, flags)) + ")");
            }
            values.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
        }
    }

    private static List<String> sorted(Set<String> a, Set<String> b) {
        List<String> l = new ArrayList<>(a);
        l.addAll(b);
        l.sort(null);
        return l;
    }

    public String get(String key) {
        List<String> v = values.get(key);
        return v == null ? null : v.get(v.size() - 1);
    }

    public List<String> all(String key) { return values.getOrDefault(key, List.of()); }

    public String required(String key) {
        String v = get(key);
        if (v == null) throw new UsageException(command + ": missing required option --" + key);
        return v;
    }

    public boolean flag(String key) { return "true".equals(get(key)); }

    public int intValue(String key, int dflt) {
        String v = get(key);
        if (v == null) return dflt;
        try {
            return Integer.parseInt(v.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new UsageException(command + ": --" + key + " expects an integer, got '" + v + "'");
        }
    }

    public static final class UsageException extends RuntimeException {
        public UsageException(String m) { super(m); }
    }
}
