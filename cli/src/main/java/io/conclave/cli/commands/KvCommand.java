package io.conclave.cli.commands;

import io.conclave.cli.ApiClient;
import io.conclave.cli.CliException;
import io.conclave.cli.Json;
import io.conclave.cli.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code conclave kv ...}: the key/value store through Consul's {@code /v1/kv/<key>} (SPEC.md).
 * Keys are percent-encoded per byte (see {@link ApiClient#encodeKey}); {@code /} stays a separator.
 */
@Command(name = "kv", description = "Read, write, delete and watch keys of the replicated key/value store.",
    subcommands = {KvCommand.Get.class, KvCommand.Put.class, KvCommand.Delete.class, KvCommand.Watch.class})
public final class KvCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "Missing a subcommand: kv get|put|delete|watch");
  }

  static String path(String key) {
    return "/v1/kv/" + ApiClient.encodeKey(key);
  }

  /** A value as text: the base64 of the API decoded (UTF-8); null/absent is empty. */
  static String value(JsonNode entry) {
    JsonNode value = entry.path("Value");
    if (!value.isTextual()) {
      return "";
    }
    return new String(Base64.getDecoder().decode(value.asText()), StandardCharsets.UTF_8);
  }

  static void requireKey(CommandLine commandLine, String key) {
    if (key == null || key.isEmpty()) {
      throw new ParameterException(commandLine, "Missing required parameter: 'KEY'");
    }
    if (key.startsWith("/")) {
      throw new ParameterException(commandLine, "KEY must not start with '/': '" + key + "'");
    }
  }

  /**
   * {@code kv get KEY}: the value, then a newline. {@code --recurse}: {@code key:value} lines for
   * every key under the prefix; {@code --keys}: the names only (collapsed at {@code --separator}).
   * A missing key is an error (exit 1); an empty prefix prints nothing. JSON: the API's array.
   */
  @Command(name = "get", description = "Print a key's value; --recurse: key:value for every key under a prefix; --keys: key names.")
  public static final class Get extends ApiCommand {
    @Parameters(index = "0", arity = "0..1", paramLabel = "KEY", description = "The key, or the prefix with --recurse/--keys (default: all keys).")
    String key = "";

    @Option(names = "--recurse", description = "Every key under the prefix KEY, as key:value lines.")
    boolean recurse;

    @Option(names = "--keys", description = "Only the key names under the prefix KEY.")
    boolean keys;

    @Option(names = "--separator", paramLabel = "SEP", description = "With --keys: list only up to the next SEP (e.g. /), like directories.")
    String separator;

    @Override
    public Integer call() {
      if (recurse && keys) {
        throw new ParameterException(spec.commandLine(), "--recurse and --keys cannot be combined");
      }
      if (separator != null && !keys) {
        throw new ParameterException(spec.commandLine(), "--separator needs --keys");
      }
      if (!recurse && !keys) {
        requireKey(spec.commandLine(), key);
      }
      String query = recurse ? "?recurse" : keys ? "?keys" + (separator == null ? "" : "&separator=" + ApiClient.encodeKey(separator)) : "";
      ApiClient.Response response = api().get(path(key) + query);
      if (response.status() == 404) {
        if (!recurse && !keys) {
          throw CliException.failed("key \"" + key + "\" not found");
        }
        if (json()) {
          out().println("[]");
          out().flush();
        }
        return 0;
      }
      require(response);
      if (json()) {
        printBody(response);
        return 0;
      }
      JsonNode body = Json.parse(response, "GET " + path(key));
      PrintWriter out = out();
      for (JsonNode entry : body) {
        if (keys) {
          out.println(entry.asText());
        } else if (recurse) {
          out.println(entry.path("Key").asText() + ":" + value(entry));
        } else {
          out.println(value(entry));
        }
      }
      out.flush();
      return 0;
    }
  }

  /**
   * {@code kv put KEY VALUE|-}: writes the value ({@code -}: all of standard input, as bytes).
   * {@code --cas N} writes only if the key's ModifyIndex is N (0: only if absent); a lost CAS is
   * exit 1. {@code --flags N} stores an opaque number with the value.
   */
  @Command(name = "put", description = "Write a value (- reads it from standard input); --cas for check-and-set.")
  public static final class Put extends ApiCommand {
    @Parameters(index = "0", paramLabel = "KEY", description = "The key.")
    String key;

    @Parameters(index = "1", paramLabel = "VALUE", description = "The value; - reads standard input (bytes as they are).")
    String value;

    @Option(names = "--cas", paramLabel = "INDEX", description = "Write only if the key's ModifyIndex is INDEX (0: only if the key is absent).")
    Long cas;

    @Option(names = "--flags", paramLabel = "N", description = "An opaque unsigned number stored with the value.")
    Long flags;

    @Override
    public Integer call() throws IOException {
      requireKey(spec.commandLine(), key);
      nonNegative("--cas", cas);
      nonNegative("--flags", flags);
      byte[] body = "-".equals(value) ? cli().stdin().readAllBytes() : value.getBytes(StandardCharsets.UTF_8);
      List<String> params = new ArrayList<>();
      if (cas != null) {
        params.add("cas=" + cas);
      }
      if (flags != null) {
        params.add("flags=" + flags);
      }
      String query = params.isEmpty() ? "" : "?" + String.join("&", params);
      ApiClient.Response response = require(api().put(path(key) + query, body));
      boolean written = Json.parse(response, "PUT " + path(key)).asBoolean(false);
      if (json()) {
        printBody(response);
      }
      if (!written) {
        throw CliException.failed("did not write \"" + key + "\": "
            + (cas == null ? "the daemon refused" : cas == 0 ? "check-and-set failed, the key exists" : "check-and-set failed, its ModifyIndex is not " + cas));
      }
      if (!json()) {
        out().println("Success! Data written to: " + key);
        out().flush();
      }
      return 0;
    }

    private void nonNegative(String option, Long number) {
      if (number != null && number < 0) {
        throw new ParameterException(spec.commandLine(), option + " must be 0 or more, not " + number);
      }
    }
  }

  /** {@code kv delete KEY}: deletes a key; {@code --recurse} every key under the prefix; {@code --cas N} only at ModifyIndex N. */
  @Command(name = "delete", description = "Delete a key; --recurse: every key under the prefix; --cas: only at that ModifyIndex.")
  public static final class Delete extends ApiCommand {
    @Parameters(index = "0", paramLabel = "KEY", description = "The key, or the prefix with --recurse.")
    String key;

    @Option(names = "--recurse", description = "Delete every key under the prefix KEY.")
    boolean recurse;

    @Option(names = "--cas", paramLabel = "INDEX", description = "Delete only if the key's ModifyIndex is INDEX.")
    Long cas;

    @Override
    public Integer call() {
      requireKey(spec.commandLine(), key);
      if (recurse && cas != null) {
        throw new ParameterException(spec.commandLine(), "--recurse and --cas cannot be combined");
      }
      if (cas != null && cas < 0) {
        throw new ParameterException(spec.commandLine(), "--cas must be 0 or more, not " + cas);
      }
      String query = recurse ? "?recurse" : cas != null ? "?cas=" + cas : "";
      ApiClient.Response response = require(api().delete(path(key) + query));
      boolean deleted = Json.parse(response, "DELETE " + path(key)).asBoolean(false);
      if (json()) {
        printBody(response);
      }
      if (!deleted) {
        throw CliException.failed("did not delete \"" + key + "\": check-and-set failed, its ModifyIndex is not " + cas);
      }
      if (!json()) {
        out().println(recurse ? "Success! Deleted keys with prefix: " + key : "Success! Deleted key: " + key);
        out().flush();
      }
      return 0;
    }
  }

  /**
   * {@code kv watch KEY}: prints the key's value, then every change as it happens, until
   * interrupted (Ctrl-C; exit 130). Blocking queries ({@code ?index=N&wait=D}): the index is reset to
   * 0 when it goes backwards (a snapshot restore, the key deleted) and kept at 1 or more after an
   * answer; an answer that changes nothing prints nothing and, if it came back at once, the next
   * query is paced (100 ms doubling to 5 s) so a misbehaving server cannot make a busy loop.
   *
   * <p>Table output, one line per change: {@code <ModifyIndex>  <key>  <value>}, or
   * {@code <index>  <key>  (absent)}. JSON: one line per change, the API's array ({@code []} when absent).
   */
  @Command(name = "watch", description = "Print a key's value and then each change as it happens, until interrupted (Ctrl-C).")
  public static final class Watch extends ApiCommand {
    static final long PACE_MS_MIN = 100;
    static final long PACE_MS_MAX = 5_000;
    static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");

    @Parameters(index = "0", paramLabel = "KEY", description = "The key to watch.")
    String key;

    @Option(names = "--wait", paramLabel = "DURATION", description = "How long each blocking query may wait (Go syntax: 30s, 5m; at most 10m). Default: ${DEFAULT-VALUE}.")
    String wait = "5m";

    @Override
    public Integer call() {
      requireKey(spec.commandLine(), key);
      Duration waitDuration = parseWait(wait);
      Duration timeout = waitDuration.plus(waitDuration.dividedBy(16)).plusSeconds(10);
      ApiClient api = api();
      long index = 0;
      byte[] shown = null;
      int shownStatus = -1;
      long paceMs = 0;
      try {
        while (!Thread.currentThread().isInterrupted()) {
          if (paceMs > 0) {
            TimeUnit.MILLISECONDS.sleep(paceMs);
          }
          String query = index == 0 ? "" : "?index=" + index + "&wait=" + wait;
          long started = System.nanoTime();
          CompletableFuture<HttpResponse<byte[]>> pending = api.sendAsync("GET", path(key) + query, null, timeout);
          ApiClient.Response response;
          try {
            response = api.await(pending);
          } catch (InterruptedException e) {
            pending.cancel(true);
            throw e;
          }
          if (response.status() != 404) {
            require(response);
          }
          long next = response.index();
          boolean changed = shown == null || shownStatus != response.status() || !Arrays.equals(shown, response.body());
          if (changed) {
            print(response, next);
            shown = response.body();
            shownStatus = response.status();
          }
          boolean quick = System.nanoTime() - started < TimeUnit.SECONDS.toNanos(1);
          paceMs = changed || !quick ? 0 : Math.min(PACE_MS_MAX, Math.max(PACE_MS_MIN, paceMs * 2));
          index = next < index ? 0 : Math.max(1, next);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return 130;
    }

    private void print(ApiClient.Response response, long index) {
      PrintWriter out = out();
      if (json()) {
        out.println(response.status() == 404 ? "[]" : response.text().strip());
      } else if (response.status() == 404) {
        out.println(index + "  " + key + "  (absent)");
      } else {
        for (JsonNode entry : Json.parse(response, "GET " + path(key))) {
          out.println(entry.path("ModifyIndex").asLong() + "  " + entry.path("Key").asText() + "  " + value(entry));
        }
      }
      out.flush();
    }

    /** Go-style durations the daemon accepts: a whole number and ms, s, m or h; at most 10 minutes. */
    Duration parseWait(String text) {
      Matcher m = DURATION.matcher(text);
      if (!m.matches()) {
        throw new ParameterException(spec.commandLine(), "--wait: '" + text + "' is not a duration like 30s or 5m");
      }
      long n = Long.parseLong(m.group(1));
      Duration d;
      switch (m.group(2)) {
        case "ms": d = Duration.ofMillis(n); break;
        case "s": d = Duration.ofSeconds(n); break;
        case "m": d = Duration.ofMinutes(n); break;
        default: d = Duration.ofHours(n); break;
      }
      if (d.isZero() || d.compareTo(Duration.ofMinutes(10)) > 0) {
        throw new ParameterException(spec.commandLine(), "--wait: " + text + " is not between 1ms and 10m");
      }
      return d;
    }
  }
}
