package io.conclave.daemon.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** The build's version, from the Maven-filtered {@code conclave-daemon.properties}. */
public final class Version {
  private static final String RESOURCE = "/conclave-daemon.properties";

  private Version() {}

  /** The project version, e.g. {@code 0.1.0-SNAPSHOT}; "unknown" when the resource is missing. */
  public static String current() {
    try (InputStream in = Version.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        return "unknown";
      }
      Properties props = new Properties();
      props.load(in);
      return props.getProperty("version", "unknown");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** picocli's hook for {@code --version}. */
  public static final class Provider implements IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"conclaved " + current()};
    }
  }
}
