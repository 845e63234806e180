#!/bin/bash
# Model-checks tests/model/virtio_napi.pml with SPIN (pan, safety assertions
# plus `ltl live` under weak fairness, state bound MEMLIM MB / depth -m):
#   1. the model as the C code is passes in every configuration;
#   2. each MUTANT_* (a fence, the re-check, cli before hlt, a TX stop/wake
#      step removed) gives a counterexample in the configurations listed;
#   3. the steps the model shows redundant in this driver are reported.
# run.sh --trail MUTANT CONFIG   prints the counterexample, step by step.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${BUILD:-build}/model
mkdir -p "$out"
out=$(cd "$out" && pwd)
MEMLIM=${MODEL_MEMLIM:-1024}
DEPTH=${MODEL_DEPTH:-200000}

command -v spin >/dev/null || { echo "model: spin not installed (apt-get install spin)"; exit 1; }

# Configurations: RX path alone, TX path alone, both (smaller), each with the
# ring flags and with VIRTIO_F_EVENT_IDX.
declare -A CFG=(
    [rx]="-DTX_TOTAL=0"             [rx-ev]="-DTX_TOTAL=0 -DEVENT_IDX"
    [tx]="-DRX_TOTAL=0"             [tx-ev]="-DRX_TOTAL=0 -DEVENT_IDX"
    [both]="-DRX_TOTAL=2 -DTX_TOTAL=2" [both-ev]="-DRX_TOTAL=2 -DTX_TOTAL=2 -DEVENT_IDX"
)
ORDER="rx rx-ev tx tx-ev both both-ev"

# Mutant -> configurations where it must give a counterexample.
declare -A MUST_FAIL=(
    [MUTANT_POLL_FENCE]="rx rx-ev tx"      # vq_poll's mb()
    [MUTANT_KICK_FENCE]="tx tx-ev"         # vq_kick_prepare's mb()
    [MUTANT_DELAYED_FENCE]="tx-ev"         # vq_enable_cb_delayed's mb() (event idx only)
    [MUTANT_NO_RECHECK]="rx rx-ev"         # vq_poll after napi_complete_done
    [MUTANT_IDLE_NO_CLI]="rx rx-ev tx-ev"  # kernel_idle checks with interrupts on
    [MUTANT_TX_STOP_NO_RECLAIM]="tx tx-ev" # tx_stop ignores vq_enable_cb_delayed's false
    [MUTANT_TX_SOFTIRQ_NO_REARM]="tx"      # vnet_tx_softirq leaves a stopped queue unarmed
)
MUTANT_ORDER="MUTANT_POLL_FENCE MUTANT_KICK_FENCE MUTANT_DELAYED_FENCE MUTANT_NO_RECHECK
              MUTANT_IDLE_NO_CLI MUTANT_TX_STOP_NO_RECLAIM MUTANT_TX_SOFTIRQ_NO_REARM"
# No counterexample expected, and why (see README in this directory).
declare -A REDUNDANT=(
    [MUTANT_NO_MISSED]="the re-check after napi_complete_done already catches an interrupt during the poll"
    [MUTANT_GETBUF_FENCE]="vq_get_buf stores used_event with callbacks on only in TX reclaim while stopped, where the stale value is the delayed target the device still reaches"
    [MUTANT_NO_IRQ_MASK]="unmasked, the device only interrupts more often: a cost, not a lost wakeup (tests/unit/test_vnet_irq.c catches it)"
)

# check NAME "DEFINES" -> prints result, returns 0 no error, 1 counterexample, 2 inconclusive
check() {
    local name=$1 defs=$2 d="$out/$1"
    rm -rf "$d" && mkdir -p "$d"
    cp "$here/virtio_napi.pml" "$d/"
    (cd "$d" && spin $defs -a virtio_napi.pml >spin.log 2>&1) || { cat "$d/spin.log"; return 2; }
    (cd "$d" && ${HOSTCC:-gcc} -O1 -w -DMEMLIM=$MEMLIM -DNFAIR=3 -o pan pan.c) || return 2
    (cd "$d" && ./pan -a -f -n -m$DEPTH >pan.log 2>&1) || true
    local errs states
    errs=$(grep -o 'errors: [0-9]*' "$d/pan.log" | awk '{print $2}')
    states=$(grep 'states, stored' "$d/pan.log" | awk '{print $1}')
    if grep -q 'max search depth too small\|out of memory\|memory limit' "$d/pan.log"; then
        echo "  $name: INCONCLUSIVE (state bound hit, see $d/pan.log)"
        return 2
    fi
    if [ "${errs:-x}" = 0 ]; then
        echo "  $name: no counterexample ($states states)"
        return 0
    fi
    echo "  $name: counterexample: $(grep -m1 -E 'acceptance cycle|assertion violated|invalid end' "$d/pan.log" | sed 's/^pan:1: //')"
    return 1
}

if [ "${1:-}" = --trail ]; then
    m=$2 c=$3 d="$out/trail"
    rm -rf "$d" && mkdir -p "$d" && cp "$here/virtio_napi.pml" "$d/" && cd "$d"
    spin ${CFG[$c]} -D$m -a virtio_napi.pml >/dev/null
    ${HOSTCC:-gcc} -O1 -w -DMEMLIM=$MEMLIM -DNFAIR=3 -o pan pan.c
    ./pan -a -f -n -m$DEPTH >/dev/null || true
    spin ${CFG[$c]} -D$m -t -p -g virtio_napi.pml
    exit 0
fi

fail=0
echo "model: the protocol as implemented"
for c in $ORDER; do
    check "$c" "${CFG[$c]}" || fail=1
done
echo "model: each protocol step removed must give a counterexample"
for m in $MUTANT_ORDER; do
    for c in ${MUST_FAIL[$m]}; do
        rc=0; check "$m/$c" "${CFG[$c]} -D$m" || rc=$?
        [ $rc -eq 1 ] || { echo "    ^ expected a counterexample"; fail=1; }
    done
done
echo "model: steps this driver does not need (no counterexample expected)"
for m in MUTANT_NO_MISSED MUTANT_GETBUF_FENCE MUTANT_NO_IRQ_MASK; do
    for c in rx-ev both-ev; do
        rc=0; check "$m/$c" "${CFG[$c]} -D$m" || rc=$?
        [ $rc -ne 2 ] || fail=1
    done
    echo "    ($m: ${REDUNDANT[$m]})"
done
if [ $fail -ne 0 ]; then echo "model: FAILED"; exit 1; fi
echo "model: passed"
