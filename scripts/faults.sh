#!/usr/bin/env bash
# Fault injection: SIGKILL a run and a sweep at random moments, go on (resume / rerun), and compare with runs
# never stopped, bit for bit; two runs racing for one directory. Run by scripts/test.sh; usage:
#   scripts/faults.sh BUILD_DIR [SEEDS]     (default seeds: 1 2 3 4)
set -uo pipefail
cd "$(dirname "$0")/.."
bin="$1/saddle"
seeds="${2:-1 2 3 4}"
export OPENBLAS_NUM_THREADS=1
work=$(mktemp -d /tmp/saddle-faults-XXXXXX)
trap 'rm -rf "$work"' EXIT
fails=0
ok() { echo "faults: ok    $*"; }
bad() { echo "faults: FAIL  $*"; fails=$((fails + 1)); }
same() { cmp -s "$1" "$2"; }

run_cfg=(examples/stoger21-phases.yaml -q run.max_steps=60000 --checkpoint-every 2000)
"$bin" run "${run_cfg[@]}" -o "$work/run-ref" > /dev/null || { echo "faults: the reference run failed"; exit 1; }
"$bin" reproduce jia23-kappa -q -o "$work/sweep-ref" > /dev/null || { echo "faults: the reference sweep failed"; exit 1; }

kill_run() {
  local seed=$1 d="$work/run-$1" delay status what rc
  # a run, killed dead after a random 0.02-0.6 s, then resumed from its last checkpoint
  delay=$(printf '0.%03d' $((20 + RANDOM % 580)))
  "$bin" run "${run_cfg[@]}" -o "$d" > /dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null
  status=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['status'])" "$d/summary.json" 2> /dev/null || echo none)
  if [ "$status" = max_steps ]; then
    what="finished before the kill"
  elif [ -f "$d/checkpoint.bin" ]; then
    "$bin" resume "$d" -q > "$work/log" 2>&1 || { bad "run seed $seed (kill at ${delay}s): resume failed: $(cat "$work/log")"; return; }
    what="killed at ${delay}s ($status), resumed"
  else
    # killed before its first checkpoint: resume must refuse cleanly, and the directory must not pass for finished
    "$bin" resume "$d" -q > "$work/log" 2>&1
    rc=$?
    [ "$rc" -eq 2 ] && [ "$status" != max_steps ] || { bad "run seed $seed: resume without a checkpoint gave $rc: $(cat "$work/log")"; return; }
    ok "run seed $seed: killed at ${delay}s before any checkpoint: resume refuses (exit 2), status $status"
    return
  fi
  if same "$d/metrics.csv" "$work/run-ref/metrics.csv" && same "$d/arrays/U_final.npy" "$work/run-ref/arrays/U_final.npy"; then
    ok "run seed $seed: $what: metrics.csv and U_final.npy bit-identical"
  else
    bad "run seed $seed: $what: results differ from the uninterrupted run"
  fi
}

kill_sweep() {
  local seed=$1 d="$work/sweep-$1" ms delay diff r b
  # a sweep, killed dead after a random 0.05-1.2 s, then run again on its directory
  ms=$((50 + RANDOM % 1150))
  delay=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
  "$bin" reproduce jia23-kappa -q -o "$d" > /dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null
  if ! "$bin" reproduce jia23-kappa -q -o "$d" > "$work/log" 2>&1; then
    bad "sweep seed $seed (kill at ${delay}s): the rerun failed: $(tail -3 "$work/log")"
    return
  fi
  diff=""
  same "$d/sweep.csv" "$work/sweep-ref/sweep.csv" || diff="sweep.csv"
  for r in "$work"/sweep-ref/0*/; do
    b=$(basename "$r")
    same "$r/metrics.csv" "$d/$b/metrics.csv" || diff="$diff $b/metrics.csv"
  done
  if [ -z "$diff" ]; then ok "sweep seed $seed: killed at ${delay}s, run again: sweep.csv and all 12 metrics.csv bit-identical"
  else bad "sweep seed $seed: killed at ${delay}s: differs: $diff"; fi
}

for seed in $seeds; do
  RANDOM=$seed
  kill_run "$seed"
  kill_sweep "$seed"
done

# two runs racing for one directory: exactly one wins, and every file there is the winner's
for k in 1 2 3; do
  d="$work/race-$k"
  "$bin" run examples/stoger21-phases.yaml -q -o "$d" seed=1 run.max_steps=500 > "$work/a.log" 2>&1 &
  a=$!
  "$bin" run examples/stoger21-phases.yaml -q -o "$d" seed=2 run.max_steps=500 > "$work/b.log" 2>&1 &
  b=$!
  wait $a; ea=$?
  wait $b; eb=$?
  if [ $((ea == 0)) -eq $((eb == 0)) ]; then bad "race $k: exits $ea and $eb"; continue; fi
  w=1; [ $ea -eq 0 ] || w=2
  "$bin" run examples/stoger21-phases.yaml -q -o "$work/race-ref-$k" seed=$w run.max_steps=500 > /dev/null
  if same "$d/metrics.csv" "$work/race-ref-$k/metrics.csv" && same "$d/config.resolved.yaml" "$work/race-ref-$k/config.resolved.yaml" &&
     same "$d/arrays/U_final.npy" "$work/race-ref-$k/arrays/U_final.npy"; then
    ok "race $k: seed=$w won, the other exited $([ $w -eq 1 ] && echo $eb || echo $ea); the directory holds only the winner's files"
  else
    bad "race $k: the directory mixes the two runs"
  fi
done

if [ "$fails" -ne 0 ]; then echo "faults: $fails check(s) failed"; exit 1; fi
echo "faults: all checks passed"
