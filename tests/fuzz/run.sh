#!/bin/sh
# tests/fuzz/run.sh: runs one libFuzzer target for `make check-fuzz` and
# `make fuzz`.  Usage: tests/fuzz/run.sh check|fuzz NAME SECONDS
#
#   check  every file of regress/NAME/ and corpus/NAME/ once, as plain
#          inputs, then SECONDS of fuzzing from the seeds in a fresh
#          scratch corpus (build/fuzz/check/NAME/)
#   fuzz   SECONDS of fuzzing; new corpus entries are kept in
#          build/fuzz/corpus/NAME/ between runs (the seeds stay as they are)
#
# The target's files are found by name: tests/fuzz/NAME.dict (optional
# dictionary) and tests/fuzz/NAME.options (optional extra libFuzzer flags,
# e.g. -max_len).  Any crash, leak, timeout (-timeout) or OOM (-rss_limit_mb)
# fails with the reproducer's path; a run that passes prints libFuzzer's
# final stats and coverage.  Run from the top of the tree.
set -u

mode=${1:?usage: run.sh check|fuzz NAME SECONDS}
name=${2:?usage: run.sh check|fuzz NAME SECONDS}
secs=${3:?usage: run.sh check|fuzz NAME SECONDS}

bin=build/fuzz/fuzz_$name
dir=tests/fuzz
out=build/fuzz/out/$name
mkdir -p "$out"

set -- -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$out/"
[ -f "$dir/$name.dict" ] && set -- "$@" -dict="$dir/$name.dict"
if [ -f "$dir/$name.options" ]; then
    # shellcheck disable=SC2046
    set -- "$@" $(grep -v '^#' "$dir/$name.options")
fi

# A wedged run (a sanitizer stuck reporting an OOM has been seen) must not
# hang make: each run gets its budget plus 60 s, then is killed.
guard() {
    limit=$1
    shift
    timeout -k 10 "$limit" "$@"
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# The input a failed run died on: the artifact libFuzzer wrote, or for a
# plain-input run the file it was running.
failed() {
    log=$1
    echo "== fuzz $name: FAILED ($2)" >&2
    tail -n 60 "$log" >&2
    repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    [ -n "$repro" ] || \
        repro=$(sed -n 's/^Running: \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "== fuzz $name: reproducer: ${repro:-unknown} (log: $log)" >&2
    echo "== fuzz $name: replay: $bin $repro" >&2
    exit 1
}

# A value of libFuzzer's -print_final_stats.
final_stat() {
    sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

summary() {
    log=$1
    execs=$(final_stat number_of_executed_units "$log")
    rate=$(final_stat average_exec_per_sec "$log")
    rss=$(final_stat peak_rss_mb "$log")
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9/]*[a-zA-Z]*' "$log" \
          | tail -n 1)
    echo "== fuzz $name: ${execs:-?} executions (${rate:-?}/s), $cov," \
         "peak RSS ${rss:-?} MB, no crash"
}

if [ "$mode" = check ]; then
    files=$(find "$dir/regress/$name" "$dir/corpus/$name" -type f \
            2>/dev/null | sort)
    if [ -n "$files" ]; then
        log=$out/plain.log
        n=$(echo "$files" | wc -l)
        # shellcheck disable=SC2086
        guard $((n * 10 + 60)) "$bin" "$@" $files >"$log" 2>&1 \
            || failed "$log" "plain inputs"
        echo "== fuzz $name: $n seed and regression inputs pass"
    fi
    scratch=build/fuzz/check/$name
    rm -rf "$scratch"
elif [ "$mode" = fuzz ]; then
    scratch=build/fuzz/corpus/$name
else
    echo "usage: run.sh check|fuzz NAME SECONDS" >&2
    exit 2
fi

mkdir -p "$scratch"
seeds=
[ -d "$dir/corpus/$name" ] && seeds=$dir/corpus/$name
log=$out/$mode.log
echo "== fuzz $name: fuzzing for $secs s (log: $log)"
# shellcheck disable=SC2086
guard $((secs + 60)) "$bin" "$@" -max_total_time="$secs" "$scratch" $seeds \
    >"$log" 2>&1 || failed "$log" "fuzzing"
summary "$log"
