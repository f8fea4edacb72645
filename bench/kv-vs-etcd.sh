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
# A/B of two conclave builds or flag sets in one run: set B_ROOT=DIR (another checkout, built the same
# way) and/or B_JAVA_OPTS (JVM flags for the second cluster only; CONCLAVED_JAVA_OPTS still go to both).
# Then a second conclave cluster (servers b0..b2) starts from DIR's bin/conclaved instead of etcd,
# and KvLoad drives "conclave" (this checkout) and "conclave-b" in alternating order, phase by phase,
# so the machine's drift hits both alike; the ratio column is conclave/conclave-b. For example:
#   git worktree add /tmp/base HEAD~1 && (cd /tmp/base && mvn -B -q -DskipTests package)
#   B_ROOT=/tmp/base bench/kv-vs-etcd.sh --prewarm 40 --put-clients 64 --get-clients none --runs 5 --duration 8
#
# The machine's cores are shared: the load generator (one event-loop thread) and all six servers run
# on the same CPUs. The script prints nproc and the load average before and after.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
etcd_bin="${ETCD:-$(command -v etcd || true)}"
java_bin="${JAVA:-java}"
jar="$root/bench/target/benchmarks.jar"
[[ -f "$jar" ]] || { echo "kv-vs-etcd: $jar missing; build first: mvn -B -q -DskipTests package" >&2; exit 1; }
ab=0
if [[ -n "${B_ROOT+x}" || -n "${B_JAVA_OPTS+x}" ]]; then
  ab=1
  b_root="$(cd "${B_ROOT:-$root}" && pwd)"
  [[ -x "$b_root/bin/conclaved" ]] || { echo "kv-vs-etcd: B_ROOT=$b_root has no bin/conclaved" >&2; exit 1; }
fi
(( ab )) || [[ -x "$etcd_bin" ]] || { echo "kv-vs-etcd: etcd not found; apt-get install -y etcd-server (or set ETCD=)" >&2; exit 1; }
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

# 24 distinct ports on 127.0.0.1, each free for TCP and UDP right now (gossip uses both), taken below
# the kernel's ephemeral range so outgoing connections do not grab them meanwhile.
read -r -a ports <<< "$(python3 - <<'EOF'
import random, socket
got = []
for _ in range(4000):
    if len(got) == 24:
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
(( ${#ports[@]} == 24 )) || { echo "kv-vs-etcd: could not find 24 free ports" >&2; exit 1; }
c_http=("${ports[@]:0:3}"); c_gossip=("${ports[@]:3:3}"); c_raft=("${ports[@]:6:3}")
e_client=("${ports[@]:9:3}"); e_peer=("${ports[@]:12:3}")
b_http=("${ports[@]:15:3}"); b_gossip=("${ports[@]:18:3}"); b_raft=("${ports[@]:21:3}")

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

echo "# kv-vs-etcd $(date -u +%Y-%m-%dT%H:%M:%SZ) host=$(hostname) cpus=$(nproc) commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
if (( ab )); then
  echo "# $("$java_bin" -version 2>&1 | head -n 1); A/B: conclave=$root ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo '+changes')) conclave-b=$b_root ($(git -C "$b_root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$b_root" diff --quiet HEAD 2>/dev/null || echo '+changes')) B_JAVA_OPTS=\"${B_JAVA_OPTS:-}\""
else
  echo "# $("$java_bin" -version 2>&1 | head -n 1); $("$etcd_bin" --version | head -n 1)"
fi
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- conclave: three servers, bootstrap-expect 3, gossip join through all three
# start_conclave NAME-PREFIX ROOT EXTRA-JAVA-OPTS HTTP-PORTS GOSSIP-PORTS RAFT-PORTS (ports as "p0 p1 p2")
start_conclave() {
  local prefix="$1" dir="$2" opts="$3" i jfr
  local -a http=($4) gossip=($5) raft=($6) joins=()
  for i in 0 1 2; do joins+=(--join "127.0.0.1:${gossip[$i]}"); done
  for i in 0 1 2; do
    mkdir -p "$work/$prefix$i"
    jfr=""
    [[ -n "${CONCLAVED_JFR:-}" ]] && jfr="-XX:StartFlightRecording=filename=${CONCLAVED_JFR}/$prefix$i.jfr,settings=${CONCLAVED_JFR_SETTINGS:-profile},dumponexit=true"
    CONCLAVED_JAVA_OPTS="${CONCLAVED_JAVA_OPTS:-} $opts $jfr" "$dir/bin/conclaved" --server --node "$prefix$i" --data-dir "$work/$prefix$i" \
      --bootstrap-expect 3 --bind 127.0.0.1 --http-port "${http[$i]}" --gossip-port "${gossip[$i]}" --raft-port "${raft[$i]}" "${joins[@]}" \
      > "$work/conclave-$prefix$i.log" 2>&1 &
    pids+=($!); started_pids+=($!)
  done
}
started_pids=()
start_conclave c "$root" "" "${c_http[*]}" "${c_gossip[*]}" "${c_raft[*]}"
conclave_pids=("${started_pids[@]}")
b_pids=()
if (( ab )); then
  started_pids=()
  start_conclave b "$b_root" "${B_JAVA_OPTS:-}" "${b_http[*]}" "${b_gossip[*]}" "${b_raft[*]}"
  b_pids=("${started_pids[@]}")
fi

# --- etcd: three members, static bootstrap
cluster=""
for i in 0 1 2; do cluster+="${cluster:+,}e$i=http://127.0.0.1:${e_peer[$i]}"; done
etcd_pids=()
for i in 0 1 2; do
  (( ab )) && break # the A/B drives two conclave clusters, no etcd
  "$etcd_bin" --name "e$i" --data-dir "$work/e$i" \
    --listen-client-urls "http://127.0.0.1:${e_client[$i]}" --advertise-client-urls "http://127.0.0.1:${e_client[$i]}" \
    --listen-peer-urls "http://127.0.0.1:${e_peer[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${e_peer[$i]}" \
    --initial-cluster "$cluster" --initial-cluster-token kv-vs-etcd --initial-cluster-state new \
    --logger zap --log-level warn > "$work/etcd-e$i.log" 2>&1 &
  pids+=($!); etcd_pids+=($!)
done

# conclave is healthy when every server passes /v1/health and all name the same leader.
conclave_leader() { # HTTP-PORT...
  local leader="" l p
  for p in "$@"; do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$p/v1/health")" == 200 ]] || return 1
    l="$(curl -s --max-time 1 "http://127.0.0.1:$p/v1/status/leader" | tr -d '"')"
    [[ -n "$l" && ( -z "$leader" || "$leader" == "$l" ) ]] || return 1
    leader="$l"
  done
  echo "$leader"
}
etcd_healthy() {
  (( ab )) && return 0
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
  if l="$(conclave_leader "${c_http[@]}")" && { (( ! ab )) || lb="$(conclave_leader "${b_http[@]}")"; } && etcd_healthy; then
    (( ab )) && l="$l|$lb"
    if [[ "$l" != "$raft_leader" ]]; then raft_leader="$l"; stable_since=$(now_ms); fi
    (( $(now_ms) - stable_since >= 3000 )) && break
  else
    raft_leader=""
  fi
  sleep 0.2
done
# Map the leader's Raft address to its HTTP port; the Raft configuration names the same server.
print_leader() { # NAME RAFT-LEADER "RAFT-PORTS" "HTTP-PORTS"
  local name="$1" leader="$2" i leader_http="" node
  local -a raft=($3) http=($4)
  for i in 0 1 2; do [[ "$leader" == "127.0.0.1:${raft[$i]}" ]] && leader_http="${http[$i]}"; done
  [[ -n "$leader_http" ]] || { echo "kv-vs-etcd: $name leader $leader is none of ours" >&2; exit 1; }
  node="$(curl -s --max-time 2 "http://127.0.0.1:$leader_http/v1/operator/raft/configuration" \
    | python3 -c 'import json,sys; print(next(s["Node"] for s in json.load(sys.stdin)["Servers"] if s["Leader"]))')"
  echo "# $name leader: node=$node raft=$leader http=127.0.0.1:$leader_http (KvLoad re-checks /v1/health role before every phase)"
}
print_leader conclave "${raft_leader%%|*}" "${c_raft[*]}" "${c_http[*]}"
if (( ab )); then
  print_leader conclave-b "${raft_leader##*|}" "${b_raft[*]}" "${b_http[*]}"
else
  echo "# etcd members: $(for i in 0 1 2; do printf 'http://127.0.0.1:%s ' "${e_client[$i]}"; done)(KvLoad drives the one /v3/maintenance/status names leader)"
fi

urls() { local out=""; for p in "$@"; do out+="${out:+,}http://127.0.0.1:$p"; done; echo "$out"; }
csv() { local IFS=,; echo "$*"; }
systems=()
if (( ab )); then
  systems+=(--conclave "$(urls "${c_http[@]}")" --conclave-pids "$(csv "${conclave_pids[@]}")")
  systems+=(--conclave-b "$(urls "${b_http[@]}")" --conclave-b-pids "$(csv "${b_pids[@]}")")
else
  [[ "${ONLY:-conclave}" == conclave || -z "${ONLY:-}" ]] && \
    systems+=(--conclave "$(urls "${c_http[@]}")" --conclave-pids "$(csv "${conclave_pids[@]}")")
  [[ "${ONLY:-etcd}" == etcd || -z "${ONLY:-}" ]] && \
    systems+=(--etcd "$(urls "${e_client[@]}")" --etcd-pids "$(csv "${etcd_pids[@]}")")
fi
# shellcheck disable=SC2086 # KVLOAD_JAVA_OPTS is a list of flags, split on purpose
"$java_bin" -Xms256m -Xmx1g ${KVLOAD_JAVA_OPTS:-} -cp "$jar" io.conclave.bench.KvLoad "${systems[@]}" "$@"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Leader changes seen by each server since its start (one is the first election): more means an
# election happened during the load, and the phases around it show errors.
counter() { curl -s --max-time 2 "$1" | awk -v m="$2" '$1 == m || index($1, m "{") == 1 {s += $2} END {print s + 0}'; }
printf '# leader changes seen: conclave'
for i in 0 1 2; do printf ' c%s=%s' "$i" "$(counter "http://127.0.0.1:${c_http[$i]}/v1/agent/metrics?format=prometheus" conclave_raft_leader_changes_total)"; done
if (( ab )); then
  printf '; conclave-b'
  for i in 0 1 2; do printf ' b%s=%s' "$i" "$(counter "http://127.0.0.1:${b_http[$i]}/v1/agent/metrics?format=prometheus" conclave_raft_leader_changes_total)"; done
else
  printf '; etcd'
  for i in 0 1 2; do printf ' e%s=%s' "$i" "$(counter "http://127.0.0.1:${e_client[$i]}/metrics" etcd_server_leader_changes_seen_total)"; done
fi
echo
if [[ "${KEEP:-0}" == 1 ]]; then
  for i in 0 1 2; do curl -s --max-time 2 "http://127.0.0.1:${c_http[$i]}/v1/agent/metrics?format=prometheus" > "$work/metrics-c$i.prom" || true; done
  if (( ab )); then
    for i in 0 1 2; do curl -s --max-time 2 "http://127.0.0.1:${b_http[$i]}/v1/agent/metrics?format=prometheus" > "$work/metrics-b$i.prom" || true; done
  fi
fi
