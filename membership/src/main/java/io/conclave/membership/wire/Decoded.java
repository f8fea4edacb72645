package io.conclave.membership.wire;

import java.util.List;

/** What decoding bytes from the network gives: messages, or a drop with its reason. Never throws. */
public sealed interface Decoded {
  record Messages(List<Message> messages) implements Decoded {
    public Messages {
      messages = List.copyOf(messages);
    }
  }

  record Dropped(DropReason reason) implements Decoded {}
}
