package io.conclave.cli;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import picocli.CommandLine;

/**
 * The training run for the CLI's class-data-sharing archive (bin/conclave runs it once, under
 * {@code -XX:ArchiveClassesAtExit}): it runs the common commands against a throwaway loopback
 * server, so the archive holds the classes of their real paths (HTTP exchange, JSON, tables, help
 * and errors) and later runs map them instead of loading them. Its output is discarded; the
 * answers below are examples of the API's shapes, only there to drive the code.
 */
public final class CdsTraining {
  private static final Map<String, String> ANSWERS = Map.of(
      "/v1/agent/members", "[{\"Name\":\"n1\",\"Addr\":\"127.0.0.1\",\"Port\":8521,\"Tags\":{\"role\":\"server\"},"
          + "\"Status\":1,\"State\":\"alive\",\"Incarnation\":1}]",
      "/v1/operator/raft/configuration", "{\"Servers\":[{\"ID\":\"n1\",\"Node\":\"n1\",\"Address\":\"127.0.0.1:8522\","
          + "\"Leader\":true,\"Voter\":true}],\"Index\":1}",
      "/v1/status/leader", "\"127.0.0.1:8522\"",
      "/v1/health", "{\"status\":\"passing\",\"node\":\"n1\",\"role\":\"leader\",\"leader\":\"127.0.0.1:8522\","
          + "\"term\":1,\"commit_index\":1,\"last_contact_ms\":0,\"members\":{\"alive\":1,\"suspect\":0,\"failed\":0,\"left\":0}}",
      "/v1/kv/k", "[{\"LockIndex\":0,\"Key\":\"k\",\"Flags\":0,\"Value\":\"dg==\",\"CreateIndex\":2,\"ModifyIndex\":2}]");

  private CdsTraining() {}

  public static void main(String[] args) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", exchange -> {
      String body = ANSWERS.getOrDefault(exchange.getRequestURI().getPath(), "true");
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("X-Consul-Index", "2");
      exchange.sendResponseHeaders(200, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    });
    server.start();
    try {
      String addr = "http://127.0.0.1:" + server.getAddress().getPort();
      String[][] runs = {{"members"}, {"--format", "json", "members"}, {"leader"}, {"raft", "peers"}, {"health"},
          {"kv", "get", "k"}, {"kv", "put", "k", "v"}, {"--help"}, {"members", "--help"}, {"members", "--bogus"}};
      for (String[] run : runs) {
        String[] all = new String[run.length + 2];
        all[0] = "--http-addr";
        all[1] = addr;
        System.arraycopy(run, 0, all, 2, run.length);
        execute(all);
      }
      execute(new String[] {"--http-addr", "http://127.0.0.1:1", "members"}); // the unreachable path
    } finally {
      server.stop(0);
    }
    System.exit(0);
  }

  private static void execute(String[] args) {
    Cli cli = new Cli(Map.of(), false, new ByteArrayInputStream(new byte[0]));
    CommandLine commandLine = cli.commandLine(args);
    commandLine.setOut(new PrintWriter(Writer.nullWriter()));
    commandLine.setErr(new PrintWriter(Writer.nullWriter()));
    commandLine.execute(args);
  }
}
