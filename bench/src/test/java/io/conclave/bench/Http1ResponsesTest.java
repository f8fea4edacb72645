package io.conclave.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class Http1ResponsesTest {
  private static final String CONSUL_PUT = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
      + "X-Consul-Index: 12\r\ncontent-length: 4\r\n\r\ntrue";
  private static final String ETCD_RANGE = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      + "Transfer-Encoding: chunked\r\n\r\n"
      + "a\r\n{\"kvs\":[1]\r\n" + "1;ext=1\r\n}\r\n" + "0\r\nX-Trailer: x\r\n\r\n";
  private static final String NOT_LEADER = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 10\r\n"
      + "Connection: close\r\n\r\nno leader\n";

  @Test
  void everySplitOfThreeResponsesGivesTheSameThreeResponses() throws Exception {
    byte[] stream = (CONSUL_PUT + ETCD_RANGE + NOT_LEADER).getBytes(StandardCharsets.US_ASCII);
    for (int a = 0; a <= stream.length; a++) {
      for (int b = a; b <= stream.length; b += 7) {
        Http1Responses p = new Http1Responses();
        List<Http1Responses.Response> got = new ArrayList<>();
        for (byte[] part : List.of(Arrays.copyOfRange(stream, 0, a), Arrays.copyOfRange(stream, a, b),
            Arrays.copyOfRange(stream, b, stream.length))) {
          p.feed(part);
          for (Http1Responses.Response r = p.next(); r != null; r = p.next()) {
            got.add(r);
          }
        }
        assertThat(got).as("split at %d and %d", a, b).hasSize(3);
        assertThat(got.get(0).status()).isEqualTo(200);
        assertThat(got.get(0).bodyEquals("true".getBytes(StandardCharsets.US_ASCII))).isTrue();
        assertThat(got.get(0).close()).isFalse();
        assertThat(new String(got.get(1).body(), StandardCharsets.US_ASCII)).isEqualTo("{\"kvs\":[1]}");
        assertThat(got.get(1).bodyContains("\"kvs\"".getBytes(StandardCharsets.US_ASCII))).isTrue();
        assertThat(got.get(2).status()).isEqualTo(503);
        assertThat(got.get(2).close()).isTrue();
        assertThat(p.buffered()).isZero();
      }
    }
  }

  @Test
  void anIncompleteBodyWaitsForTheRest() throws Exception {
    Http1Responses p = new Http1Responses();
    p.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfal".getBytes(StandardCharsets.US_ASCII));
    assertThat(p.next()).isNull();
    p.feed("se".getBytes(StandardCharsets.US_ASCII));
    Http1Responses.Response r = p.next();
    assertThat(r).isNotNull();
    assertThat(r.bodyEquals("true".getBytes(StandardCharsets.US_ASCII))).isFalse();
  }

  @Test
  void garbageAndUnframedBodiesAreErrorsNotHangs() {
    Http1Responses junk = new Http1Responses();
    junk.feed("SSH-2.0-OpenSSH\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    assertThatThrownBy(junk::next).isInstanceOf(Http1Responses.MalformedResponse.class).hasMessageContaining("status line");

    Http1Responses unframed = new Http1Responses();
    unframed.feed("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nbody".getBytes(StandardCharsets.US_ASCII));
    assertThatThrownBy(unframed::next).hasMessageContaining("neither Content-Length nor chunked");

    Http1Responses badChunk = new Http1Responses();
    badChunk.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".getBytes(StandardCharsets.US_ASCII));
    assertThatThrownBy(badChunk::next).hasMessageContaining("bad chunk size");

    Http1Responses endless = new Http1Responses();
    endless.feed(("HTTP/1.1 200 OK\r\nX: " + "a".repeat(70_000)).getBytes(StandardCharsets.US_ASCII));
    assertThatThrownBy(endless::next).hasMessageContaining("no end of headers");
  }
}
