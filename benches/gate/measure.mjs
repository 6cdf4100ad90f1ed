// Shared by the benchmarks in benches/ (gate/run.mjs, side-by-side/run.mjs):
// runs a list of targets side by side in interleaved rounds and pools the
// figures, so that every benchmark measures and reports the same way.

import { writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

import { load, firstAnswer, cpuMicros, numEnv } from "./servers.mjs";

/** The rounds every side-by-side benchmark runs (`measure`'s settings):
 * BENCH_SECONDS (10), BENCH_ROUNDS (2, at least 2), BENCH_WARMUP_SECONDS (2). */
export const ROUND_SETTINGS = {
  seconds: numEnv("BENCH_SECONDS", 10, 1, 300),
  rounds: numEnv("BENCH_ROUNDS", 2, 2, 20),
  warmup: numEnv("BENCH_WARMUP_SECONDS", 2, 0, 60),
};

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

// ---- report ------------------------------------------------------------------

export const fmt = (v, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : "-");
export function table(rows, header) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/**
 * Measures `targets` (each {key, name, server, path, headers, method?, body?,
 * expectAllowed?}): checks each first answer (its body becomes the expected
 * body of every later one when stable), warms each up for `warmup` s, then
 * runs `rounds` rounds of `seconds` per target (each after `settle` s of
 * unmeasured load), each round starting one target later and every other
 * round in reverse order. Sets `t.runs` (per round) and `t.total` (pooled) on each;
 * answers the targets by key and `ratio(a, b)` of two of them (ratioOf).
 */
export async function measure(targets, { seconds, rounds, warmup, settle = 1 }) {
  for (const t of targets) {
    const first = await firstAnswer(t);
    t.firstBody = first.body;
    t.expectBody = first.stable ? first.body : undefined;
    console.log(`  ${t.name}: ${t.server.url}${t.path} -> 200 ${first.body.slice(0, 100)}${first.stable ? "" : " (varies; not checked per answer)"}`);
    t.runs = [];
  }

  if (warmup > 0) {
    console.log(`warm-up: ${warmup} s per target`);
    for (const t of targets) await load(t, warmup, t.expectBody);
  }

  for (let round = 0; round < rounds; round++) {
    // Each round starts one target later, and every other round runs
    // backwards, so no target always follows the same one (a target run
    // right after a heavier one was seen to measure slower).
    const rotated = targets.map((_, i) => targets[(i + round) % targets.length]);
    const order = round % 2 === 1 ? rotated.reverse() : rotated;
    for (const t of order) {
      // A short unmeasured run first: what the previous target left behind
      // (the shared origin's and the load generator's state) settles on it.
      if (settle > 0) await load(t, settle, t.expectBody);
      const logLinesBefore = t.server.stdio.logLines;
      const cpuBefore = cpuMicros(t.server);
      const { result, latencies } = await load(t, seconds, t.expectBody);
      const cpu = cpuMicros(t.server) - cpuBefore;
      const answers = result["1xx"] + result["2xx"] + result["3xx"] + result["4xx"] + result["5xx"];
      latencies.sort((a, b) => a - b);
      const run = {
        round: round + 1,
        seconds: result.duration,
        answers,
        ok: result["2xx"],
        non2xx: result.non2xx,
        errors: result.errors,
        error_kinds: result.errorKinds ?? {},
        timeouts: result.timeouts,
        mismatches: result.mismatches,
        rps: answers / result.duration,
        p50_ms: percentile(latencies, 50),
        p99_ms: percentile(latencies, 99),
        log_lines: t.server.stdio.logLines - logLinesBefore,
        // The worker's process alone (not the load generator).
        cpu_us_per_answer: cpu / answers,
        latencies,
      };
      t.runs.push(run);
      console.log(
        `  round ${round + 1}  ${t.name.padEnd(44)} ${fmt(run.rps, 0).padStart(7)} req/s  p50 ${fmt(run.p50_ms)} ms  p99 ${fmt(run.p99_ms)} ms` +
          `  worker CPU ${fmt(run.cpu_us_per_answer, 1)} µs/answer` +
          (run.non2xx + run.errors + run.mismatches
            ? `  non-2xx ${run.non2xx} errors ${run.errors} ${JSON.stringify(run.error_kinds)} mismatches ${run.mismatches}`
            : ""),
      );
    }
  }

  // Pool the rounds.
  for (const t of targets) {
    const all = t.runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const answers = t.runs.reduce((s, r) => s + r.answers, 0);
    const timed = t.runs.reduce((s, r) => s + r.seconds, 0);
    t.total = {
      answers,
      seconds: timed,
      rps: answers / timed,
      p50_ms: percentile(all, 50),
      p99_ms: percentile(all, 99),
      non2xx: t.runs.reduce((s, r) => s + r.non2xx, 0),
      errors: t.runs.reduce((s, r) => s + r.errors, 0), // autocannon counts timeouts as errors too
      mismatches: t.runs.reduce((s, r) => s + r.mismatches, 0),
      rps_min: Math.min(...t.runs.map((r) => r.rps)),
      rps_max: Math.max(...t.runs.map((r) => r.rps)),
      log_lines_per_answer: t.runs.reduce((s, r) => s + r.log_lines, 0) / answers,
      cpu_us_per_answer: t.runs.reduce((s, r) => s + r.cpu_us_per_answer * r.answers, 0) / answers,
    };
  }  const by = Object.fromEntries(targets.map((t) => [t.key, t]));
  return { by, ratio: ratioOf(by) };
}

/** `ratio(a, b)` of two measured targets' req/s (keys of `by`), pooled and per round. */
export function ratioOf(by) {
  return (a, b) => {
    const perRound = by[a].runs.map((r, i) => r.rps / by[b].runs[i].rps);
    return {
      value: by[a].total.rps / by[b].total.rps,
      min: Math.min(...perRound),
      max: Math.max(...perRound),
      // What one answer of `a` costs more than one of `b`, in µs of the
      // saturated machine (both cores, client included): 1/rps_a - 1/rps_b.
      extra_us_per_answer: 1e6 * (1 / by[a].total.rps - 1 / by[b].total.rps),
      // The same in the workers' own CPU time per answer (b's over a's:
      // above 1 when a costs less).
      cpu_ratio: by[b].total.cpu_us_per_answer / by[a].total.cpu_us_per_answer,
    };
  };
}

/** Prints the measured targets and the `ratios` ([name, ratio] pairs) as two tables. */
export function printMeasured(targets, ratios) {
  console.log("");
  console.log(
    table(
      targets.map((t) => [
        t.name,
        fmt(t.total.rps, 0),
        `${fmt(t.total.rps_min, 0)}..${fmt(t.total.rps_max, 0)}`,
        fmt(t.total.p50_ms),
        fmt(t.total.p99_ms),
        fmt(t.total.cpu_us_per_answer, 1),
        `${t.total.errors + t.total.mismatches}/${t.total.non2xx}`,
      ]),
      ["target", "req/s", "per round", "p50 ms", "p99 ms", "worker CPU µs/answer", "errors/non-2xx"],
    ),
  );
  console.log("");
  console.log(
    table(
      ratios.map(([name, r]) => [name, fmt(r.value), `${fmt(r.min)}..${fmt(r.max)}`, fmt(r.extra_us_per_answer, 0), fmt(r.cpu_ratio)]),
      ["ratio of req/s", "pooled", "per round", "extra µs/answer", "same, of worker CPU/answer"],
    ),
  );
}

/** Writes `report` as JSON to `path`; answers the exit code: 1 when a target in `failed` answered errors. */
export function finish(path, report, failed) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(report, null, 2) + "\n");
  console.log(`results: ${path}`);
  if (failed.length) {
    console.error(`FAILED: errors or non-2xx answers from ${failed.map((t) => t.name).join(", ")}`);
    return 1;
  }
  return 0;
}
