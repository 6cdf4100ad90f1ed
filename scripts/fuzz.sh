#!/usr/bin/env bash
# Runs the coverage-guided fuzz targets in fuzz/ (cargo-fuzz / libFuzzer),
# each for a bounded time, and prints per target its executions, exec/s,
# coverage (libFuzzer's cov: and ft:) and whether it crashed.
#
#   scripts/fuzz.sh [--seconds N] [--runs N] [--seed N] [--keep-corpus] [target...]
#
#   --seconds N    time limit per target (-max_total_time); default 900, a cap
#                  that --runs's default reaches first
#   --runs N       stop a target after N executions (-runs); default 10000000,
#                  0 for no limit (then --seconds alone bounds each target)
#   --seed N       libFuzzer's random seed (-seed), default 1, so a run is
#                  reproducible on one machine
#   --keep-corpus  continue from the corpus of the last run instead of
#                  starting again from the seeds in fuzz/corpus/<target>/
#   target...      some of: signature event subscriptions kratos_hook patch
#                  plans gate_routes path (default: all)
#
# The defaults reach 10 million executions per target on 2 cores: the
# slowest targets (signature, patch) ran at about 36,000 exec/s, and at
# 17,000 while the machine built other things; 900 s needs 11,200 (see
# README, "Fuzzing").
# Needs no nightly toolchain: the stable one runs with RUSTC_BOOTSTRAP=1.
# cargo-fuzz is installed once into the tool cache (scripts/lib.sh). The
# seeds in fuzz/corpus/ are never written to; each run's corpus, logs and
# build live in fuzz/target/, crash inputs in fuzz/artifacts/<target>/.
# Exits non-zero when a target crashed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CARGO_FUZZ_VERSION="0.13.2"
ALL_TARGETS=(signature event subscriptions kratos_hook patch plans gate_routes path)
seconds=900 runs=10000000 seed=1 keep=0 targets=()

while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --seed) seed="${2:?--seed needs a number}"; shift 2 ;;
    --keep-corpus) keep=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) targets+=("$1"); shift ;;
  esac
done
for n in "$seconds" "$runs" "$seed"; do [[ "$n" =~ ^[0-9]+$ ]] || die "not a number: $n"; done
[ "$seconds" -gt 0 ] || die "--seconds must be at least 1"
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || die "unknown target $t (one of: ${ALL_TARGETS[*]})"
done

# cargo-fuzz, installed once with its own Cargo.lock (--locked).
ensure_cargo_fuzz() {
  local dir="$KSB_TOOLS/cargo-fuzz-$CARGO_FUZZ_VERSION"
  if [ ! -x "$dir/bin/cargo-fuzz" ]; then
    log "installing cargo-fuzz $CARGO_FUZZ_VERSION into $dir (once; takes a few minutes)"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$dir.partial" --quiet \
      || die "cargo install cargo-fuzz failed"
    rm -rf "$dir" && mv "$dir.partial" "$dir"
  fi
  export PATH="$dir/bin:$PATH"
}

ensure_cargo_fuzz
# libFuzzer's -Z flags on the stable toolchain. The core is safe Rust, so no
# sanitizer (-s none: several times the exec/s of ASan); debug assertions on
# (-a), so an arithmetic overflow is a crash too.
export RUSTC_BOOTSTRAP=1
FUZZ_FLAGS=(--sanitizer none --debug-assertions)
cd "$KSB_ROOT"
log "building the fuzz targets (cargo fuzz build, release with debug assertions)"
cargo fuzz build "${FUZZ_FLAGS[@]}" >&2 || die "cargo fuzz build failed"

work="$KSB_ROOT/fuzz/target/run"
mkdir -p "$work"
failed=0 rows=()
for t in "${targets[@]}"; do
  corpus="$work/corpus/$t" logf="$work/$t.log"
  [ "$keep" = 1 ] || rm -rf "$corpus"
  mkdir -p "$corpus"
  limit="-max_total_time=$seconds"
  [ "$runs" = 0 ] || limit="$limit -runs=$runs"
  log "fuzzing $t: $limit -seed=$seed (log: ${logf#"$KSB_ROOT/"})"
  # New inputs go to the first corpus directory; the seeds are only read.
  # shellcheck disable=SC2086
  if cargo fuzz run "${FUZZ_FLAGS[@]}" "$t" "$corpus" "fuzz/corpus/$t" -- \
    $limit -seed="$seed" -print_final_stats=1 >"$logf" 2>&1; then
    result=ok
  else
    result="CRASH $(grep -o 'Test unit written to .*' "$logf" | tail -n1 | sed 's/Test unit written to //; s#^\./##')"
    [ "$result" != "CRASH " ] || result="FAILED (see ${logf#"$KSB_ROOT/"})"
    failed=1
    grep -m1 -A2 'panicked at' "$logf" >&2 || true
  fi
  execs="$(awk '/^stat::number_of_executed_units:/ { print $2 }' "$logf" | tail -n1)"
  rate="$(awk '/^stat::average_exec_per_sec:/ { print $2 }' "$logf" | tail -n1)"
  cov="$(grep -oE ' cov: [0-9]+ ft: [0-9]+' "$logf" | tail -n1 | awk '{ print $2 " " $4 }')"
  rows+=("$t|${execs:-?}|${rate:-?}|${cov% *}|${cov#* }|$result")
  log "$t: ${execs:-?} executions, ${rate:-?} exec/s, cov ${cov% *}, ft ${cov#* }: $result"
done

printf '\n%-14s %12s %9s %6s %7s  %s\n' target executions exec/s cov ft result
for row in "${rows[@]}"; do
  IFS='|' read -r t execs rate cov ft result <<<"$row"
  printf '%-14s %12s %9s %6s %7s  %s\n' "$t" "$execs" "$rate" "${cov:-?}" "${ft:-?}" "$result"
done
[ "$failed" = 0 ] || die "a fuzz target crashed; reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run ${FUZZ_FLAGS[*]} <target> <crash file>"
