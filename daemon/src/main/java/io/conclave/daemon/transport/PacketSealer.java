package io.conclave.daemon.transport;

import io.conclave.daemon.config.EncryptKey;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Optional;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The gossip packet envelope. Every packet starts with a version byte:
 *
 * <ul>
 *   <li>{@code 0x01} plain: {@code [0x01][payload]}
 *   <li>{@code 0x02} sealed: {@code [0x02][12-byte random nonce][AES-256-GCM ciphertext + 16-byte
 *       tag]}, with the version byte as associated data so it cannot be swapped.
 * </ul>
 *
 * <p>A daemon with a key accepts only sealed packets; one without accepts only plain packets. A
 * random 96-bit nonce per packet (as memberlist does) stays safe for about 2^32 packets per key,
 * years of gossip for one daemon; rotate the key well before that.
 */
public final class PacketSealer {
  public static final byte VERSION_PLAIN = 0x01;
  public static final byte VERSION_SEALED = 0x02;
  static final int NONCE_BYTES = 12;
  static final int TAG_BITS = 128;
  /** Bytes a sealed packet adds to its payload: version, nonce and tag. */
  public static final int SEALED_OVERHEAD_BYTES = 1 + NONCE_BYTES + TAG_BITS / 8;
  /** Bytes a plain packet adds to its payload: the version. */
  public static final int PLAIN_OVERHEAD_BYTES = 1;

  private final Optional<SecretKeySpec> key;
  private final SecureRandom random = new SecureRandom();

  public PacketSealer(Optional<EncryptKey> key) {
    this.key = key.map(k -> new SecretKeySpec(k.bytes(), "AES"));
  }

  public boolean sealing() {
    return key.isPresent();
  }

  /** Bytes the envelope adds to a payload. */
  public int overheadBytes() {
    return key.isPresent() ? SEALED_OVERHEAD_BYTES : PLAIN_OVERHEAD_BYTES;
  }

  /** Wraps {@code payload} into a packet: sealed when a key is set, plain otherwise. */
  public byte[] seal(byte[] payload) {
    if (key.isEmpty()) {
      byte[] packet = new byte[payload.length + 1];
      packet[0] = VERSION_PLAIN;
      System.arraycopy(payload, 0, packet, 1, payload.length);
      return packet;
    }
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key.get(), new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(new byte[] {VERSION_SEALED});
      byte[] sealed = cipher.doFinal(payload);
      byte[] packet = new byte[1 + NONCE_BYTES + sealed.length];
      packet[0] = VERSION_SEALED;
      System.arraycopy(nonce, 0, packet, 1, NONCE_BYTES);
      System.arraycopy(sealed, 0, packet, 1 + NONCE_BYTES, sealed.length);
      return packet;
    } catch (GeneralSecurityException e) {
      // AES-GCM is mandatory in every JDK; failing here is a broken runtime, not bad input
      throw new IllegalStateException("AES-GCM seal failed: " + e, e);
    }
  }

  /** The result of opening a packet: the payload, or the reason it was refused. */
  public record Opened(byte[] payload, String dropReason) {
    static Opened ok(byte[] payload) {
      return new Opened(payload, null);
    }

    static Opened drop(String reason) {
      return new Opened(null, reason);
    }

    public boolean ok() {
      return payload != null;
    }
  }

  /** Unwraps a packet from the network, never throwing on bad input. */
  public Opened open(byte[] packet) {
    if (packet.length == 0) {
      return Opened.drop("empty");
    }
    byte version = packet[0];
    if (version == VERSION_PLAIN) {
      return key.isPresent() ? Opened.drop("plain_rejected")
          : Opened.ok(Arrays.copyOfRange(packet, 1, packet.length));
    }
    if (version != VERSION_SEALED) {
      return Opened.drop("bad_version");
    }
    if (key.isEmpty()) {
      return Opened.drop("sealed_rejected");
    }
    if (packet.length < SEALED_OVERHEAD_BYTES) {
      return Opened.drop("truncated");
    }
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, key.get(), new GCMParameterSpec(TAG_BITS, packet, 1, NONCE_BYTES));
      cipher.updateAAD(new byte[] {VERSION_SEALED});
      return Opened.ok(cipher.doFinal(packet, 1 + NONCE_BYTES, packet.length - 1 - NONCE_BYTES));
    } catch (GeneralSecurityException e) {
      return Opened.drop("unseal_failed"); // wrong key, or tampered with
    }
  }
}
