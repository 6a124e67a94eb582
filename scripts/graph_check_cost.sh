#!/usr/bin/env bash
# Cost of `workflow!`'s compile-time graph check alone: generates a chain of STEPS steps
# (`Start → E1 → … → Stop`, each step written with `#[derive(Event)]` and `#[step]`) twice,
# identical except for how the workflow is assembled — `workflow!` (graph checked by const
# evaluation) or `Workflow::builder(..).step(sN::step())…` (no compile-time check) — and times a
# clean `cargo build` of each crate (dependencies built), alternating between the two so both
# see the same machine load. The difference of the medians is the check's cost.
#
# Usage: scripts/graph_check_cost.sh [STEPS] [RUNS] [KIND]   (defaults: 1000 steps, 3 runs, steps)
# KIND `steps` writes real steps (`#[derive(Event)]`, `#[step]`): the check against the cost
# of compiling the steps. KIND `meta` writes only what `#[step]` generates for the check (a
# module per step with its `__BLAZEN_STEP` node and a `step()` that is never run), so the
# crate compiles in a second or two and the difference is mostly const evaluation.
# BLAZEN_ROOT=/path/to/a/blazen/checkout measures another version (e.g. an older commit
# extracted with `git archive`). KEEP=1 keeps the generated crates. GRAPH_COST_TARGET=dir
# shares one target dir between runs (the dependencies then build once).
set -euo pipefail
STEPS=${1:-1000}
RUNS=${2:-3}
KIND=${3:-steps}
ROOT="${BLAZEN_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/blazen-graph-cost.XXXXXX")"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
LAST=$((STEPS - 1))
export CARGO_TARGET_DIR="${GRAPH_COST_TARGET:-$WORK/target}"

gen() { # name checked|unchecked
  local d="$WORK/$1"
  mkdir -p "$d/src"
  cat >"$d/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
blazen = { path = "$ROOT/blazen" }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
TOML
  {
    echo '//! Generated: a chain of steps.'
    echo '#![allow(missing_docs)]'
    echo 'use blazen::prelude::*;'
    if [ "$KIND" = meta ]; then
      gen_meta
    else
      gen_steps
    fi
    if [ "$2" = checked ]; then
      printf 'pub fn build() -> Workflow { workflow!("bench", ['
      for ((i = 0; i < STEPS; i++)); do printf 's%d, ' "$i"; done
      echo ']) }'
    else
      printf 'pub fn build() -> Workflow { Workflow::builder("bench")'
      for ((i = 0; i < STEPS; i++)); do printf '.step(s%d::step())' "$i"; done
      echo '.build().expect("sound") }'
    fi
  } >"$d/src/lib.rs"
}

gen_steps() {
    for ((i = 1; i < STEPS; i++)); do
      echo "#[derive(Debug, Clone, Serialize, Deserialize, Event)] pub struct E$i { pub n: u64 }"
    done
    echo "#[step] pub fn s0(_ev: StartEvent) -> E1 { E1 { n: 0 } }"
    for ((i = 1; i < LAST; i++)); do
      echo "#[step] pub fn s$i(ev: E$i) -> E$((i + 1)) { E$((i + 1)) { n: ev.n + 1 } }"
    done
    echo "#[step] pub fn s$LAST(ev: E$LAST) -> StopEvent { StopEvent::new(json!(ev.n)) }"
}

gen_meta() { # what #[step] generates for the check, by hand
  echo 'use blazen::__private::{EventNode, StepNode};'
  local acc em
  for ((i = 0; i < STEPS; i++)); do
    if ((i == 0)); then acc='EventNode::of::<StartEvent>()'; else acc="EventNode::new(\"E$i\", \"m::E$i\")"; fi
    if ((i == LAST)); then em='EventNode::of::<StopEvent>()'; else em="EventNode::new(\"E$((i + 1))\", \"m::E$((i + 1))\")"; fi
    echo "pub mod s$i { use super::*;"
    echo "  pub const __BLAZEN_STEP: StepNode<'static> = StepNode::new(\"s$i\", &[$acc], &[$em]);"
    echo "  pub fn step() -> Step { blazen::__private::invalid_step(&__BLAZEN_STEP) } }"
  done
}

seconds() { # command... -> elapsed seconds (2 decimals)
  local t0 t1
  t0=$(date +%s.%N)
  if ! "$@" >"$WORK/last.log" 2>&1; then
    echo "build failed: $*" >&2
    tail -20 "$WORK/last.log" >&2
    echo nan
    return
  fi
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l | xargs printf '%.2f'
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '[workspace]\nmembers = ["checked", "unchecked"]\nresolver = "2"\n' >"$WORK/Cargo.toml"
cp "$ROOT/Cargo.lock" "$WORK/Cargo.lock" 2>/dev/null || true
gen checked checked
gen unchecked unchecked
(cd "$WORK" && cargo build --quiet -p blazen)
declare -a C U
for ((r = 0; r < RUNS; r++)); do
  (cd "$WORK" && cargo clean --quiet -p checked && cargo clean --quiet -p unchecked)
  echo "run $r, load: $(uptime | sed 's/.*load average: //')" >&2
  C+=("$(cd "$WORK" && seconds cargo build -p checked)")
  U+=("$(cd "$WORK" && seconds cargo build -p unchecked)")
done
echo "runs (s): workflow! ${C[*]}; builder ${U[*]}" >&2
c=$(median "${C[@]}")
u=$(median "${U[@]}")
case "$c $u" in *nan*) echo "a build failed; no figures" >&2; exit 1 ;; esac
echo "| $STEPS steps, $KIND (median of $RUNS) | workflow! | builder | check |"
echo "|---|---|---|---|"
echo "| clean build of the crate | ${c} s | ${u} s | $(echo "$c - $u" | bc -l | xargs printf '%.2f') s |"
