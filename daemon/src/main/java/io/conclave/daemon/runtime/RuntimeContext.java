package io.conclave.daemon.runtime;

import io.conclave.daemon.config.DaemonConfig;
import io.conclave.daemon.transport.FramedTransport;
import io.conclave.daemon.transport.UdpTransport;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Context;
import java.time.InstantSource;
import java.util.Optional;

/**
 * What the daemon hands a {@link ClusterRuntime} at start: everything bound and ready.
 *
 * @param context the one Vert.x context that drives both cores; every transport's handler runs
 *     here, and so must every timer the runtime sets ({@code context.owner().setPeriodic} called
 *     from this context)
 * @param config the validated configuration
 * @param registry where the runtime registers its meters (cores' counters, latencies)
 * @param clock wall time for leases and health; the cores themselves count ticks
 * @param gossipUdp gossip datagrams on the gossip port
 * @param gossipTcp gossip push-pull frames on the gossip port (TCP)
 * @param raftTcp Raft frames on the Raft port; present only when {@link DaemonConfig#raftEnabled()}
 * @param storage where Raft state lives: the data dir, or nothing with {@code --dev}
 * @param httpPort the bound HTTP port (servers gossip it so others can forward to them)
 */
public record RuntimeContext(Context context, DaemonConfig config, MeterRegistry registry,
    InstantSource clock, UdpTransport gossipUdp, FramedTransport gossipTcp,
    Optional<FramedTransport> raftTcp, Optional<DataDir> storage, int httpPort) {}
