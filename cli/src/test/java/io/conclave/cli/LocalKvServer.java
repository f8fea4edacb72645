package io.conclave.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small in-memory implementation of SPEC.md's KV contract ({@code /v1/kv/<key>}, Consul's
 * semantics): a real store with indexes, CAS, flags, recurse/keys/separator, tombstones, and
 * blocking queries, so the KV commands are tested against behaviour, not canned answers. It stands
 * in for the daemon's KV endpoints until they land; one monitor guards the state.
 */
final class LocalKvServer implements AutoCloseable {
  static final int VALUE_BYTES_MAX = 512 * 1024;
  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");

  /** One stored key. */
  record Entry(String key, byte[] value, long flags, long createIndex, long modifyIndex) {}

  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "local-kv");
    t.setDaemon(true);
    return t;
  });
  private final TreeMap<String, Entry> entries = new TreeMap<>();
  private final Map<String, Long> tombstones = new HashMap<>(); // key -> index of its deletion
  /**
   * The last applied "Raft" index; starts at 1 as a Raft log does (its first entry is the group's
   * configuration), so the first write is index 2, above the floor of 1 an empty store reports.
   */
  private long index = 1; // invariant: index >= every modifyIndex and tombstone
  private final List<String> requests = new ArrayList<>();

  LocalKvServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
    server.setExecutor(executor);
    server.createContext("/v1/kv/", this::handle);
    server.start();
  }

  String address() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** The request lines seen so far ({@code METHOD raw-path?query}), to check what the CLI sent. */
  synchronized List<String> requests() {
    return List.copyOf(requests);
  }

  synchronized Entry entry(String key) {
    return entries.get(key);
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try {
      String key = exchange.getRequestURI().getPath().substring("/v1/kv/".length());
      Map<String, String> params = params(exchange.getRequestURI().getRawQuery());
      byte[] body = exchange.getRequestBody().readAllBytes();
      synchronized (this) {
        requests.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getRawPath()
            + (exchange.getRequestURI().getRawQuery() == null ? "" : "?" + exchange.getRequestURI().getRawQuery()));
      }
      switch (exchange.getRequestMethod()) {
        case "GET":
          get(exchange, key, params);
          break;
        case "PUT":
          put(exchange, key, params, body);
          break;
        case "DELETE":
          delete(exchange, key, params);
          break;
        default:
          reply(exchange, 405, 0, "text/plain", "method not allowed".getBytes(StandardCharsets.UTF_8));
      }
    } catch (BadRequest e) {
      reply(exchange, e.status, currentIndex(), "text/plain", e.getMessage().getBytes(StandardCharsets.UTF_8));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      exchange.close();
    }
  }

  private static final class BadRequest extends Exception {
    private static final long serialVersionUID = 1L;
    final int status;

    BadRequest(int status, String message) {
      super(message);
      this.status = status;
    }
  }

  /** What a read answers: status, index and body. */
  private record Read(int status, long index, String contentType, byte[] body) {}

  private void get(HttpExchange exchange, String key, Map<String, String> params) throws IOException, BadRequest,
      InterruptedException {
    boolean keys = params.containsKey("keys");
    boolean recurse = params.containsKey("recurse") || keys;
    if (key.isEmpty() && !recurse) {
      throw new BadRequest(400, "Missing key name");
    }
    long minIndex = params.containsKey("index") ? parseLong(params.get("index"), "index") : 0;
    Duration wait = params.containsKey("wait") ? parseWait(params.get("wait")) : Duration.ofMinutes(5);
    long deadline = System.nanoTime() + wait.toNanos();
    Read read;
    synchronized (this) {
      read = read(key, params, keys, recurse);
      while (minIndex > 0 && read.index() <= minIndex) {
        long remainingMs = (deadline - System.nanoTime()) / 1_000_000;
        if (remainingMs <= 0) {
          break;
        }
        wait(remainingMs); // woken by every write
        read = read(key, params, keys, recurse);
      }
    }
    reply(exchange, read.status(), read.index(), read.contentType(), read.body());
  }

  private Read read(String key, Map<String, String> params, boolean keys, boolean recurse) {
    if (!recurse) {
      Entry entry = entries.get(key);
      if (entry == null) {
        return new Read(404, currentIndex(), null, new byte[0]);
      }
      if (params.containsKey("raw")) {
        return new Read(200, entry.modifyIndex(), "text/plain", entry.value());
      }
      ArrayNode array = Http.MAPPER.createArrayNode();
      array.add(json(entry));
      return new Read(200, entry.modifyIndex(), "application/json", array.toString().getBytes(StandardCharsets.UTF_8));
    }
    long max = tombstones.entrySet().stream().filter(t -> t.getKey().startsWith(key))
        .mapToLong(Map.Entry::getValue).max().orElse(0);
    List<Entry> found = new ArrayList<>();
    for (Entry entry : entries.tailMap(key, true).values()) {
      if (!entry.key().startsWith(key)) {
        break;
      }
      found.add(entry);
      max = Math.max(max, entry.modifyIndex());
    }
    long readIndex = key.isEmpty() || max == 0 ? currentIndex() : max;
    ArrayNode array = Http.MAPPER.createArrayNode();
    if (keys) {
      String separator = params.get("separator");
      Set<String> names = new LinkedHashSet<>();
      for (Entry entry : found) {
        int cut = separator == null || separator.isEmpty() ? -1 : entry.key().indexOf(separator, key.length());
        names.add(cut < 0 ? entry.key() : entry.key().substring(0, cut + separator.length()));
      }
      names.forEach(array::add);
    } else {
      found.forEach(e -> array.add(json(e)));
    }
    if (array.isEmpty() && !(keys && key.isEmpty())) {
      return new Read(404, readIndex, null, new byte[0]);
    }
    return new Read(200, readIndex, "application/json", array.toString().getBytes(StandardCharsets.UTF_8));
  }

  private static ObjectNode json(Entry entry) {
    ObjectNode node = Http.MAPPER.createObjectNode();
    node.put("LockIndex", 0);
    node.put("Key", entry.key());
    node.put("Flags", entry.flags());
    if (entry.value().length == 0) {
      node.putNull("Value");
    } else {
      node.put("Value", Base64.getEncoder().encodeToString(entry.value()));
    }
    node.putNull("Session");
    node.put("CreateIndex", entry.createIndex());
    node.put("ModifyIndex", entry.modifyIndex());
    return node;
  }

  private void put(HttpExchange exchange, String key, Map<String, String> params, byte[] value) throws IOException,
      BadRequest {
    checkKey(key);
    if (value.length > VALUE_BYTES_MAX) {
      throw new BadRequest(413, "Request body(" + value.length + " bytes) too large, max size: " + VALUE_BYTES_MAX + " bytes");
    }
    long flags = params.containsKey("flags") ? parseLong(params.get("flags"), "flags") : 0;
    Long cas = params.containsKey("cas") ? parseLong(params.get("cas"), "cas") : null;
    boolean written;
    long replyIndex;
    synchronized (this) {
      Entry existing = entries.get(key);
      boolean casOk = cas == null || (cas == 0 ? existing == null : existing != null && existing.modifyIndex() == cas);
      written = casOk;
      if (casOk) {
        boolean same = existing != null && existing.flags() == flags && java.util.Arrays.equals(existing.value(), value);
        if (!same) {
          index++;
          entries.put(key, new Entry(key, value, flags, existing == null ? index : existing.createIndex(), index));
          tombstones.remove(key);
          notifyAll();
        }
      }
      replyIndex = currentIndex();
    }
    reply(exchange, 200, replyIndex, "application/json", String.valueOf(written).getBytes(StandardCharsets.UTF_8));
  }

  private void delete(HttpExchange exchange, String key, Map<String, String> params) throws IOException, BadRequest {
    boolean recurse = params.containsKey("recurse");
    Long cas = params.containsKey("cas") ? parseLong(params.get("cas"), "cas") : null;
    if (recurse && cas != null) {
      throw new BadRequest(400, "Conflicting flags: recurse and cas");
    }
    if (!recurse) {
      checkKey(key);
    }
    boolean deleted = true;
    long replyIndex;
    synchronized (this) {
      List<String> doomed = new ArrayList<>();
      if (recurse) {
        entries.keySet().stream().filter(k -> k.startsWith(key)).forEach(doomed::add);
      } else {
        Entry existing = entries.get(key);
        if (cas != null) {
          deleted = existing == null || (cas != 0 && existing.modifyIndex() == cas);
        }
        if (existing != null && deleted) {
          doomed.add(key);
        }
      }
      if (!doomed.isEmpty()) {
        index++;
        for (String k : doomed) {
          entries.remove(k);
          tombstones.put(k, index);
        }
        notifyAll();
      }
      replyIndex = currentIndex();
    }
    reply(exchange, 200, replyIndex, "application/json", String.valueOf(deleted).getBytes(StandardCharsets.UTF_8));
  }

  private synchronized long currentIndex() {
    return Math.max(1, index);
  }

  private static void checkKey(String key) throws BadRequest {
    if (key.isEmpty()) {
      throw new BadRequest(400, "Missing key name");
    }
    if (key.startsWith("/")) {
      throw new BadRequest(400, "Key must not begin with a '/'");
    }
    if (key.getBytes(StandardCharsets.UTF_8).length > 512) {
      throw new BadRequest(400, "Key too long");
    }
  }

  private static long parseLong(String text, String name) throws BadRequest {
    try {
      return Long.parseUnsignedLong(text);
    } catch (NumberFormatException e) {
      throw new BadRequest(400, "Invalid " + name + ": " + text);
    }
  }

  private static Duration parseWait(String text) throws BadRequest {
    Matcher m = DURATION.matcher(text);
    if (!m.matches()) {
      throw new BadRequest(400, "Invalid wait time: " + text);
    }
    long n = Long.parseLong(m.group(1));
    Duration d = m.group(2).equals("ms") ? Duration.ofMillis(n) : m.group(2).equals("s") ? Duration.ofSeconds(n)
        : m.group(2).equals("m") ? Duration.ofMinutes(n) : Duration.ofHours(n);
    return d.compareTo(Duration.ofMinutes(10)) > 0 ? Duration.ofMinutes(10) : d;
  }

  private static Map<String, String> params(String rawQuery) {
    Map<String, String> params = new HashMap<>();
    if (rawQuery == null || rawQuery.isEmpty()) {
      return params;
    }
    for (String pair : rawQuery.split("&")) {
      int eq = pair.indexOf('=');
      String name = eq < 0 ? pair : pair.substring(0, eq);
      String value = eq < 0 ? "" : java.net.URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      params.put(name, value);
    }
    return params;
  }

  private static void reply(HttpExchange exchange, int status, long index, String contentType, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("X-Consul-Index", String.valueOf(index));
    exchange.getResponseHeaders().set("X-Consul-KnownLeader", "true");
    exchange.getResponseHeaders().set("X-Consul-LastContact", "0");
    if (contentType != null) {
      exchange.getResponseHeaders().set("Content-Type", contentType);
    }
    exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }
}
