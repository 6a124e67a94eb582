#!/usr/bin/env bash
# S3 (issue 5): blazen against the parse floor, as the median of per-round ratios: the
# 64-in-flight throughput (by the sample medians and by the fastest samples) and the latency
# p50 of one request at a time. Floor and blazen run alternately, ROUNDS times, so that a slow
# phase of the machine (this 2-core VM shifts between two speeds by ~30 %) weighs on both alike.
# Usage: scripts/s3_ratio.sh [ROUNDS] [SAMPLES]
set -euo pipefail
rounds=${1:-10}
samples=${2:-50}
cd "$(dirname "$0")/.."
bin=$(cargo bench --bench providers --no-run --message-format=json 2>/dev/null |
  python3 -c 'import sys,json
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="providers" and m.get("executable"):
        print(m["executable"])')
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# divan prints: name  fastest │ slowest │ median │ mean │ samples │ iters
# -> "fastest median" in ms
run() {
  "$bin" --bench --exact --sample-count "${2:-$samples}" "providers::$1" 2>/dev/null |
    awk -v n="$1" '$0 ~ n { split($0, f, "│"); sub(/.*_(floor|blazen) +/, "", f[1]); print f[1] "|" f[3] }' |
    awk -F'|' '{ split($1, a, " "); split($2, b, " ");
      fa=a[1]; if (a[2]=="µs") fa/=1000; if (a[2]=="s") fa*=1000;
      fb=b[1]; if (b[2]=="µs") fb/=1000; if (b[2]=="s") fb*=1000;
      print fa, fb }'
}
ratios=()
fastest=()
latency=()
for ((i = 1; i <= rounds; i++)); do
  read -r ff fm <<<"$(run s3_64_in_flight_floor)"
  read -r bf bm <<<"$(run s3_64_in_flight_blazen)"
  r=$(python3 -c "print(f'{$fm / $bm:.3f}')")
  rf=$(python3 -c "print(f'{$ff / $bf:.3f}')")
  echo "round $i: medians floor $fm ms, blazen $bm ms (ratio $r); fastest $ff / $bf ms (ratio $rf)"
  read -r _ lf <<<"$(run s3_latency_floor 2000)"
  read -r _ lb <<<"$(run s3_latency_blazen 2000)"
  rl=$(python3 -c "print(f'{$lb / $lf:.3f}')")
  echo "         latency p50 floor $lf ms, blazen $lb ms (blazen / floor $rl)"
  ratios+=("$r")
  fastest+=("$rf")
  latency+=("$rl")
done
printf '%s\n' "${ratios[@]}" | median | xargs printf 'median of the per-round throughput ratios (blazen / parse floor), sample medians: %s\n'
printf '%s\n' "${fastest[@]}" | median | xargs printf 'median of the per-round throughput ratios, fastest samples: %s\n'
printf '%s\n' "${latency[@]}" | median | xargs printf 'median of the per-round latency p50 ratios (blazen / parse floor): %s\n'
