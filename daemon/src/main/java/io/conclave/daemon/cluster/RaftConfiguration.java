package io.conclave.daemon.cluster;

import java.util.List;

/**
 * The Raft configuration: its servers and the log index it was committed at.
 */
public record RaftConfiguration(List<RaftServer> servers, long index) {
  public RaftConfiguration {
    servers = List.copyOf(servers);
  }

  /** The voters' Raft addresses, for /v1/status/peers. */
  public List<String> voterAddresses() {
    return servers.stream().filter(RaftServer::voter).map(RaftServer::address).toList();
  }
}
