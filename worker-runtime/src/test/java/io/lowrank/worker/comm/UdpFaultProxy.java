package io.lowrank.worker.comm;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * A UDP relay that loses, delays and reorders packets, for hosts whose kernel has no netem qdisc.
 * Each link {@code listen -> target}: datagrams arriving at {@code listen} from a client are sent
 * on to {@code target} from a socket of their own (one per client), and the target's replies
 * (Aeron status messages and NAKs) go back to the client from {@code listen}, so both ends see an
 * ordinary peer. Every datagram, either way, is dropped with probability {@code loss} or held for
 * {@code delay +- jitter} ms; jitter larger than the gap between datagrams reorders them. One
 * thread, no allocation per packet beyond the held copy. Runs until stdin closes, then prints its
 * counts on stdout ("STATS forwarded=.. dropped=.. reordered=..").
 *
 * <pre>java ... UdpFaultProxy --loss 0.01 --delay-ms 5 --jitter-ms 3 --seed 7 --link 10.0.0.1:4000=10.0.1.2:5000 ...</pre>
 */
public final class UdpFaultProxy {
    private record Held(long dueNanos, long arrival, byte[] bytes, DatagramChannel via, SocketAddress to) {}

    private record Back(DatagramChannel front, SocketAddress client) {}

    private final double loss;
    private final long delayNanos, jitterNanos;
    private final SplittableRandom random;
    private final Selector selector;
    private final PriorityQueue<Held> held = new PriorityQueue<>((a, b) -> Long.compare(a.dueNanos, b.dueNanos));
    private final Map<DatagramChannel, InetSocketAddress> targetOfFront = new HashMap<>();
    private final Map<DatagramChannel, Map<SocketAddress, DatagramChannel>> backsOfFront = new HashMap<>();
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(65536);
    private long forwarded, dropped, reordered, arrivals, lastSentArrival = -1;

    UdpFaultProxy(double loss, double delayMs, double jitterMs, long seed) throws IOException {
        this.loss = loss;
        this.delayNanos = (long) (delayMs * 1e6);
        this.jitterNanos = (long) (jitterMs * 1e6);
        this.random = new SplittableRandom(seed);
        this.selector = Selector.open();
    }

    void addLink(InetSocketAddress listen, InetSocketAddress target) throws IOException {
        DatagramChannel front = DatagramChannel.open().bind(listen);
        front.configureBlocking(false);
        front.register(selector, SelectionKey.OP_READ, null);
        targetOfFront.put(front, target);
        backsOfFront.put(front, new HashMap<>());
    }

    void run() throws IOException {
        Thread stdinWatch = new Thread(() -> {
            try {
                while (System.in.read() >= 0) { /* the parent keeps stdin open while it needs us */ }
            } catch (IOException ignored) {
                // closed
            }
            selector.wakeup();
            Thread.currentThread().interrupt();
            synchronized (this) { stop = true; }
        }, "stdin-watch");
        stdinWatch.setDaemon(true);
        stdinWatch.start();
        System.out.println("READY");
        System.out.flush();
        while (!stopped()) {
            long now = System.nanoTime();
            sendDue(now);
            long waitMs = held.isEmpty() ? 100 : Math.max(1, (held.peek().dueNanos - now) / 1_000_000);
            selector.select(Math.min(waitMs, 100));
            for (SelectionKey key : selector.selectedKeys()) receive(key);
            selector.selectedKeys().clear();
        }
        System.out.println("STATS forwarded=" + forwarded + " dropped=" + dropped + " reordered=" + reordered);
        System.out.flush();
    }

    private boolean stop;

    private synchronized boolean stopped() { return stop; }

    private void receive(SelectionKey key) throws IOException {
        DatagramChannel ch = (DatagramChannel) key.channel();
        while (true) {
            buffer.clear();
            SocketAddress from = ch.receive(buffer);
            if (from == null) return;
            buffer.flip();
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            Back back = (Back) key.attachment();
            if (back == null) {   // client -> target through this client's own back socket
                hold(bytes, backFor(ch, from), targetOfFront.get(ch));
            } else {              // target -> client, from the front the client knows
                hold(bytes, back.front, back.client);
            }
        }
    }

    private DatagramChannel backFor(DatagramChannel front, SocketAddress client) throws IOException {
        Map<SocketAddress, DatagramChannel> backs = backsOfFront.get(front);
        DatagramChannel back = backs.get(client);
        if (back == null) {
            InetSocketAddress local = (InetSocketAddress) front.getLocalAddress();
            back = DatagramChannel.open().bind(new InetSocketAddress(local.getAddress(), 0));
            back.configureBlocking(false);
            back.register(selector, SelectionKey.OP_READ, new Back(front, client));
            backs.put(client, back);
        }
        return back;
    }

    private void hold(byte[] bytes, DatagramChannel via, SocketAddress to) {
        long arrival = arrivals++;
        if (random.nextDouble() < loss) {
            dropped++;
            return;
        }
        long jitter = jitterNanos == 0 ? 0 : random.nextLong(-jitterNanos, jitterNanos + 1);
        held.add(new Held(System.nanoTime() + Math.max(0, delayNanos + jitter), arrival, bytes, via, to));
    }

    private void sendDue(long now) throws IOException {
        while (!held.isEmpty() && held.peek().dueNanos <= now) {
            Held h = held.poll();
            try {
                h.via.send(ByteBuffer.wrap(h.bytes), h.to);
            } catch (IOException unreachable) {
                dropped++;   // a link that is down: the datagram is lost, as on a real network
                continue;
            }
            forwarded++;
            if (h.arrival < lastSentArrival) reordered++;
            lastSentArrival = Math.max(lastSentArrival, h.arrival);
        }
    }

    public static void main(String[] args) throws Exception {
        double loss = 0, delay = 0, jitter = 0;
        long seed = 1;
        List<String[]> links = new ArrayList<>();
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--loss" -> loss = Double.parseDouble(args[i + 1]);
                case "--delay-ms" -> delay = Double.parseDouble(args[i + 1]);
                case "--jitter-ms" -> jitter = Double.parseDouble(args[i + 1]);
                case "--seed" -> seed = Long.parseLong(args[i + 1]);
                case "--link" -> links.add(args[i + 1].split("="));
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        UdpFaultProxy proxy = new UdpFaultProxy(loss, delay, jitter, seed);
        for (String[] l : links) proxy.addLink(address(l[0]), address(l[1]));
        proxy.run();
    }

    static InetSocketAddress address(String hostPort) {
        int c = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, c), Integer.parseInt(hostPort.substring(c + 1)));
    }
}
