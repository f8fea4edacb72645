#!/usr/bin/env bash
# Failover benchmark with real processes: three bin/conclaved servers on loopback (durable logs,
# bootstrap-expect 3, gossip join), then per trial: kill -9 the Raft leader and time until a KV
# write through a surviving daemon answers "true" (a new leader accepts writes). The killed server
# restarts from its data dir before the next trial. Writes go to every survivor in turn (KV
# forwarding to the leader is not wired yet), so the first "true" comes from the new leader. Prints every trial, the median and the max.
#
#   mvn -B -q -DskipTests package && daemon/bench/failover.sh [trials=20] [base-port=19500]
#
# Needs curl. Uses ports base..base+8 and a temporary directory; kills only the processes it started.
set -euo pipefail
trials="${1:-20}"
base="${2:-19500}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d /tmp/conclave-failover.XXXXXX)"
declare -A pid

http_port() { echo $((base + $1)); }
gossip_port() { echo $((base + 3 + $1)); }
raft_port() { echo $((base + 6 + $1)); }

start() {
  local i=$1
  mkdir -p "$work/n$i"
  "$root/bin/conclaved" --server --node "n$i" --data-dir "$work/n$i" --bootstrap-expect 3 \
    --http-port "$(http_port "$i")" --gossip-port "$(gossip_port "$i")" --raft-port "$(raft_port "$i")" \
    --join "127.0.0.1:$(gossip_port 1)" --join "127.0.0.1:$(gossip_port 2)" --join "127.0.0.1:$(gossip_port 3)" \
    >> "$work/n$i.log" 2>&1 &
  pid[$i]=$!
}

cleanup() {
  for i in "${!pid[@]}"; do kill -9 "${pid[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "logs in $work"
}
trap cleanup EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Every running daemon passes health and names the same leader; prints the leader's index (1..3).
stable_leader() {
  local leader="" l
  for i in "${!pid[@]}"; do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$(http_port "$i")/v1/health")" == 200 ]] || return 1
    l="$(curl -s --max-time 1 "http://127.0.0.1:$(http_port "$i")/v1/status/leader" | tr -d '"')"
    [[ -n "$l" ]] || return 1
    [[ -z "$leader" || "$leader" == "$l" ]] || return 1
    leader="$l"
  done
  local port="${leader##*:}"
  echo $(( port - base - 6 ))
}

wait_stable() {
  local deadline=$(( $(now_ms) + 60000 )) leader
  while (( $(now_ms) < deadline )); do
    if leader="$(stable_leader)"; then echo "$leader"; return 0; fi
    sleep 0.1
  done
  echo "no stable leader within 60 s" >&2
  return 1
}

write_ok() {
  [[ "$(curl -s -X PUT --data-binary "v" --max-time 1 "http://127.0.0.1:$(http_port "$1")/v1/kv/bench/failover" || true)" == "true" ]]
}

any_write_ok() {
  for i in "${!pid[@]}"; do
    if write_ok "$i"; then echo "$i"; return 0; fi
  done
  return 1
}

for i in 1 2 3; do start "$i"; done
wait_stable > /dev/null
results=()
for (( t = 1; t <= trials; t++ )); do
  leader="$(wait_stable)"
  write_ok "$leader" || { sleep 0.2; write_ok "$leader"; }
  t0="$(now_ms)"
  kill -9 "${pid[$leader]}"
  wait "${pid[$leader]}" 2>/dev/null || true
  unset "pid[$leader]"
  until survivor="$(any_write_ok)"; do
    if (( $(now_ms) - t0 > 10000 )); then echo "trial $t: no write accepted within 10 s" >&2; exit 1; fi
  done
  ms=$(( $(now_ms) - t0 ))
  results+=("$ms")
  echo "failover trial=$t killed=n$leader write_via=n$survivor ms=$ms"
  start "$leader"
done
sorted=($(printf '%s\n' "${results[@]}" | sort -n))
n=${#sorted[@]}
if (( n % 2 )); then median=${sorted[$((n / 2))]}; else median=$(( (sorted[n / 2 - 1] + sorted[n / 2]) / 2 )); fi
echo "failover trials=$n median_ms=$median max_ms=${sorted[$((n - 1))]} min_ms=${sorted[0]} all=${results[*]}"
