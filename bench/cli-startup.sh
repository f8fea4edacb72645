#!/usr/bin/env bash
# End-to-end start-up of the CLI: how long `bin/conclave members` takes against a local dev daemon,
# as a user runs it (a fresh JVM each time). Medians of N runs (default 20) after 3 warm-ups, for:
#   bin/conclave             the shipped script: C1 only, SerialGC, AppCDS archive (docs/cli.md)
#   bin/conclave --version   the same start-up without the HTTP exchange
#   CONCLAVE_CDS=0           the same flags without the class-data-sharing archive
#   java -jar (no flags)     the JVM's defaults, for comparison
# Uses hyperfine when installed; otherwise a bash loop timing each run with date +%s%N and, when
# /usr/bin/time exists, the run's CPU time (user+sys), which a busy machine inflates less than wall time.
#
#   mvn -B -q -DskipTests package && bench/cli-startup.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
port="${BENCH_HTTP_PORT:-18620}"
addr="http://127.0.0.1:$port"
jar="$(ls cli/target/conclave-cli-*.jar 2>/dev/null | grep -v '/original-' | head -n 1 || true)"
[[ -n "$jar" ]] || { echo "cli jar missing: mvn -B -q -DskipTests package" >&2; exit 1; }

bin/conclaved --dev --node bench --http-port "$port" --gossip-port $((port + 1)) --raft-port $((port + 2)) \
  --log-level warn >/tmp/cli-startup-daemon.log 2>&1 &
daemon=$!
trap 'kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do   # until the daemon answers (health exit 3 = unreachable)
  rc=0; bin/conclave --http-addr "$addr" health >/dev/null 2>&1 || rc=$?
  [[ $rc -ne 3 ]] && break
done
bin/conclave --http-addr "$addr" members

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

measure() {  # label, command...
  local label="$1"; shift
  for _ in 1 2 3; do "$@" >/dev/null 2>&1; done
  if command -v hyperfine >/dev/null 2>&1; then
    hyperfine -N --warmup 0 --runs "$runs" --export-json /tmp/cli-startup.json "$(printf '%q ' "$@")" >/dev/null
    printf '%-24s median %4d ms wall  (hyperfine)\n' "$label" \
      "$(python3 -c 'import json;print(int(json.load(open("/tmp/cli-startup.json"))["results"][0]["median"]*1000))')"
    return
  fi
  local walls=() cpus=()
  for _ in $(seq 1 "$runs"); do
    local start end
    start=$(date +%s%N)
    if [[ -x /usr/bin/time ]]; then
      /usr/bin/time -o /tmp/cli-startup.time -f '%U %S' "$@" >/dev/null 2>&1 || true
      cpus+=("$(tail -n 1 /tmp/cli-startup.time | awk '{print int(($1+$2)*1000)}')")
    else
      "$@" >/dev/null 2>&1
    fi
    end=$(date +%s%N)
    walls+=($(( (end - start) / 1000000 )))
  done
  local cpu="n/a"
  [[ ${#cpus[@]} -gt 0 ]] && cpu="$(printf '%s\n' "${cpus[@]}" | median) ms"
  printf '%-24s median %4s ms wall, %s cpu (min %s, max %s ms wall)\n' "$label" \
    "$(printf '%s\n' "${walls[@]}" | median)" "$cpu" \
    "$(printf '%s\n' "${walls[@]}" | sort -n | head -n 1)" "$(printf '%s\n' "${walls[@]}" | sort -n | tail -n 1)"
}

echo "runs=$runs  $(nproc) cpus  load average: $(cut -d' ' -f1-3 /proc/loadavg)  $(java -version 2>&1 | head -n 1)"
measure "bin/conclave" bin/conclave --http-addr "$addr" members
measure "bin/conclave --version" bin/conclave --version
measure "CONCLAVE_CDS=0" env CONCLAVE_CDS=0 bin/conclave --http-addr "$addr" members
measure "java -jar (no flags)" java -jar "$jar" --http-addr "$addr" members
measure "java -version (floor)" java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto -version
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
