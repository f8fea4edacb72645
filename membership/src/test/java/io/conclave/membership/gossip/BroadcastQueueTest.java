package io.conclave.membership.gossip;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class BroadcastQueueTest {
  static byte[] frame(int size, int tag) {
    byte[] b = new byte[size];
    b[0] = (byte) tag;
    return b;
  }

  @Test
  void retransmitLimitIsLambdaTimesCeilLog10() {
    // memberlist util.go retransmitLimit: 4 for n<=9, 8 for n<=99, 12 for n<=999 (ANCHORS §1).
    assertThat(BroadcastQueue.retransmitLimit(4, 1)).isEqualTo(4);
    assertThat(BroadcastQueue.retransmitLimit(4, 9)).isEqualTo(4);
    assertThat(BroadcastQueue.retransmitLimit(4, 10)).isEqualTo(8);
    assertThat(BroadcastQueue.retransmitLimit(4, 99)).isEqualTo(8);
    assertThat(BroadcastQueue.retransmitLimit(4, 100)).isEqualTo(12);
    assertThat(BroadcastQueue.retransmitLimit(4, 999)).isEqualTo(12);
    assertThat(BroadcastQueue.retransmitLimit(4, 1000)).isEqualTo(16);
  }

  @Test
  void newerRumorAboutAMemberSupersedesTheOlder() {
    BroadcastQueue q = new BroadcastQueue(100);
    q.enqueue("n1", frame(10, 1));
    q.take(1000, 4, 10);
    q.enqueue("n1", frame(10, 2));
    assertThat(q.size()).isEqualTo(1);
    List<byte[]> out = q.take(1000, 4, 10);
    assertThat(out).singleElement().satisfies(b -> assertThat(b[0]).isEqualTo((byte) 2));
  }

  @Test
  void eachRumorIsSentExactlyTheLimit() {
    BroadcastQueue q = new BroadcastQueue(100);
    q.enqueue("a", frame(10, 1));
    int sent = 0;
    for (int i = 0; i < 20; i++) {
      sent += q.take(1000, 5, 10).size();
    }
    assertThat(sent).isEqualTo(5);
    assertThat(q.size()).isZero();
  }

  @Test
  void leastSentFirstAndWithinBudget() {
    BroadcastQueue q = new BroadcastQueue(100);
    q.enqueue("old", frame(40, 1));
    q.take(1000, 10, 10); // "old" sent once
    q.enqueue("new", frame(40, 2));
    List<byte[]> out = q.take(50, 10, 10); // room for one
    assertThat(out).singleElement().satisfies(b -> assertThat(b[0]).isEqualTo((byte) 2));
  }

  @Test
  void fullQueueDropsTheMostSentRumor() {
    BroadcastQueue q = new BroadcastQueue(2);
    q.enqueue("a", frame(10, 1));
    q.take(1000, 10, 10);
    q.enqueue("b", frame(10, 2));
    q.enqueue("c", frame(10, 3));
    assertThat(q.size()).isEqualTo(2);
    assertThat(q.contains("a")).isFalse();
    assertThat(q.dropped()).isEqualTo(1);
  }

  @Property(tries = 300)
  void takeNeverExceedsBudgetOrFrameCount(@ForAll @IntRange(min = 1, max = 200) int rumors,
      @ForAll @IntRange(min = 0, max = 1500) int budget, @ForAll @IntRange(min = 1, max = 30) int framesMax) {
    BroadcastQueue q = new BroadcastQueue(1000);
    for (int i = 0; i < rumors; i++) {
      q.enqueue("m" + i, frame(5 + (i * 37) % 90, i));
    }
    List<byte[]> out = new ArrayList<>(q.take(budget, 3, framesMax));
    assertThat(out.stream().mapToInt(b -> b.length).sum()).isLessThanOrEqualTo(budget);
    assertThat(out.size()).isLessThanOrEqualTo(framesMax);
  }
}
