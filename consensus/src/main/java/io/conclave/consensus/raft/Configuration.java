package io.conclave.consensus.raft;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Who is in the group: voters (count toward elections and commitment) and learners (receive the log,
 * never vote). Changes go one member at a time (dissertation §4.1), so any two consecutive
 * configurations share a majority.
 *
 * <p>Stored in the log as the data of a {@link io.conclave.consensus.log.EntryType#CONFIG} entry; the
 * encoding is part of the durable format.
 */
public record Configuration(SortedSet<String> voters, SortedSet<String> learners) {
  public static final Configuration EMPTY = new Configuration(Set.of(), Set.of());
  private static final byte FORMAT = 1;
  private static final int MAX_MEMBERS = 1024;
  private static final int MAX_ID_BYTES = 1024;

  public Configuration(Set<String> voters, Set<String> learners) {
    this(sorted(voters), sorted(learners));
  }

  public Configuration {
    voters = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(voters));
    learners = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(learners));
    for (String v : voters) {
      if (learners.contains(v)) throw new IllegalArgumentException(v + " is both voter and learner");
    }
  }

  private static SortedSet<String> sorted(Set<String> s) {
    return new TreeSet<>(s);
  }

  public static Configuration ofVoters(Set<String> voters) {
    return new Configuration(voters, Set.of());
  }

  public int quorum() {
    return voters.size() / 2 + 1;
  }

  public boolean isVoter(String id) {
    return voters.contains(id);
  }

  public boolean isLearner(String id) {
    return learners.contains(id);
  }

  public boolean contains(String id) {
    return voters.contains(id) || learners.contains(id);
  }

  /** Voters and learners, sorted. */
  public List<String> members() {
    TreeSet<String> all = new TreeSet<>(voters);
    all.addAll(learners);
    return List.copyOf(all);
  }

  /** The configuration after {@code change}, or an exception naming why it is not a valid step. */
  public Configuration apply(ConfChange change) {
    TreeSet<String> v = new TreeSet<>(voters);
    TreeSet<String> l = new TreeSet<>(learners);
    String id = change.member();
    switch (change.type()) {
      case ADD_LEARNER -> {
        if (contains(id)) throw new IllegalArgumentException(id + " is already a member");
        l.add(id);
      }
      case PROMOTE -> {
        if (!learners.contains(id)) throw new IllegalArgumentException(id + " is not a learner");
        l.remove(id);
        v.add(id);
      }
      case REMOVE -> {
        if (!contains(id)) throw new IllegalArgumentException(id + " is not a member");
        v.remove(id);
        l.remove(id);
        if (v.isEmpty()) throw new IllegalArgumentException("removing " + id + " would leave no voter");
      }
    }
    return new Configuration(v, l);
  }

  public byte[] encode() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(FORMAT);
    writeSet(out, voters);
    writeSet(out, learners);
    return out.toByteArray();
  }

  private static void writeSet(ByteArrayOutputStream out, Set<String> ids) {
    out.writeBytes(ByteBuffer.allocate(4).putInt(ids.size()).array());
    for (String id : ids) {
      byte[] b = id.getBytes(StandardCharsets.UTF_8);
      out.writeBytes(ByteBuffer.allocate(4).putInt(b.length).array());
      out.writeBytes(b);
    }
  }

  /** @throws IllegalArgumentException when the bytes are not an encoded configuration */
  public static Configuration decode(byte[] data) {
    try {
      ByteBuffer in = ByteBuffer.wrap(data);
      byte format = in.get();
      if (format != FORMAT) throw new IllegalArgumentException("configuration format " + format);
      List<String> v = readSet(in);
      List<String> l = readSet(in);
      if (in.hasRemaining()) throw new IllegalArgumentException(in.remaining() + " trailing bytes");
      return new Configuration(new TreeSet<>(v), new TreeSet<>(l));
    } catch (java.nio.BufferUnderflowException e) {
      throw new IllegalArgumentException("truncated configuration (" + data.length + " bytes)");
    }
  }

  private static List<String> readSet(ByteBuffer in) {
    int n = in.getInt();
    if (n < 0 || n > MAX_MEMBERS) throw new IllegalArgumentException("member count " + n);
    List<String> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int len = in.getInt();
      if (len < 0 || len > MAX_ID_BYTES || len > in.remaining()) throw new IllegalArgumentException("id length " + len);
      byte[] b = new byte[len];
      in.get(b);
      out.add(new String(b, StandardCharsets.UTF_8));
    }
    return out;
  }

  @Override
  public String toString() {
    return "voters=" + voters + (learners.isEmpty() ? "" : " learners=" + learners);
  }
}
