package io.conclave.membership.member;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One member as some observer sees it: an immutable snapshot. The observer replaces the whole record
 * whenever it learns something newer.
 *
 * @param name unique in the cluster, non-empty, at most {@link #NAME_BYTES_MAX} bytes of UTF-8
 * @param address where its gossip listener is reached
 * @param tags free-form metadata (kept as an unmodifiable sorted map); by convention {@code role} = server|client, {@code raft} = the
 *     Raft address, {@code version}. Sorted, immutable.
 * @param incarnation only the member itself raises it (to refute a suspicion or change its tags);
 *     for any one observer it never decreases while the member is known
 * @param state ALIVE, SUSPECT, FAILED or LEFT
 */
public record Member(
    String name, Address address, Map<String, String> tags, long incarnation, MemberState state) {
  private static final Class<?> UNMODIFIABLE_SORTED =
      java.util.Collections.unmodifiableSortedMap(new TreeMap<String, String>()).getClass();
  public static final int NAME_BYTES_MAX = 128;
  public static final int TAG_KEY_BYTES_MAX = 128;
  public static final int TAG_VALUE_BYTES_MAX = 512;
  public static final int TAGS_MAX = 64;

  /** Tag names with a conventional meaning. */
  public static final String TAG_ROLE = "role";
  public static final String TAG_RAFT_ADDRESS = "raft";
  public static final String TAG_VERSION = "version";

  public Member {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(state, "state");
    if (name.isEmpty() || utf8Length(name) > NAME_BYTES_MAX) {
      throw new IllegalArgumentException("name of " + utf8Length(name) + " UTF-8 bytes outside 1.." + NAME_BYTES_MAX);
    }
    if (incarnation < 0) {
      throw new IllegalArgumentException("incarnation " + incarnation + " < 0");
    }
    tags = tags == null ? java.util.Collections.emptySortedMap()
        : tags instanceof java.util.SortedMap<String, String> sorted && sorted.comparator() == null
            && tags.getClass() == UNMODIFIABLE_SORTED ? tags
        : java.util.Collections.unmodifiableSortedMap(new TreeMap<>(tags));
    if (tags.size() > TAGS_MAX) {
      throw new IllegalArgumentException(tags.size() + " tags > " + TAGS_MAX);
    }
    for (Map.Entry<String, String> e : tags.entrySet()) {
      if (utf8Length(e.getKey()) > TAG_KEY_BYTES_MAX || utf8Length(e.getValue()) > TAG_VALUE_BYTES_MAX) {
        throw new IllegalArgumentException(String.format("tag %.40s: key or value over %d/%d UTF-8 bytes",
            e.getKey(), TAG_KEY_BYTES_MAX, TAG_VALUE_BYTES_MAX));
      }
    }
  }

  /** UTF-8 length without allocating when the string is short enough that it cannot matter. */
  static int utf8Length(String s) {
    if (s.length() * 3 <= TAG_KEY_BYTES_MAX) {
      return s.length(); // cannot exceed any cap; the exact value does not matter below the caps
    }
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
  }

  public Member withState(MemberState newState) {
    return new Member(name, address, tags, incarnation, newState);
  }

  public Member withIncarnation(long newIncarnation, MemberState newState) {
    return new Member(name, address, tags, newIncarnation, newState);
  }

  /** The {@code role} tag, or "" when absent. */
  public String role() {
    return tags.getOrDefault(TAG_ROLE, "");
  }
}
