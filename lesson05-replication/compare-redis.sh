#!/usr/bin/env bash
# Compares lesson 5's server with the real redis-server, on this machine:
#   1. redis-benchmark -t set,get -n N -r 100000 -c 50      (ours everysec vs
#      redis AOF everysec, and vs redis with no persistence at all)
#   2. the same with -P 16 (pipelining)
#   3. -t set -n NDUR -c 50: ours --fsync always vs redis appendfsync always
#   4. resident memory with KEYS keys `key:0000000`.. holding "xxx"
#   5. redis-benchmark's default suite (every test, no -t) -n NDEF -c 50:
#      ours everysec vs redis AOF everysec (SUITE=0 skips it; BASIC=0 runs
#      it alone, without 1-4)
#   6. GET by pipeline depth, -P 1, 4, 16 and 64, -c 50, NPIPE requests per
#      unit of depth: ours everysec vs redis AOF everysec (PIPE=0 skips it)
# Each run gets a fresh server and a fresh data directory; runs alternate
# between the servers, REPS times; the table shows every run and the median.
# Server CPU (utime+stime from /proc, µs per request) is shown per run.
#
#   lesson05-replication/compare-redis.sh            # REPS=3 N=1000000 ...
#   REPS=1 N=100000 NDUR=20000 KEYS=100000 lesson05-replication/compare-redis.sh
set -euo pipefail

REPS=${REPS:-3}
N=${N:-1000000}
NDUR=${NDUR:-200000}
KEYS=${KEYS:-1000000}
NDEF=${NDEF:-100000}
SUITE=${SUITE:-1}
PIPE=${PIPE:-1}
NPIPE=${NPIPE:-50000}
BASIC=${BASIC:-1}

for tool in redis-server redis-benchmark redis-cli; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "compare-redis: $tool not found; skipping the comparison (apt-get install redis-server redis-tools)"
        exit 0
    fi
done

cd "$(dirname "$0")/.."
echo "building lesson05-replication (release)..." >&2
cargo build --release -p lesson05-replication >&2
BIN="${CARGO_TARGET_DIR:-target}/release/lesson05-replication"
[[ -x "$BIN" ]] || { echo "compare-redis: no binary at $BIN" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/compare-redis.XXXXXX")
SPID=""   # the running server's pid: one server runs at a time
SPORT=""  # and its port
cleanup() {
    if [[ -n "$SPID" ]]; then
        kill -TERM "$SPID" 2>/dev/null || true
        wait "$SPID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TICK=$(getconf CLK_TCK)

# A loopback port nobody listens on, below the ephemeral range that
# redis-benchmark's own connections take ports from.
free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    echo "compare-redis: no free port" >&2
    exit 1
}

# Succeeds once the server answers PING; fails if it died (say, the port
# was taken after all).
wait_ready() {
    for _ in $(seq 1 200); do
        if [[ "$(redis-cli -p "$SPORT" ping 2>/dev/null)" == PONG ]]; then
            return 0
        fi
        kill -0 "$SPID" 2>/dev/null || return 1
        sleep 0.05
    done
    echo "compare-redis: server on port $SPORT never answered" >&2
    exit 1
}

# start ours-everysec|ours-always|redis-plain|redis-aof|redis-always
start() {
    local try
    for try in 1 2 3 4 5; do
        start_once "$1" && return
        wait "$SPID" 2>/dev/null || true
        SPID=""
        echo "compare-redis: $1 did not start (try $try):" >&2
        tail -3 "$WORK/last.log" >&2
    done
    exit 1
}

start_once() {
    local kind=$1 dir
    SPORT=$(free_port)
    dir=$(mktemp -d "$WORK/$kind.XXXXXX")
    case $kind in
        ours-everysec) "$BIN" server --port "$SPORT" --data-dir "$dir/data" --fsync everysec 2>"$dir/log" & ;;
        ours-always) "$BIN" server --port "$SPORT" --data-dir "$dir/data" --fsync always 2>"$dir/log" & ;;
        redis-plain) redis-server --port "$SPORT" --bind 127.0.0.1 --dir "$dir" --save '' \
            --appendonly no --daemonize no >"$dir/log" 2>&1 & ;;
        redis-aof) redis-server --port "$SPORT" --bind 127.0.0.1 --dir "$dir" --save '' \
            --appendonly yes --appendfsync everysec --daemonize no >"$dir/log" 2>&1 & ;;
        redis-always) redis-server --port "$SPORT" --bind 127.0.0.1 --dir "$dir" --save '' \
            --appendonly yes --appendfsync always --daemonize no >"$dir/log" 2>&1 & ;;
        *) echo "unknown server $kind" >&2; exit 1 ;;
    esac
    SPID=$!
    ln -sf "$dir/log" "$WORK/last.log"
    wait_ready
}

stop() {
    kill -TERM "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    SPID=""
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SPID/stat"; }

declare -A RESULT   # "test|server|cmd" -> "rps rps rps"
declare -A CPU      # "test|server" -> "us/req us/req ..."
ORDER=""            # the tests' names, in the order they first ran

# bench TEST SERVER REQUESTS redis-benchmark-args...
bench() {
    local test=$1 server=$2 requests=$3 before after out line cmd rps
    shift 3
    start "$server"
    before=$(cpu_ticks)
    out=$(redis-benchmark -p "$SPORT" -q "$@" | tr '\r' '\n' | grep 'requests per second')
    after=$(cpu_ticks)
    stop
    while read -r line; do
        cmd=${line%%:*}
        cmd=${cmd// /_}   # "MSET (10 keys)" -> "MSET_(10_keys)": one word
        rps=${line#*: }   # "MSET (10 keys): 12345.67 requests per second, ..."
        rps=${rps%% *}
        [[ " $ORDER " == *" $cmd "* ]] || ORDER+=" $cmd"
        RESULT["$test|$server|$cmd"]+="$rps "
        echo "  $test $server $cmd $rps" >&2
    done <<<"$out"
    CPU["$test|$server"]+="$(awk -v t=$((after - before)) -v hz="$TICK" -v n="$requests" \
        'BEGIN{printf "%.2f", t / hz * 1e6 / n}') "
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

for rep in $(seq 1 "$REPS"); do
    echo "repetition $rep/$REPS" >&2
    if [[ $BASIC == 1 ]]; then
        for server in ours-everysec redis-aof redis-plain; do
            bench "1:-c50" "$server" $((2 * N)) -t set,get -n "$N" -r 100000 -c 50
        done
        for server in ours-everysec redis-aof redis-plain; do
            bench "2:-c50-P16" "$server" $((2 * N)) -t set,get -n "$N" -r 100000 -c 50 -P 16
        done
        for server in ours-always redis-always; do
            bench "3:always" "$server" "$NDUR" -t set -n "$NDUR" -r 100000 -c 50
        done
    fi
    if [[ $SUITE == 1 ]]; then
        for server in ours-everysec redis-aof; do
            bench "5:default" "$server" $((20 * NDEF)) -n "$NDEF" -c 50
        done
    fi
    if [[ $PIPE == 1 ]]; then
        for depth in 1 4 16 64; do
            for server in ours-everysec redis-aof; do
                bench "6:pipeline-$depth" "$server" $((NPIPE * depth)) \
                    -t get -n $((NPIPE * depth)) -r 100000 -c 50 -P "$depth"
            done
        done
    fi
done

# Memory: KEYS distinct keys loaded through redis-cli --pipe.
declare -A RSS
for server in $([[ $BASIC == 1 ]] && echo ours-everysec redis-plain); do
    start "$server"
    awk -v n="$KEYS" 'BEGIN { for (i = 0; i < n; i++) { k = sprintf("key:%07d", i);
        printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$3\r\nxxx\r\n", length(k), k } }' |
        redis-cli -p "$SPORT" --pipe >/dev/null
    size=$(redis-cli -p "$SPORT" dbsize)
    if [[ "$size" != "$KEYS" ]]; then
        echo "compare-redis: $server holds $size keys, not $KEYS" >&2
        exit 1
    fi
    RSS[$server]=$(awk '/^VmRSS:/ {print $2}' "/proc/$SPID/status")
    stop
done

if [[ $BASIC == 1 ]]; then
    printf '\n%-11s %-14s %-4s %-36s %11s %10s %s\n' test server cmd "runs (requests/s)" median ours/this "server CPU µs/req per run"
    ours_of() { case $1 in 3:*) echo ours-always ;; *) echo ours-everysec ;; esac; }
    for test in 1:-c50 2:-c50-P16 3:always; do
        case $test in
            3:*) servers="ours-always redis-always"; cmds=SET ;;
            *) servers="ours-everysec redis-aof redis-plain"; cmds="SET GET" ;;
        esac
        for cmd in $cmds; do
            ours=$(median <<<"${RESULT["$test|$(ours_of "$test")|$cmd"]}")
            for server in $servers; do
                runs=${RESULT["$test|$server|$cmd"]}
                med=$(median <<<"$runs")
                ratio=$(awk -v a="$ours" -v b="$med" 'BEGIN{printf "%.2fx", a / b}')
                [[ $server == ours-* ]] && ratio=-
                printf '%-11s %-14s %-4s %-36s %11.0f %10s %s\n' "$test" "$server" "$cmd" "$runs" \
                    "$med" "$ratio" "${CPU["$test|$server"]}"
            done
        done
    done
fi
if [[ $SUITE == 1 ]]; then
    printf '\n%-40s %-36s %10s %-36s %10s %s\n' "5:default (-n $NDEF -c 50)" "ours-everysec runs" median "redis-aof runs" median ours/redis
    for cmd in $ORDER; do
        [[ -n ${RESULT["5:default|ours-everysec|$cmd"]:-} ]] || continue
        ours_runs=${RESULT["5:default|ours-everysec|$cmd"]}
        redis_runs=${RESULT["5:default|redis-aof|$cmd"]:-}
        ours=$(median <<<"$ours_runs")
        theirs=$(median <<<"$redis_runs")
        printf '%-40s %-36s %10.0f %-36s %10.0f %s\n' "$cmd" "$ours_runs" "$ours" "$redis_runs" "$theirs" \
            "$(awk -v a="$ours" -v b="$theirs" 'BEGIN{printf "%.2fx", a / b}')"
    done
    printf '%-40s %s\n' "server CPU µs/req per run, ours" "${CPU["5:default|ours-everysec"]}"
    printf '%-40s %s\n' "server CPU µs/req per run, redis" "${CPU["5:default|redis-aof"]}"
fi
if [[ $PIPE == 1 ]]; then
    printf '\n%-24s %12s %12s %s\n' "6:GET by pipeline depth" ours-everysec redis-aof ours/redis
    for depth in 1 4 16 64; do
        ours=$(median <<<"${RESULT["6:pipeline-$depth|ours-everysec|GET"]}")
        theirs=$(median <<<"${RESULT["6:pipeline-$depth|redis-aof|GET"]}")
        printf '%-24s %12.0f %12.0f %s\n' "-P $depth" "$ours" "$theirs" \
            "$(awk -v a="$ours" -v b="$theirs" 'BEGIN{printf "%.2fx", a / b}')"
    done
fi

# For `cargo x measure --set lesson05-redis`: every median, and the range
# of server CPU per request, as `measure: id = value` lines.
echo
for key in "${!RESULT[@]}"; do
    echo "measure: ${key//|//} = $(median <<<"${RESULT[$key]}")"
done | sort
for key in "${!CPU[@]}"; do
    values=$(tr ' ' '\n' <<<"${CPU[$key]}" | grep -v '^$' | sort -g)
    echo "measure: ${key//|//}/cpu min = $(head -1 <<<"$values")"
    echo "measure: ${key//|//}/cpu max = $(tail -1 <<<"$values")"
done | sort
for server in "${!RSS[@]}"; do
    echo "measure: memory/$server/$KEYS keys = ${RSS[$server]}"
done | sort

[[ $BASIC == 1 ]] || exit 0

printf '\n4:memory    %d keys: ours-everysec VmRSS %d kB, redis-plain VmRSS %d kB, ours/redis %s\n' \
    "$KEYS" "${RSS[ours-everysec]}" "${RSS[redis-plain]}" \
    "$(awk -v a="${RSS[ours-everysec]}" -v b="${RSS[redis-plain]}" 'BEGIN{printf "%.2fx", a / b}')"
