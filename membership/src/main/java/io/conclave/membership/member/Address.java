package io.conclave.membership.member;

/**
 * Where a member's gossip listener is reached: a host (name or IP literal) and a port. UDP carries
 * probes and gossip to it, TCP carries push-pull streams to the same port.
 *
 * @param host non-empty, at most {@link #HOST_BYTES_MAX} bytes of UTF-8
 * @param port 0..65535
 */
public record Address(String host, int port) implements Comparable<Address> {
  /** A DNS name is at most 253 characters; IPv6 literals are shorter. */
  public static final int HOST_BYTES_MAX = 253;

  public Address {
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException("host is empty");
    }
    if (host.length() > HOST_BYTES_MAX) {
      throw new IllegalArgumentException("host has " + host.length() + " chars > " + HOST_BYTES_MAX);
    }
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port " + port + " is outside 0..65535");
    }
  }

  /** Parses {@code host:port} or {@code [v6]:port}. */
  public static Address parse(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0 || colon == hostPort.length() - 1) {
      throw new IllegalArgumentException("expected host:port, got '" + hostPort + "'");
    }
    String host = hostPort.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(hostPort.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad port in '" + hostPort + "'", e);
    }
    return new Address(host, port);
  }

  @Override
  public int compareTo(Address o) {
    int c = host.compareTo(o.host);
    return c != 0 ? c : Integer.compare(port, o.port);
  }

  @Override
  public String toString() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
