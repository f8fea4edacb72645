package io.conclave.daemon.raft;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where each Raft member (by Raft ID) listens for Raft frames. The runtime reads it for every
 * message it sends; a destination without an address is dropped and counted ("unknown_peer").
 *
 * <p>Today tests and {@link RaftClusterRuntime} fill it (each runtime registers its own address at
 * start); gossip will fill it from the servers' tags. Thread-safe: writers may run on any thread.
 */
public final class RaftPeers {
  private final ConcurrentHashMap<String, Address> addresses = new ConcurrentHashMap<>();

  /** A Raft listener: {@code host:port} ({@code [v6]:port} for IPv6 literals). */
  public record Address(String host, int port) {
    public Address {
      Objects.requireNonNull(host, "host");
      if (host.isEmpty() || port < 1 || port > 65535) {
        throw new IllegalArgumentException("bad raft address " + host + ":" + port);
      }
    }

    /** Parses {@code host:port} or {@code [v6]:port}. */
    public static Address parse(String text) {
      int colon = text.lastIndexOf(':');
      if (colon <= 0 || colon == text.length() - 1) {
        throw new IllegalArgumentException("raft address \"" + text + "\" is not host:port");
      }
      String host = text.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      try {
        return new Address(host, Integer.parseInt(text.substring(colon + 1)));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("raft address \"" + text + "\" has no numeric port");
      }
    }

    @Override
    public String toString() {
      return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
  }

  public void put(String id, Address address) {
    addresses.put(Objects.requireNonNull(id, "id"), Objects.requireNonNull(address, "address"));
  }

  public void put(String id, String host, int port) {
    put(id, new Address(host, port));
  }

  public void remove(String id) {
    addresses.remove(id);
  }

  public Optional<Address> address(String id) {
    return id == null ? Optional.empty() : Optional.ofNullable(addresses.get(id));
  }

  /** The address as {@code host:port}, or "" when unknown (the HTTP API's "no address"). */
  public String addressText(String id) {
    return address(id).map(Address::toString).orElse("");
  }

  /** A sorted copy. */
  public Map<String, Address> snapshot() {
    return new TreeMap<>(addresses);
  }
}
