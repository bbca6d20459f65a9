#!/bin/sh
# fuzz/run_target.sh: one libFuzzer target's run for make fuzz-rt and
# make fuzz-ngx, and its line in REPORT/summary.txt.
#
#   fuzz/run_target.sh NAME BINARY WORK REPORT SECONDS RUNS [MAX_LEN]
#
# WORK (the corpus libFuzzer grows) is seeded from the repo's
# fuzz/corpus/NAME, which only minimized reproducers join, by hand;
# fuzz/dict/NAME.dict is used when there is one. The log goes to
# REPORT/NAME.log, findings to REPORT/NAME/. Exit status 1 when the run
# failed (a finding, or the target could not start).
set -u

[ $# -ge 6 ] || { echo "usage: $0 NAME BINARY WORK REPORT SECONDS RUNS [MAX_LEN]" >&2; exit 2; }
name=$1 bin=$2 work=$3 report=$4 seconds=$5 runs=$6 max=${7:-}
top=$(cd "$(dirname "$0")/.." && pwd)
log=$report/$name.log

mkdir -p "$work" "$report/$name"
cp -n "$top/fuzz/corpus/$name"/* "$work/" 2>/dev/null
dict=
[ -f "$top/fuzz/dict/$name.dict" ] && dict=-dict=$top/fuzz/dict/$name.dict
[ -n "$max" ] && max=-max_len=$max

rc=0
start=$(date +%s)
ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$bin" $dict $max -max_total_time="$seconds" -runs="$runs" -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$report/$name/" "$work" \
        > "$log" 2>&1 || rc=1

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
found=$(ls "$report/$name" | grep -cE '^(crash|leak|timeout|oom)-')
echo "$(date -u +%FT%TZ) $name: ${execs:-?} executions in" \
    "$(( $(date +%s) - start )) s, cov ${cov:-?} edges, $found crashes," \
    "corpus $(ls "$work" | wc -l) inputs" | tee -a "$report/summary.txt"
if [ "$found" -gt 0 ]; then
    tail -40 "$log"
    ls "$report/$name/"
fi
exit $rc
