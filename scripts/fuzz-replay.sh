#!/usr/bin/env bash
# Builds every fuzz target in fuzz/ and replays its seed corpus once, so a
# change of the core's API that breaks a target, or a seed that now crashes,
# fails the test command (scripts/test.sh runs this). No fuzzing: for that,
# scripts/fuzz.sh.
#
#   scripts/fuzz-replay.sh
#
# A plain `cargo build --locked` of the fuzz crate (its own workspace and
# Cargo.lock, into fuzz/target/debug): libfuzzer-sys builds and links
# libFuzzer on the stable toolchain without cargo-fuzz, a sanitizer or
# coverage instrumentation (a C++ compiler is needed, as for scripts/fuzz.sh),
# in the dev profile, so debug assertions are on (an overflow is a crash).
# Each binary is then given the files of fuzz/corpus/<target>/: libFuzzer runs
# each file once and exits non-zero at the first panic or failed assertion.
# Fails too when a target has no seeds, a corpus directory no target, or
# libFuzzer did not report every seed executed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$KSB_ROOT"

command -v c++ >/dev/null || command -v "${CXX:-c++}" >/dev/null \
  || die "no C++ compiler (c++): libfuzzer-sys compiles libFuzzer; install g++ or clang"

# Milliseconds since the epoch: GNU date's %N, else perl (macOS' date has no %N).
ms() {
  local ns
  ns="$(date +%s%N)" # portable: %N checked below
  case "$ns" in
    *N) perl -MTime::HiRes=time -e 'printf "%d\n", time() * 1000' ;;
    *) echo $((ns / 1000000)) ;;
  esac
}
t0=$(ms)
log "fuzz: building the fuzz targets (cargo build --manifest-path fuzz/Cargo.toml --locked)"
cargo build --manifest-path fuzz/Cargo.toml --locked --bins || die "building the fuzz targets failed"
built=$(($(ms) - t0))

targets=()
for src in fuzz/fuzz_targets/*.rs; do targets+=("$(basename "$src" .rs)"); done
for dir in fuzz/corpus/*/; do
  t="$(basename "$dir")"
  [ -f "fuzz/fuzz_targets/$t.rs" ] || die "fuzz/corpus/$t/ has no target fuzz/fuzz_targets/$t.rs"
done

t1=$(ms)
logs="$KSB_ROOT/fuzz/target/replay"
mkdir -p "$logs"
total=0
for t in "${targets[@]}"; do
  bin="fuzz/target/debug/$t" logf="$logs/$t.log"
  [ -x "$bin" ] || die "fuzz target $t was not built ($bin): is it a [[bin]] in fuzz/Cargo.toml?"
  seeds=()
  for f in "fuzz/corpus/$t"/*; do [ -f "$f" ] && seeds+=("$f"); done
  [ ${#seeds[@]} -gt 0 ] || die "fuzz target $t has no seeds in fuzz/corpus/$t/"
  if ! "$bin" "${seeds[@]}" >"$logf" 2>&1; then
    grep -v '^WARNING: Failed to find function' "$logf" >&2 || true
    die "fuzz target $t failed on its seeds (log: ${logf#"$KSB_ROOT/"})"
  fi
  ran="$(grep -c '^Executed ' "$logf" || true)"
  [ "$ran" = ${#seeds[@]} ] || die "fuzz target $t ran $ran of its ${#seeds[@]} seeds (log: ${logf#"$KSB_ROOT/"})"
  total=$((total + ran))
done
log "fuzz: ${#targets[@]} targets built (${built} ms) and their $total seeds replayed ($(($(ms) - t1)) ms), no crash"
