package io.conclave.daemon.kv;

import java.time.Duration;
import java.util.Optional;

/**
 * Go's {@code time.ParseDuration} for Consul's {@code ?wait=}: a sequence of decimal numbers with
 * optional fraction and a unit each ({@code ns us µs ms s m h}), e.g. {@code 10s}, {@code 1.5m},
 * {@code 2h45m}; an optional sign; a bare {@code 0}. Empty for anything else (Go's error cases:
 * missing unit, unknown unit, overflow).
 */
public final class GoDuration {
  private GoDuration() {}

  public static Optional<Duration> parse(String s) {
    if (s == null || s.isEmpty()) {
      return Optional.empty();
    }
    int i = 0;
    boolean negative = false;
    if (s.charAt(0) == '-' || s.charAt(0) == '+') {
      negative = s.charAt(0) == '-';
      i++;
    }
    if (s.substring(i).equals("0")) {
      return Optional.of(Duration.ZERO);
    }
    if (i == s.length()) {
      return Optional.empty();
    }
    double totalNanos = 0;
    while (i < s.length()) {
      int start = i;
      while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
        i++;
      }
      String number = s.substring(start, i);
      if (number.isEmpty() || number.equals(".") || number.indexOf('.') != number.lastIndexOf('.')) {
        return Optional.empty();
      }
      int unitStart = i;
      while (i < s.length() && !Character.isDigit(s.charAt(i)) && s.charAt(i) != '.') {
        i++;
      }
      long unitNanos = unitNanos(s.substring(unitStart, i));
      if (unitNanos == 0) {
        return Optional.empty();
      }
      totalNanos += Double.parseDouble(number) * unitNanos;
      if (totalNanos > Long.MAX_VALUE) {
        return Optional.empty();
      }
    }
    long nanos = (long) totalNanos;
    return Optional.of(Duration.ofNanos(negative ? -nanos : nanos));
  }

  private static long unitNanos(String unit) {
    switch (unit) {
      case "ns":
        return 1L;
      case "us":
      case "µs":
      case "μs":
        return 1_000L;
      case "ms":
        return 1_000_000L;
      case "s":
        return 1_000_000_000L;
      case "m":
        return 60_000_000_000L;
      case "h":
        return 3_600_000_000_000L;
      default:
        return 0;
    }
  }
}
