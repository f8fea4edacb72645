package io.conclave.daemon.config;

/**
 * A `--join` target: the gossip address of any member.
 *
 * @param host a host name or IP literal (IPv6 without brackets)
 * @param port the member's gossip port, 1..65535; `--join HOST` alone means the default gossip port
 */
public record JoinAddress(String host, int port) {

  public JoinAddress {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("join host is empty");
    }
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("join port " + port + " is not in 1..65535");
    }
  }

  @Override
  public String toString() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
