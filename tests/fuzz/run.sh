#!/usr/bin/env bash
# Runs one fuzz target: run.sh build/fuzz/<t> SECONDS
#   1. every seed in tests/fuzz/corpus/<t>/ must pass (regression inputs);
#   2. every reproducer in tests/fuzz/known/<t>/ (a crash not fixed yet) is run:
#      still crashing with the signature in its .expect file: XFAIL (not an error);
#      passing: XPASS, printed loudly (fixed: move it to corpus/ as a regression);
#      crashing differently: FAIL;
#   3. fuzzes for SECONDS from the seeds (libFuzzer -fork=1 -ignore_crashes=1, so a
#      crash does not end the run); each crash found is re-run and matched against
#      the known signatures: known ones are reported, a new one fails the run and
#      its input is kept in build/fuzz/work/<t>/crashes/.
# The corpus grown by fuzzing stays in build/fuzz/work/<t>/corpus/ (kept between
# long runs; the bounded run of `make test` starts from the committed seeds only).
set -uo pipefail
bin=$1 secs=$2
t=$(basename "$bin")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
seeds=tests/fuzz/corpus/$t known=tests/fuzz/known/$t work=build/fuzz/work/$t
fail=0
mkdir -p "$work/corpus" "$work/crashes" "$work/logs"

# First signature in the log of a crashing run (for messages); for a
# sanitizer report, its kind and the first frame outside the runtime.
sig_of() {
    local l f
    l=$(grep -m1 -E 'LWIP_ASSERT:|LEAK:|DOUBLE FREE:|PANIC:|ERROR: (AddressSanitizer|libFuzzer)|runtime error:' "$1") \
        || { echo "(no signature)"; return; }
    if [[ $l == *AddressSanitizer* ]]; then
        f=$(grep -m1 -E '^ +#[0-9]+ 0x[0-9a-f]+ in ' "$1" | grep -vE ' in (__asan|__interceptor|__sanitizer)' \
            | sed -E 's/.* in ([^ ]+) ([^ ]+).*/\1 (\2)/; s|/.*/||')
        [[ -z $f ]] && f=$(grep -E '^ +#[0-9]+ 0x[0-9a-f]+ in ' "$1" | grep -vE ' in (__asan|__interceptor|__sanitizer)' \
            | head -n1 | sed -E 's/.* in ([^ ]+) ([^ ]+).*/\1 (\2)/')
        l="AddressSanitizer: $(sed -E 's/.*AddressSanitizer: ([a-z-]+).*/\1/' <<<"$l") in $f"
    fi
    echo "$l"
}

# A known crash's .expect file: one signature per line, any of which matches;
# a signature is substrings joined by " && ", all of which must be in the log
# of a run with FUZZ_TRACE=1 (so lwIP's and the servers' log lines count).
matches() {         # expect-file log -> true if one of its signatures is in log
    local line part ok
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        ok=1
        while [[ -n $line ]]; do
            part=${line%% && *}
            grep -qF -- "$part" "$2" || { ok=0; break; }
            [[ $line == *" && "* ]] && line=${line#* && } || line=
        done
        (( ok )) && return 0
    done <"$1"
    return 1
}
declare -a ksig=()
for e in "$known"/*.expect; do
    [[ -f $e ]] && ksig+=("$(basename "$e" .expect)")
done
known_match() {     # log -> name of the known crash it matches, or empty
    local k
    for k in "${ksig[@]}"; do
        matches "$known/$k.expect" "$1" && { echo "$k"; return; }
    done
}

n=0
for f in "$seeds"/*; do
    [[ -f $f ]] || continue
    n=$((n + 1))
    if ! "$bin" "$f" >"$work/logs/seed.log" 2>&1; then
        echo "FAIL $t: seed $f crashes: $(sig_of "$work/logs/seed.log")"
        fail=1
    fi
done
echo "$t: $n seed inputs run"

for name in "${ksig[@]}"; do
    if FUZZ_TRACE=1 "$bin" "$known/$name" >"$work/logs/known.log" 2>&1; then
        echo "XPASS $t: known crash $known/$name no longer crashes: fixed? move it to $seeds/"
    elif matches "$known/$name.expect" "$work/logs/known.log"; then
        echo "XFAIL $t: $name still crashes as expected ($(sig_of "$work/logs/known.log"))"
    else
        echo "FAIL $t: $name crashes differently: $(sig_of "$work/logs/known.log")"
        fail=1
    fi
done

if [[ $secs -gt 0 ]]; then
    rm -f "$work/crashes/"*
    if [[ $secs -le 120 ]]; then rm -f "$work/corpus/"*; fi
    echo "$t: fuzzing for $secs s"
    "$bin" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=0 -timeout=20 \
        -rss_limit_mb=2048 -max_len=4096 -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="$work/crashes/" "$work/corpus" "$seeds" >"$work/logs/fuzz.log" 2>&1
    grep -E '^#[0-9]+: cov|^stat::(number_of_executed_units|peak_rss)|INFO: .*crashes' \
        "$work/logs/fuzz.log" | tail -n 3
    declare -A count=() example=()
    for c in "$work/crashes/"*; do
        [[ -f $c && $c != *.log ]] || continue
        FUZZ_TRACE=1 "$bin" "$c" >"$c.log" 2>&1
        m=$(known_match "$c.log")
        if [[ -n $m ]]; then
            key="known: $m"
        elif ! grep -qE 'LWIP_ASSERT:|LEAK:|DOUBLE FREE:|PANIC:|ERROR: (Addr|Undef)|runtime error:' "$c.log"; then
            key="does not reproduce alone"
        else
            # one line per bug: the signature without addresses and pids
            key="NEW: $(sig_of "$c.log")"
            fail=1
        fi
        count[$key]=$(( ${count[$key]:-0} + 1 ))
        # keep the shortest input as the example
        if [[ -z ${example[$key]:-} ]] || (( $(stat -c %s "$c") < $(stat -c %s "${example[$key]}") )); then
            example[$key]=$c
        fi
    done
    for key in "${!count[@]}"; do
        case $key in NEW:*) lvl=FAIL ;; *) lvl=note ;; esac
        echo "$lvl $t: ${count[$key]} crash input(s), $key (e.g. ${example[$key]})"
    done
fi
exit $fail
