package io.conclave.daemon.cluster;

import java.util.Map;
import java.util.Objects;

/**
 * One gossip member.
 *
 * @param name unique member name ({@code --node})
 * @param address advertised address
 * @param gossipPort gossip port
 * @param tags gossip tags; {@code role} is {@code server} or {@code client}, servers add their Raft
 *     address
 * @param state alive, suspect, left or failed
 * @param incarnation SWIM incarnation number (grows when the member refutes a suspicion)
 */
public record Member(String name, String address, int gossipPort, Map<String, String> tags,
    MemberState state, long incarnation) {

  public static final String TAG_ROLE = "role";
  public static final String ROLE_SERVER = "server";
  public static final String ROLE_CLIENT = "client";

  public Member {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(state, "state");
    tags = Map.copyOf(tags);
  }
}
