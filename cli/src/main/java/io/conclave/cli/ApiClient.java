package io.conclave.cli;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * The daemon's HTTP API over {@code java.net.http} (HTTP/1.1, no Vert.x: the CLI must start fast).
 *
 * <p>Every transport failure becomes a {@link CliException} with exit code 3 that names the address
 * and what to try; HTTP error statuses are returned as they are, for the command to judge.
 */
public final class ApiClient {
  /** How long to wait for a TCP connection: a blackholed address fails after this. */
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
  /** How long an ordinary (non-blocking) request may take. */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(15);

  /** One answer: status, headers and the raw body. */
  public record Response(int status, HttpHeaders headers, byte[] body) {
    public String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    public boolean ok() {
      return status >= 200 && status < 300;
    }

    /** {@code X-Consul-Index}; 0 when missing or not a number (as Consul's clients read it). */
    public long index() {
      return headers.firstValue("X-Consul-Index").map(ApiClient::parseIndex).orElse(0L);
    }

    /** The error line for a non-2xx answer: the status and the daemon's plain-text reason. */
    public String describe() {
      String reason = text().strip().lines().findFirst().orElse("");
      return "the daemon answered " + status + (reason.isEmpty() ? "" : ": " + reason);
    }
  }

  private final URI base;
  private final HttpClient http;

  public ApiClient(URI base) {
    this.base = base;
    HttpClient.Builder builder = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1) // no h2c upgrade round trip
        .connectTimeout(CONNECT_TIMEOUT)
        .followRedirects(HttpClient.Redirect.NEVER);
    if ("http".equalsIgnoreCase(base.getScheme())) {
      skipTlsSetup(builder);
    }
    this.http = builder.build();
  }

  /**
   * Without an SSLContext, HttpClient builds the JDK's default one at once: the security providers,
   * the JSSE stack, the cacerts trust store: about 450 classes and a third of the CLI's CPU time.
   * Even {@code SSLContext.getInstance} initialises the providers. A plain-http client never uses
   * TLS (every request goes to {@code base}, redirects are off), so it gets {@link NoTls}, a context
   * that refuses to be used and costs nothing to make.
   */
  private static void skipTlsSetup(HttpClient.Builder builder) {
    builder.sslContext(new NoTls()).sslParameters(new SSLParameters());
  }

  /** An SSLContext for clients that only speak plain HTTP: any use of it fails. */
  static final class NoTls extends SSLContext {
    NoTls() {
      super(new Spi(), null, "none");
    }

    private static final class Spi extends SSLContextSpi {
      private static UnsupportedOperationException refused() {
        return new UnsupportedOperationException("TLS is not set up for a plain http:// address");
      }

      @Override
      protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom random) {
        throw refused();
      }

      @Override
      protected SSLSocketFactory engineGetSocketFactory() {
        throw refused();
      }

      @Override
      protected SSLServerSocketFactory engineGetServerSocketFactory() {
        throw refused();
      }

      @Override
      protected SSLEngine engineCreateSSLEngine() {
        throw refused();
      }

      @Override
      protected SSLEngine engineCreateSSLEngine(String host, int port) {
        throw refused();
      }

      @Override
      protected SSLSessionContext engineGetServerSessionContext() {
        throw refused();
      }

      @Override
      protected SSLSessionContext engineGetClientSessionContext() {
        throw refused();
      }
    }
  }

  /**
   * Ends every HttpClient selector thread of this process; for {@code main}, just before it exits.
   *
   * <p>Why: JDK 17's HttpClient has no {@code close()} (JDK 21 added one), and its selector thread
   * waits in native code (epoll) until the client is garbage collected. HotSpot's exit waits up to
   * 300 ms for threads running native code to stop (VM_Exit::wait_for_threads_in_native_to_block),
   * and that was a third of a {@code members} run here. An interrupt ends the selector's loop (it
   * closes its connections on the way out), and exit then takes a few ms. Never call this while
   * a client is still in use: it stops them all.
   */
  public static void stopSelectorThreads() {
    ThreadGroup group = Thread.currentThread().getThreadGroup();
    Thread[] threads = new Thread[group.activeCount() + 16];
    int count = group.enumerate(threads);
    for (int i = 0; i < count; i++) {
      String name = threads[i].getName();
      if (name.startsWith("HttpClient-") && name.endsWith("-SelectorManager")) {
        threads[i].interrupt();
        try {
          threads[i].join(SELECTOR_STOP_WAIT_MS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** How long {@link #stopSelectorThreads} waits for each thread (it stops in about 1 ms). */
  static final long SELECTOR_STOP_WAIT_MS = 200;

  public URI base() {
    return base;
  }

  public Response get(String pathAndQuery) {
    return send("GET", pathAndQuery, null, REQUEST_TIMEOUT);
  }

  public Response put(String pathAndQuery, byte[] body) {
    return send("PUT", pathAndQuery, body, REQUEST_TIMEOUT);
  }

  public Response delete(String pathAndQuery) {
    return send("DELETE", pathAndQuery, null, REQUEST_TIMEOUT);
  }

  /** Sends and waits; {@code timeout} bounds the whole exchange (blocking queries pass a longer one). */
  public Response send(String method, String pathAndQuery, byte[] body, Duration timeout) {
    try {
      return await(sendAsync(method, pathAndQuery, body, timeout));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.FAILED, "interrupted");
    }
  }

  /** Starts a GET; {@link #await} its answer. Lets a command ask several things at once. */
  public CompletableFuture<HttpResponse<byte[]>> getAsync(String pathAndQuery) {
    return sendAsync("GET", pathAndQuery, null, REQUEST_TIMEOUT);
  }

  /** Starts any request; {@link #await} its answer. {@code timeout} bounds the whole exchange. */
  public CompletableFuture<HttpResponse<byte[]>> sendAsync(String method, String pathAndQuery, byte[] body,
      Duration timeout) {
    HttpRequest request = HttpRequest.newBuilder(base.resolve(pathAndQuery))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body))
        .timeout(timeout)
        .build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray());
  }

  /** Waits for an answer started by {@link #getAsync}; transport failures become exit code 3. */
  public Response await(CompletableFuture<HttpResponse<byte[]>> pending) throws InterruptedException {
    try {
      HttpResponse<byte[]> response = pending.get();
      return new Response(response.statusCode(), response.headers(), response.body());
    } catch (ExecutionException | CompletionException e) {
      throw unreachable(e.getCause() == null ? e : e.getCause());
    }
  }

  /** The one line for a daemon that could not be reached, with what to try. */
  CliException unreachable(Throwable cause) {
    String why;
    if (cause instanceof HttpConnectTimeoutException) {
      why = "no connection within " + CONNECT_TIMEOUT.toSeconds() + " s";
    } else if (cause instanceof HttpTimeoutException) {
      why = "no answer in time";
    } else if (cause instanceof ConnectException || hasCause(cause, ConnectException.class)) {
      why = "connection refused";
    } else if (hasCause(cause, UnresolvedAddressException.class)) {
      why = "unknown host " + base.getHost();
    } else if (cause instanceof IOException) {
      why = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    } else {
      why = cause.toString();
    }
    return new CliException(ExitCodes.UNREACHABLE, "cannot reach the daemon at " + base + " (" + why + "): "
        + "is conclaved running there? Start one with bin/conclaved --dev, or point --http-addr or "
        + "CONCLAVE_HTTP_ADDR at a running daemon");
  }

  private static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  static long parseIndex(String value) {
    try {
      return Long.parseUnsignedLong(value.strip());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /**
   * A KV key as a path: each byte outside RFC 3986's unreserved set and {@code /} is
   * percent-encoded (UTF-8), so spaces, {@code ?}, {@code #} and {@code %} survive the trip.
   */
  public static String encodeKey(String key) {
    StringBuilder out = new StringBuilder(key.length() + 8);
    for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      boolean plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
      if (plain) {
        out.append((char) c);
      } else {
        out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return out.toString();
  }
}
