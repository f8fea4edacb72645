#!/usr/bin/env bash
# Start-up benchmark with real processes (issue 5): per trial,
#   dev:     launch one `bin/conclaved --dev` and time until GET /v1/health first answers 200;
#   cluster: launch three `bin/conclaved --server --bootstrap-expect 3` (gossip join, durable logs in
#            fresh temp data dirs) at once and time until /v1/health answers 200 on all three
#            (gossip saw three servers, they formed one Raft group, everyone heard from the leader).
# Times are wall ms from just before the launch (JVM start included) to the first poll that saw it,
# polling every ~20 ms with curl. Everything started is killed (-9) after each trial. Prints every
# trial, then median and max for each.
#
#   mvn -B -q -DskipTests package && daemon/bench/startup.sh [trials=5]
#
# Needs curl and python3 (to pick free loopback ports). Trials are capped at 50, each phase of a trial
# at 60 s; the script kills only the processes it started and removes its temp dirs on exit.
set -euo pipefail
trials="${1:-5}"
(( trials >= 1 && trials <= 50 )) || { echo "trials must be 1..50" >&2; exit 2; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d /tmp/conclave-startup.XXXXXX)"
deadline_ms=60000
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
on_exit() {
  cleanup
  rm -rf "$work"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# N free TCP ports on 127.0.0.1 (held open together, so they are distinct; also free for UDP in practice).
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

healthy() {
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$1/v1/health" || true)" == 200 ]]
}

# The trials run in this shell (not in $(...)), so pids and the EXIT trap see every process; each
# sets result_ms.
result_ms=0

dev_trial() {
  local t=$1 http gossip raft t0
  read -r http gossip raft <<< "$(free_ports 3)"
  t0="$(now_ms)"
  "$root/bin/conclaved" --dev --node "dev$t" --http-port "$http" --gossip-port "$gossip" --raft-port "$raft" \
    > "$work/dev$t.log" 2>&1 &
  pids+=("$!")
  until healthy "$http"; do
    if (( $(now_ms) - t0 > deadline_ms )); then echo "dev trial $t: no 200 within 60 s; log:" >&2; tail -5 "$work/dev$t.log" >&2; exit 1; fi
    sleep 0.02
  done
  result_ms=$(( $(now_ms) - t0 ))
  cleanup
}

cluster_trial() {
  local t=$1 p i t0 all
  read -r -a p <<< "$(free_ports 9)"   # http 0..2, gossip 3..5, raft 6..8
  local join=(--join "127.0.0.1:${p[3]}" --join "127.0.0.1:${p[4]}" --join "127.0.0.1:${p[5]}")
  t0="$(now_ms)"
  for i in 0 1 2; do
    mkdir -p "$work/c$t-n$i"
    "$root/bin/conclaved" --server --node "n$i" --data-dir "$work/c$t-n$i" --bootstrap-expect 3 \
      --http-port "${p[$i]}" --gossip-port "${p[$((i + 3))]}" --raft-port "${p[$((i + 6))]}" "${join[@]}" \
      > "$work/c$t-n$i.log" 2>&1 &
    pids+=("$!")
  done
  while :; do
    all=1
    for i in 0 1 2; do healthy "${p[$i]}" || { all=0; break; }; done
    (( all )) && break
    if (( $(now_ms) - t0 > deadline_ms )); then
      echo "cluster trial $t: not passing on all three within 60 s; logs:" >&2
      for i in 0 1 2; do tail -3 "$work/c$t-n$i.log" >&2; done
      exit 1
    fi
    sleep 0.02
  done
  result_ms=$(( $(now_ms) - t0 ))
  cleanup
  rm -rf "$work"/c"$t"-n*
}

summary() {  # label, values...
  local label=$1; shift
  local sorted n median
  sorted=($(printf '%s\n' "$@" | sort -n))
  n=${#sorted[@]}
  if (( n % 2 )); then median=${sorted[$((n / 2))]}; else median=$(( (sorted[n / 2 - 1] + sorted[n / 2]) / 2 )); fi
  echo "startup $label trials=$n median_ms=$median max_ms=${sorted[$((n - 1))]} min_ms=${sorted[0]} all=$*"
}

dev=() cluster=()
for (( t = 1; t <= trials; t++ )); do
  dev_trial "$t"; dev+=("$result_ms"); echo "startup dev trial=$t ms=$result_ms"
  cluster_trial "$t"; cluster+=("$result_ms"); echo "startup cluster3 trial=$t ms=$result_ms"
done
summary dev "${dev[@]}"
summary cluster3 "${cluster[@]}"
echo "load: $(uptime)"
