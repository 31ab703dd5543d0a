package io.lowrank.spark.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The addresses train prints at its start answer as printed (no redirect followed): the UI on the
 * port Spark really bound (spark.ui.port=0 picks a free one), the Prometheus metrics and the REST
 * API of this application.
 */
class SparkUrlsTest {
    @Test
    void printedAddressesAnswer() throws Exception {
        System.setProperty("spark.ui.enabled", "true");
        System.setProperty("spark.ui.port", "0");
        SparkSession spark = SparkSetup.session("urls-test", "local[1]", 1, 60);
        try {
            SparkSetup.Urls u = SparkSetup.urls(spark.sparkContext()).orElseThrow();
            assertTrue(URI.create(u.ui()).getPort() > 0, u.toString());
            assertEquals(spark.sparkContext().uiWebUrl().get(), u.ui());
            assertTrue(u.line().contains(u.ui()) && u.line().contains(u.prometheus()) && u.line().contains(u.rest()), u.line());
            JsonNode app = new ObjectMapper().readTree(get(u.rest()));
            assertEquals(spark.sparkContext().applicationId(), app.get("id").asText(), app.toString());
            String prom = get(u.prometheus());
            assertTrue(prom.contains("LowrankPlugin_step_Value"), "the plugin's gauges at " + u.prometheus() + ":\n" + prom);
            assertTrue(get(u.ui() + "/jobs/").contains("Spark Jobs"));
        } finally {
            spark.stop();
            System.clearProperty("spark.ui.enabled");
            System.clearProperty("spark.ui.port");
        }
        assertTrue(SparkSetup.urls(SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false")
                .getOrCreate().sparkContext()).isEmpty());
        SparkSession.active().stop();
    }

    private static String get(String url) throws Exception {
        HttpResponse<String> r = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build()
                .send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), url + " -> " + r.statusCode() + " " + r.headers().map() + " " + r.body());
        return r.body();
    }
}
