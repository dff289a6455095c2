#!/bin/sh
# Times the `replay` example, `spoki billing replay` and a bare serde borrow-parse of the same
# event log, each as a whole process (start, read, parse, bill, exit), in alternating order,
# RUNS times (default 5), and prints every wall time and each median.
#
#   scripts/replay-vs-parse.sh [CUSTOMERS] [EVENTS]     # default 100000 1000000
set -eu
customers=${1:-100000}
events=${2:-1000000}
runs=${RUNS:-5}
dir=${TMPDIR:-/tmp}/spoki-replay-vs-parse
mkdir -p "$dir"
cargo build -q --release -p spoki-billing --example gen_events --example replay --example bare_parse
cargo build -q --release -p spoki-cli
bin=target/release
log="$dir/events-$customers-$events.jsonl"
card="$dir/rate-card.json"
[ -s "$log" ] || "$bin/examples/gen_events" "$log" --customers "$customers" --events "$events" --rate-card "$card" >/dev/null
# Wall seconds of one command, from the shell's clock.
wall() {
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}
: > "$dir/times"
i=0
while [ "$i" -lt "$runs" ]; do
    echo "parse $(wall "$bin/examples/bare_parse" "$log")" >> "$dir/times"
    echo "example $(wall "$bin/examples/replay" "$log" "$card" --model conversation_2024)" >> "$dir/times"
    echo "cli $(wall "$bin/spoki" billing replay "$log" --rate-card "$card")" >> "$dir/times"
    i=$((i + 1))
done
cat "$dir/times"
for what in parse example cli; do
    grep "^$what " "$dir/times" | cut -d' ' -f2 | sort -n | awk -v w="$what" \
        '{ t[NR] = $1 } END { printf "%s median %.3f s\n", w, t[int((NR + 1) / 2)] }'
done
