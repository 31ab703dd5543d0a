package io.lowrank.k8s;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;

/**
 * A Kubernetes API server on loopback: fabric8's mock (the one stand-in these tests allow, since
 * no cluster can run here) with {@link ApplyAwareDispatcher}. Plain HTTP, no authentication.
 */
final class MockApiServer implements AutoCloseable {
    private final ApplyAwareDispatcher dispatcher;
    private final KubernetesMockServer server;
    private final KubernetesClient client;

    MockApiServer() throws Exception {
        Map<ServerRequest, Queue<ServerResponse>> expectations = new HashMap<>();
        dispatcher = new ApplyAwareDispatcher(expectations);
        server = new KubernetesMockServer(new Context(), new MockWebServer(), expectations, dispatcher, false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        client = server.createClient();
    }

    /** The master URL for spark-submit. */
    String master() {
        return "k8s://http://127.0.0.1:" + server.getPort();
    }

    List<Pod> pods() {
        return client.pods().inNamespace("default").list().getItems();
    }

    List<ConfigMap> configMaps() {
        return client.configMaps().inNamespace("default").list().getItems();
    }

    KubernetesClient client() {
        return client;
    }

    List<ApplyAwareDispatcher.Request> requests() {
        return dispatcher.requests();
    }

    @Override
    public void close() {
        client.close();
        server.destroy();
    }
}
