package io.conclave.membership.wire;

/** Internal to the decoder: carries the drop reason out of nested reads. Never escapes {@link Codec}. */
final class DecodeException extends Exception {
  final DropReason reason;

  DecodeException(DropReason reason) {
    super(reason.name(), null, false, false);
    this.reason = reason;
  }
}
