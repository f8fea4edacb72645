package io.conclave.consensus.log;

import java.nio.file.Path;

/**
 * One segment file of a {@link SegmentedLogStore}.
 *
 * @param path the file
 * @param seq its sequence number (in its name and its header); segments are numbered without gaps
 * @param baseIndex the store's last index when the segment was created: every entry above it that
 *     the log still holds was written in this segment or a later one
 * @param baseTerm the term of the entry at {@code baseIndex}, 0 when there is none
 */
record Segment(Path path, long seq, long baseIndex, long baseTerm) {}
