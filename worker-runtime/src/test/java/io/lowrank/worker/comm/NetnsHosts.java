package io.lowrank.worker.comm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Test hosts on one machine: one network namespace per worker host plus a "router" namespace, each
 * worker joined to the router by a veth pair on its own /24 of a private subnet
 * ({@code 10.213.<i>.0/24}: router side {@code .1}, worker side {@code .2}). Nothing touches the
 * machine's own namespace: the router forwards between the worker links (ip_forward inside the
 * router namespace only), and a fault proxy runs inside it. {@link #close()} deletes every namespace
 * it made (which deletes their veth pairs), also from a shutdown hook if the test JVM is killed.
 * Needs root and iproute2.
 */
final class NetnsHosts implements AutoCloseable {
    private static final String SUBNET = "10.213";
    private final String prefix;
    private final int hosts;
    private final List<String> created = new ArrayList<>();
    private final Thread cleanupHook;

    /** Why this machine cannot make namespaces (null when it can): the reason for an assumption failure. */
    static String unavailableReason() {
        try {
            if (!"0".equals(run(false, "id", "-u").trim())) return "network namespaces need root (run the tests as root, as CI does)";
            run(false, "ip", "netns", "list");
            return null;
        } catch (IOException | RuntimeException e) {
            return "iproute2 'ip netns' is not usable here: " + e.getMessage();
        }
    }

    NetnsHosts(int hosts) throws IOException {
        this.hosts = hosts;
        this.prefix = "lrt" + Long.toString(ThreadLocalRandom.current().nextLong() & 0xFFFFFFL, 36);
        this.cleanupHook = new Thread(this::deleteAll, "netns-cleanup-" + prefix);
        Runtime.getRuntime().addShutdownHook(cleanupHook);
        try {
            create(router());
            run(true, "ip", "netns", "exec", router(), "ip", "link", "set", "lo", "up");
            run(true, "ip", "netns", "exec", router(), "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
            for (int i = 0; i < hosts; i++) {
                String ns = host(i), r = routerLink(i), h = "h" + prefix.substring(3) + i;
                create(ns);
                run(true, "ip", "link", "add", r, "netns", router(), "type", "veth", "peer", "name", h, "netns", ns);
                run(true, "ip", "netns", "exec", ns, "ip", "link", "set", h, "name", "eth0");
                run(true, "ip", "netns", "exec", router(), "ip", "addr", "add", SUBNET + "." + i + ".1/24", "dev", r);
                run(true, "ip", "netns", "exec", ns, "ip", "addr", "add", address(i) + "/24", "dev", "eth0");
                run(true, "ip", "netns", "exec", router(), "ip", "link", "set", r, "up");
                run(true, "ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up");
                run(true, "ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
                run(true, "ip", "netns", "exec", ns, "ip", "route", "add", "default", "via", gateway(i));
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    String router() { return prefix + "-r"; }
    String host(int i) { return prefix + "-" + i; }
    /** The router's end of worker i's link (an interface in the router namespace). */
    String routerLink(int i) { return "r" + prefix.substring(3) + i; }
    /** Worker i's address. */
    static String address(int i) { return SUBNET + "." + i + ".2"; }
    /** The router's address on worker i's link (where a proxy listens for worker i). */
    static String gateway(int i) { return SUBNET + "." + i + ".1"; }
    int hosts() { return hosts; }

    /** The command prefixed to run inside a namespace. */
    static List<String> inNamespace(String ns, List<String> command) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        c.addAll(command);
        return c;
    }

    void setLink(int i, boolean up) throws IOException {
        run(true, "ip", "netns", "exec", router(), "ip", "link", "set", routerLink(i), up ? "up" : "down");
    }

    /** A token-bucket cap on both directions of worker i's link. */
    void capLink(int i, String rate) throws IOException {
        run(true, "ip", "netns", "exec", router(), "tc", "qdisc", "replace", "dev", routerLink(i), "root", "tbf",
                "rate", rate, "burst", "1mb", "latency", "50ms");
        run(true, "ip", "netns", "exec", host(i), "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf",
                "rate", rate, "burst", "1mb", "latency", "50ms");
    }

    private void create(String ns) throws IOException {
        run(true, "ip", "netns", "add", ns);
        created.add(ns);
    }

    @Override
    public void close() {
        deleteAll();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanupHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or has run
        }
    }

    private synchronized void deleteAll() {
        for (int i = created.size() - 1; i >= 0; i--) {
            try {
                run(true, "ip", "netns", "del", created.get(i));
            } catch (IOException | RuntimeException e) {
                System.err.println("NetnsHosts: could not delete namespace " + created.get(i) + ": " + e.getMessage());
            }
        }
        created.clear();
    }

    static String run(boolean check, String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish in 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", command), e);
        }
        if (p.exitValue() != 0) throw new IOException(String.join(" ", command) + " failed (exit " + p.exitValue() + "): " + out.trim());
        return out;
    }
}
