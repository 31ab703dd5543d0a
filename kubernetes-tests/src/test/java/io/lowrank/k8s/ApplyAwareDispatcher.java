package io.lowrank.k8s;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.Headers;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.regex.Pattern;

/**
 * The mock API server's dispatcher, closer to a real API server than fabric8's CRUD mode in the
 * three ways Spark's submission needs (measured: ../shared/spec/cluster.md):
 * <ol>
 *   <li>registered expectations are answered first, then the CRUD store (fabric8's mixed mode);</li>
 *   <li>a server-side-apply PATCH ({@code application/apply-patch+yaml}, which Spark 4.2 uses for the
 *       driver's Service, ConfigMaps and NetworkPolicy) is create-or-merge: a POST to the collection
 *       when the object is missing, a JSON merge patch when it exists (fabric8 sends JSON bodies
 *       under the YAML content type); the CRUD mock alone answers 404;</li>
 *   <li>a created pod gets {@code status.phase: Pending}, as the API server's defaulting gives it;
 *       Spark's executor pod snapshots in client mode fail on a pod without a phase.</li>
 * </ol>
 * Every request is recorded with its body before it is dispatched (the CRUD handlers drain the body).
 */
final class ApplyAwareDispatcher extends Dispatcher {
    /** One request as the client sent it. */
    record Request(String method, String path, String contentType, String body) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern POD_COLLECTION = Pattern.compile("/api/v1/namespaces/[^/]+/pods");

    private final KubernetesMixedDispatcher store;
    private final List<Request> requests = new ArrayList<>();

    ApplyAwareDispatcher(Map<ServerRequest, Queue<ServerResponse>> expectations) {
        this.store = new KubernetesMixedDispatcher(expectations);
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) {
        String body = request.getBody() == null ? "" : new String(request.getBody().getBytes(), StandardCharsets.UTF_8);
        String contentType = request.getHeader("Content-Type");
        synchronized (requests) {
            requests.add(new Request(request.getMethod(), request.getPath(), contentType, body));
        }
        if ("PATCH".equals(request.getMethod()) && contentType != null && contentType.startsWith("application/apply-patch")) {
            return apply(request, body);
        }
        if ("POST".equals(request.getMethod()) && POD_COLLECTION.matcher(withoutQuery(request.getPath())).matches()) {
            return store.dispatch(copy(request, HttpMethod.POST, request.getPath(), contentType, pending(body)));
        }
        return store.dispatch(copy(request, HttpMethod.valueOf(request.getMethod()), request.getPath(), contentType, body));
    }

    /** Server-side apply as create-or-merge: enough for objects that one field manager (Spark) owns. */
    private MockResponse apply(RecordedRequest request, String body) {
        String path = withoutQuery(request.getPath());
        MockResponse existing = store.dispatch(copy(request, HttpMethod.GET, path, null, ""));
        if (existing.code() == 404) {
            String collection = path.substring(0, path.lastIndexOf('/'));
            return store.dispatch(copy(request, HttpMethod.POST, collection, "application/json", body));
        }
        return store.dispatch(copy(request, HttpMethod.PATCH, path, "application/merge-patch+json", body));
    }

    private static String pending(String podJson) {
        try {
            ObjectNode pod = (ObjectNode) JSON.readTree(podJson);
            if (!pod.path("status").has("phase")) pod.putObject("status").put("phase", "Pending");
            return JSON.writeValueAsString(pod);
        } catch (IOException e) {
            throw new UncheckedIOException("pod body is not JSON: " + podJson, e);
        }
    }

    private static RecordedRequest copy(RecordedRequest original, HttpMethod method, String path, String contentType, String body) {
        Headers.Builder h = original.getHeaders().newBuilder();
        if (contentType != null) h.set("Content-Type", contentType);
        return new RecordedRequest(original.getHttpVersion(), method, path, h.build(), new Buffer(body.getBytes(StandardCharsets.UTF_8)));
    }

    private static String withoutQuery(String path) {
        int q = path.indexOf('?');
        return q < 0 ? path : path.substring(0, q);
    }

    /** The requests so far, in arrival order. */
    List<Request> requests() {
        synchronized (requests) {
            return List.copyOf(requests);
        }
    }

    @Override
    public void shutdown() {
        store.shutdown();
    }
}
