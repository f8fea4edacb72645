package io.conclave.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.conclave.daemon.config.ConfigLoader;
import io.conclave.daemon.runtime.Daemon;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The daemon as Main builds it serves the replicated KV API: a --dev server writes through Raft. */
class MainKvTest {
  private final HttpClient http = HttpClient.newHttpClient();
  private Daemon daemon;

  @AfterEach
  void stop() {
    if (daemon != null) daemon.stop(Duration.ofSeconds(5));
  }

  private HttpResponse<String> send(String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + daemon.httpPort() + path));
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void devServerServesKvThroughRaft() throws Exception {
    var config = ((ConfigLoader.Run) new ConfigLoader(() -> "kv1")
        .load(new String[] {"--dev", "--http-port", "0", "--gossip-port", "0", "--raft-port", "0"})).config();
    daemon = Main.start(config);
    await().atMost(Duration.ofSeconds(20)).until(() -> send("GET", "/v1/health", null).statusCode() == 200);
    assertThat(send("PUT", "/v1/kv/app%2Fcolor", "blue").body()).isEqualTo("true");
    HttpResponse<String> raw = send("GET", "/v1/kv/app/color?raw", null);
    assertThat(raw.body()).isEqualTo("blue");
    long index = Long.parseLong(raw.headers().firstValue("X-Consul-Index").orElseThrow());
    assertThat(index).isGreaterThan(1);
    assertThat(send("GET", "/v1/kv/app/color?consistent", null).body()).contains("\"Value\":\"Ymx1ZQ==\"");
    assertThat(send("PUT", "/v1/kv/app/color?cas=0", "red").body()).isEqualTo("false");
    assertThat(send("DELETE", "/v1/kv/app/color", null).body()).isEqualTo("true");
    assertThat(send("GET", "/v1/kv/app/color", null).statusCode()).isEqualTo(404);
  }
}
