package io.conclave.membership.wire;

/** Why an incoming packet or stream was dropped. Each has a counter in the node's metrics. */
public enum DropReason {
  /** Zero bytes. */
  EMPTY,
  /** The first byte is not a wire version this build speaks. */
  BAD_VERSION,
  /** A length or field runs past the end of the bytes. */
  TRUNCATED,
  /** A message type code this build does not know, or one that does not belong there. */
  UNKNOWN_TYPE,
  /** A message's declared length disagrees with what its fields used. */
  BAD_LENGTH,
  /** A field is out of range: empty name, negative incarnation, port > 65535, over a size cap. */
  BAD_FIELD,
  /** More messages, members or tags than the hard caps allow. */
  TOO_MANY,
  /** Larger than the packet or stream limit. */
  TOO_LARGE,
  /** A Ping for another member name: the sender has an old view of this address. */
  WRONG_TARGET,
  /** The helper already serves its maximum number of indirect probes. */
  HELPER_BUSY,
  /** A message from ourselves, or about a member we refuse to track (bad state transition). */
  IGNORED
}
