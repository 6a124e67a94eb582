#!/usr/bin/env bash
# Build cost of blazen's macros: generates a 100-step workflow crate twice — with
# `#[derive(Event)]`, `#[step]` and `workflow!` (graph checked at compile time), and the same
# code written by hand (`impl Event`, `Step::new`, `Workflow::builder`) — then times a clean
# build of each crate (dependencies already built) and an incremental rebuild after editing
# one step's body. Prints a Markdown table.
#
# Usage: scripts/build_cost.sh [STEPS] [RUNS]     (defaults: 100 steps, 3 runs; median shown)
# The crates live in a temporary directory with their own target dir; nothing in the
# workspace is touched.
set -euo pipefail
STEPS=${1:-100}
RUNS=${2:-3}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/blazen-build-cost.XXXXXX")"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT   # KEEP=1 keeps the generated crates
LAST=$((STEPS - 1))

manifest() { # name
  cat <<TOML
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
}

gen_macros() {
  local d="$WORK/with_macros"
  mkdir -p "$d/src"
  manifest with_macros >"$d/Cargo.toml"
  {
    echo '//! Generated: a chain of steps written with the macros.'
    echo '#![allow(missing_docs)]'
    echo 'use blazen::prelude::*;'
    for ((i = 1; i < STEPS; i++)); do
      echo "#[derive(Debug, Clone, Serialize, Deserialize, Event)]"
      echo "pub struct E$i { pub n: u64 }"
    done
    echo "#[step] pub fn s0(_ev: StartEvent) -> E1 { E1 { n: 0 } }"
    for ((i = 1; i < LAST; i++)); do
      echo "#[step] pub async fn s$i(_ctx: &Context, ev: E$i) -> E$((i + 1)) { E$((i + 1)) { n: ev.n + 1 } }"
    done
    echo "#[step] pub fn s$LAST(ev: E$LAST) -> StopEvent { StopEvent::new(json!(ev.n)) }"
    printf 'pub fn build() -> Workflow { workflow!("bench", ['
    for ((i = 0; i < STEPS; i++)); do printf 's%d, ' "$i"; done
    echo ']) }'
  } >"$d/src/lib.rs"
}

gen_hand() {
  local d="$WORK/by_hand"
  mkdir -p "$d/src"
  manifest by_hand >"$d/Cargo.toml"
  {
    echo '//! Generated: the same chain written by hand.'
    echo '#![allow(missing_docs)]'
    echo 'use blazen::prelude::*;'
    echo 'use blazen::{downcast_event, EventInfo, IntoStepOutput};'
    echo 'use std::any::Any;'
    for ((i = 1; i < STEPS; i++)); do
      cat <<RS
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct E$i { pub n: u64 }
impl Event for E$i {
    fn event_type(&self) -> &str { "E$i" }
    fn to_json(&self) -> serde_json::Value { serde_json::to_value(self).unwrap_or_default() }
    fn as_any(&self) -> &dyn Any { self }
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send + Sync> { self }
    fn clone_event(&self) -> Box<dyn Event> { Box::new(self.clone()) }
}
impl TypedEvent for E$i {
    const EVENT_TYPE: &'static str = "E$i";
    const EVENT_IDENTITY: &'static str = concat!(module_path!(), "::E$i");
}
RS
    done
    echo "pub fn s0(_ev: StartEvent) -> E1 { E1 { n: 0 } }"
    for ((i = 1; i < LAST; i++)); do
      echo "pub async fn s$i(_ctx: &Context, ev: E$i) -> E$((i + 1)) { E$((i + 1)) { n: ev.n + 1 } }"
    done
    echo "pub fn s$LAST(ev: E$LAST) -> StopEvent { StopEvent::new(json!(ev.n)) }"
    echo 'pub fn build() -> Workflow {'
    echo '    Workflow::builder("bench")'
    echo '        .step(Step::new("s0", |_ctx, ev| async move { s0(downcast_event::<StartEvent>(ev)?).into_step_output() }).accepts(EventInfo::of::<StartEvent>()).emits(EventInfo::of::<E1>()))'
    for ((i = 1; i < LAST; i++)); do
      echo "        .step(Step::new(\"s$i\", |ctx, ev| async move { s$i(&ctx, downcast_event::<E$i>(ev)?).await.into_step_output() }).accepts(EventInfo::of::<E$i>()).emits(EventInfo::of::<E$((i + 1))>()))"
    done
    echo "        .step(Step::new(\"s$LAST\", |_ctx, ev| async move { s$LAST(downcast_event::<E$LAST>(ev)?).into_step_output() }).accepts(EventInfo::of::<E$LAST>()).emits(EventInfo::of::<StopEvent>()))"
    echo '        .build()'
    echo '        .expect("the chain is a sound graph")'
    echo '}'
  } >"$d/src/lib.rs"
}

seconds() { # command... -> elapsed seconds (3 decimals)
  local t0 t1
  t0=$(date +%s.%N)
  if ! "$@" >/dev/null 2>&1; then
    echo "build failed: $*" >&2
    echo nan
    return
  fi
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l | xargs printf '%.2f'
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Runs alternate between the two crates, so both see the same machine load.
declare -a MC MI HC HI
one_run() { # run index
  local r="$1" name
  for name in with_macros by_hand; do
    (cd "$WORK" && cargo clean --quiet -p "$name")
  done
  MC+=("$(cd "$WORK" && seconds cargo build -p with_macros)")
  HC+=("$(cd "$WORK" && seconds cargo build -p by_hand)")
  # Edit one step's body (a new value each run, so every run changes the source).
  for name in with_macros by_hand; do
    sed -i -E "0,/n: ev\.n \+ [0-9]+ \}/s//n: ev.n + $((r + 2)) }/" "$WORK/$name/src/lib.rs"
  done
  MI+=("$(cd "$WORK" && seconds cargo build -p with_macros)")
  HI+=("$(cd "$WORK" && seconds cargo build -p by_hand)")
}

# One workspace, so both crates share the dependencies' build.
printf '[workspace]\nmembers = ["with_macros", "by_hand"]\nresolver = "2"\n' >"$WORK/Cargo.toml"
cp "$ROOT/Cargo.lock" "$WORK/Cargo.lock" 2>/dev/null || true
gen_macros
gen_hand
(cd "$WORK" && cargo build --quiet --workspace)
for ((r = 0; r < RUNS; r++)); do one_run "$r"; done
mc=$(median "${MC[@]}")
mi=$(median "${MI[@]}")
hc=$(median "${HC[@]}")
hi=$(median "${HI[@]}")
echo "runs (s): macros clean ${MC[*]}; by hand clean ${HC[*]}; macros incremental ${MI[*]}; by hand incremental ${HI[*]}" >&2
case "$mc $mi $hc $hi" in *nan*) echo "a build failed; no figures" >&2; exit 1 ;; esac
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
echo "| $STEPS-step workflow crate (median of $RUNS) | macros | by hand | ratio |"
echo "|---|---|---|---|"
echo "| clean build of the crate (deps built) | ${mc} s | ${hc} s | $(ratio "$mc" "$hc")× |"
echo "| incremental rebuild after editing one step | ${mi} s | ${hi} s | $(ratio "$mi" "$hi")× |"
