#!/usr/bin/env bash
# KV over HTTP, conclave against etcd 3.4, side by side in one run (docs/benchmarks.md).
#
# Starts three real conclave servers (bin/conclaved --server --bootstrap-expect 3, each with its own
# temporary --data-dir, so the Raft log is fsynced as in production) and three etcd members, all on
# 127.0.0.1 with free ports, waits until both clusters are healthy, prints each one's leader, then
# runs io.conclave.bench.KvLoad (bench module) once: for every client count, conclave and etcd in
# turn, with the same client code, keys and 256-byte values; writes are conclave PUT /v1/kv/bench/<k>
# and etcd POST /v3/kv/put, linearizable reads GET /v1/kv/bench/<k> and POST /v3/kv/range. Both
# clusters are driven on their leader. Prints one line per measured phase and a markdown table of
# medians with the conclave/etcd ratios. Everything it started is stopped on exit (trap), and the
# temporary directory is removed (KEEP=1 keeps it, with the servers' logs).
#
# It builds nothing. Build first, then run:
#   mvn -B -q -DskipTests package
#   apt-get install -y etcd-server          # Debian's etcd 3.4 (/usr/bin/etcd); apt-get update once first
#   bench/kv-vs-etcd.sh [KvLoad options]    # e.g. --put-clients 1,16,64,256 --get-clients 64 --duration 10 --runs 3
# KvLoad options (defaults): --put-clients 1,16,64,256 --get-clients 64 --cget-clients none
#   --duration 10 --warmup 2 --prewarm 0 --max-ops 2000000 --keys 1000 --value-bytes 256 --runs 1 --timeout-ms 10000
# (docs/benchmarks.md uses --prewarm 40: servers run C2, which needs a warm-up before its figures hold)
# Environment: ETCD=/path/to/etcd, JAVA=java, KVLOAD_JAVA_OPTS (client JVM flags), ONLY=conclave|etcd (drive
# one system; both clusters still start), KEEP=1 (keep the temporary directory: logs, and each conclave
# server's Prometheus metrics at the end), CONCLAVED_JAVA_OPTS (passed on by bin/conclaved), CONCLAVED_JFR=DIR
# (a JFR profile of each conclave server for the whole run, written to DIR/c0.jfr.. when it stops;
# CONCLAVED_JFR_SETTINGS=FILE.jfc replaces the "profile" settings, e.g. a shorter sampling period).
#
# The machine's cores are shared: the load generator (one event-loop thread) and all six servers run
# on the same CPUs. The script prints nproc and the load average before and after.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
etcd_bin="${ETCD:-$(command -v etcd || true)}"
java_bin="${JAVA:-java}"
jar="$root/bench/target/benchmarks.jar"
[[ -f "$jar" ]] || { echo "kv-vs-etcd: $jar missing; build first: mvn -B -q -DskipTests package" >&2; exit 1; }
[[ -x "$etcd_bin" ]] || { echo "kv-vs-etcd: etcd not found; apt-get install -y etcd-server (or set ETCD=)" >&2; exit 1; }
command -v curl >/dev/null || { echo "kv-vs-etcd: needs curl" >&2; exit 1; }
command -v python3 >/dev/null || { echo "kv-vs-etcd: needs python3 (to find free ports)" >&2; exit 1; }

work="$(mktemp -d /tmp/kv-vs-etcd.XXXXXX)"
pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 100); do          # at most 10 s for graceful stops, then SIGKILL
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if (( rc != 0 )); then
    for f in "$work"/*.log; do [[ -f "$f" ]] && { echo "--- tail of $f" >&2; tail -n 15 "$f" >&2; }; done
  fi
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 15 distinct ports on 127.0.0.1, each free for TCP and UDP right now (gossip uses both), taken below
# the kernel's ephemeral range so outgoing connections do not grab them meanwhile.
read -r -a ports <<< "$(python3 - <<'EOF'
import random, socket
got = []
for _ in range(2000):
    if len(got) == 15:
        break
    p = random.randint(20000, 32000)
    if p in got:
        continue
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            s.bind(("127.0.0.1", p))
            s.close()
        got.append(p)
    except OSError:
        pass
print(" ".join(map(str, got)))
EOF
)"
(( ${#ports[@]} == 15 )) || { echo "kv-vs-etcd: could not find 15 free ports" >&2; exit 1; }
c_http=("${ports[@]:0:3}"); c_gossip=("${ports[@]:3:3}"); c_raft=("${ports[@]:6:3}")
e_client=("${ports[@]:9:3}"); e_peer=("${ports[@]:12:3}")

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

echo "# kv-vs-etcd $(date -u +%Y-%m-%dT%H:%M:%SZ) host=$(hostname) cpus=$(nproc) commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "# $("$java_bin" -version 2>&1 | head -n 1); $("$etcd_bin" --version | head -n 1)"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- conclave: three servers, bootstrap-expect 3, gossip join through all three
joins=()
for i in 0 1 2; do joins+=(--join "127.0.0.1:${c_gossip[$i]}"); done
conclave_pids=()
for i in 0 1 2; do
  mkdir -p "$work/c$i"
  jfr=""
  [[ -n "${CONCLAVED_JFR:-}" ]] && jfr="-XX:StartFlightRecording=filename=${CONCLAVED_JFR}/c$i.jfr,settings=${CONCLAVED_JFR_SETTINGS:-profile},dumponexit=true"
  CONCLAVED_JAVA_OPTS="${CONCLAVED_JAVA_OPTS:-} $jfr" "$root/bin/conclaved" --server --node "c$i" --data-dir "$work/c$i" --bootstrap-expect 3 --bind 127.0.0.1 \
    --http-port "${c_http[$i]}" --gossip-port "${c_gossip[$i]}" --raft-port "${c_raft[$i]}" "${joins[@]}" \
    > "$work/conclave-c$i.log" 2>&1 &
  pids+=($!); conclave_pids+=($!)
done

# --- etcd: three members, static bootstrap
cluster=""
for i in 0 1 2; do cluster+="${cluster:+,}e$i=http://127.0.0.1:${e_peer[$i]}"; done
etcd_pids=()
for i in 0 1 2; do
  "$etcd_bin" --name "e$i" --data-dir "$work/e$i" \
    --listen-client-urls "http://127.0.0.1:${e_client[$i]}" --advertise-client-urls "http://127.0.0.1:${e_client[$i]}" \
    --listen-peer-urls "http://127.0.0.1:${e_peer[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${e_peer[$i]}" \
    --initial-cluster "$cluster" --initial-cluster-token kv-vs-etcd --initial-cluster-state new \
    --logger zap --log-level warn > "$work/etcd-e$i.log" 2>&1 &
  pids+=($!); etcd_pids+=($!)
done

# conclave is healthy when every server passes /v1/health and all name the same leader.
conclave_leader() {
  local leader="" l
  for i in 0 1 2; do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:${c_http[$i]}/v1/health")" == 200 ]] || return 1
    l="$(curl -s --max-time 1 "http://127.0.0.1:${c_http[$i]}/v1/status/leader" | tr -d '"')"
    [[ -n "$l" && ( -z "$leader" || "$leader" == "$l" ) ]] || return 1
    leader="$l"
  done
  echo "$leader"
}
etcd_healthy() {
  for i in 0 1 2; do
    curl -s --max-time 1 "http://127.0.0.1:${e_client[$i]}/health" | grep -q '"health":"true"' || return 1
  done
}
# Healthy = both pass and conclave's leader stayed the same for 3 s (the first election may split,
# and JIT compilation right after start can delay heartbeats enough for one more election).
deadline=$(( $(now_ms) + 90000 ))
stable_since=0; raft_leader=""
while :; do
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "kv-vs-etcd: a server exited during start" >&2; exit 1; }; done
  (( $(now_ms) < deadline )) || { echo "kv-vs-etcd: clusters not healthy and stable within 90 s" >&2; exit 1; }
  if l="$(conclave_leader)" && etcd_healthy; then
    if [[ "$l" != "$raft_leader" ]]; then raft_leader="$l"; stable_since=$(now_ms); fi
    (( $(now_ms) - stable_since >= 3000 )) && break
  else
    raft_leader=""
  fi
  sleep 0.2
done
# Map the leader's Raft address to its HTTP port; the Raft configuration names the same server.
leader_http=""
for i in 0 1 2; do [[ "$raft_leader" == "127.0.0.1:${c_raft[$i]}" ]] && leader_http="${c_http[$i]}"; done
[[ -n "$leader_http" ]] || { echo "kv-vs-etcd: leader $raft_leader is none of ours" >&2; exit 1; }
leader_node="$(curl -s --max-time 2 "http://127.0.0.1:$leader_http/v1/operator/raft/configuration" \
  | python3 -c 'import json,sys; print(next(s["Node"] for s in json.load(sys.stdin)["Servers"] if s["Leader"]))')"
echo "# conclave leader: node=$leader_node raft=$raft_leader http=127.0.0.1:$leader_http (KvLoad re-checks /v1/health role before every phase)"
echo "# etcd members: $(for i in 0 1 2; do printf 'http://127.0.0.1:%s ' "${e_client[$i]}"; done)(KvLoad drives the one /v3/maintenance/status names leader)"

urls() { local out=""; for p in "$@"; do out+="${out:+,}http://127.0.0.1:$p"; done; echo "$out"; }
csv() { local IFS=,; echo "$*"; }
systems=()
[[ "${ONLY:-conclave}" == conclave || -z "${ONLY:-}" ]] && \
  systems+=(--conclave "$(urls "${c_http[@]}")" --conclave-pids "$(csv "${conclave_pids[@]}")")
[[ "${ONLY:-etcd}" == etcd || -z "${ONLY:-}" ]] && \
  systems+=(--etcd "$(urls "${e_client[@]}")" --etcd-pids "$(csv "${etcd_pids[@]}")")
# shellcheck disable=SC2086 # KVLOAD_JAVA_OPTS is a list of flags, split on purpose
"$java_bin" -Xms256m -Xmx1g ${KVLOAD_JAVA_OPTS:-} -cp "$jar" io.conclave.bench.KvLoad "${systems[@]}" "$@"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Leader changes seen by each server since its start (one is the first election): more means an
# election happened during the load, and the phases around it show errors.
counter() { curl -s --max-time 2 "$1" | awk -v m="$2" '$1 == m || index($1, m "{") == 1 {s += $2} END {print s + 0}'; }
printf '# leader changes seen: conclave'
for i in 0 1 2; do printf ' c%s=%s' "$i" "$(counter "http://127.0.0.1:${c_http[$i]}/v1/agent/metrics?format=prometheus" conclave_raft_leader_changes_total)"; done
printf '; etcd'
for i in 0 1 2; do printf ' e%s=%s' "$i" "$(counter "http://127.0.0.1:${e_client[$i]}/metrics" etcd_server_leader_changes_seen_total)"; done
echo
if [[ "${KEEP:-0}" == 1 ]]; then
  for i in 0 1 2; do curl -s --max-time 2 "http://127.0.0.1:${c_http[$i]}/v1/agent/metrics?format=prometheus" > "$work/metrics-c$i.prom" || true; done
fi
