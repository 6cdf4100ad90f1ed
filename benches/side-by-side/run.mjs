// The side-by-side benchmark (README.md here): the bridge beside an empty
// workers-rs worker and the recipe worker (recipe-worker.ts: TypeScript, the
// `stripe` npm package's constructEventAsync, a KV read per check), all
// served by Miniflare's API on this machine, in one run:
//   1. throughput and latency of the feature check, /gate and a duplicate
//      webhook (benches/gate/measure.mjs: interleaved rounds, pooled);
//   2. bundle size, raw and gzipped (what `wrangler deploy` uploads);
//   3. cold start: from starting a worker's Miniflare (its own workerd
//      process) to its first 200, the median of BENCH_COLD_STARTS samples.
//
//   scripts/bench-side-by-side.sh   (builds first; then node benches/side-by-side/run.mjs)
//
// Exits 1 if any target answered an error, a non-2xx, or a body other than
// its first; writes the figures to target/bench-side-by-side.json.

import { readFileSync, existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join, resolve } from "node:path";
import os from "node:os";

import {
  ROOT,
  EMPTY_DIR,
  BRIDGE_DIR,
  numEnv,
  CONNECTIONS,
  VIA,
  IDENTITY,
  FEATURE_PATH,
  AUTH,
  GATE_PATH,
  SESSION,
  TOKEN,
  wranglerToml,
  checkBuilds,
  serve,
  stop,
  stopAll,
  seedKv,
  startBridge,
  startEmpty,
  startWhoami,
  snapshotBuild,
  runBench,
  EVENT,
  markEventProcessed,
  WEBHOOK_SECRET,
  webhookTarget,
} from "../gate/servers.mjs";
import { measure, ROUND_SETTINGS, printMeasured, finish, table, fmt } from "../gate/measure.mjs";

const { seconds: SECONDS, rounds: ROUNDS, warmup: WARMUP } = ROUND_SETTINGS;
const COLD_STARTS = numEnv("BENCH_COLD_STARTS", 5, 1, 50);
const RECIPE_DIR = resolve(ROOT, process.env.KSB_RECIPE_BUILD ?? "target/bench-recipe-worker");
const JSON_OUT = resolve(ROOT, process.env.BENCH_JSON ?? "target/bench-side-by-side.json");

function recipeOptions(bindings = {}) {
  return {
    modulesRoot: RECIPE_DIR,
    modules: [{ type: "ESModule", path: join(RECIPE_DIR, "recipe-worker.js") }],
    compatibilityDate: wranglerToml().compatibilityDate,
    compatibilityFlags: ["nodejs_compat"],
    bindings: {
      BRIDGE_API_TOKEN: TOKEN,
      STRIPE_SECRET_KEY: "sk_test_bench",
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      KRATOS_PUBLIC_URL: "http://127.0.0.1:9",
      ...bindings,
    },
  };
}

/** Raw and gzipped bytes of the files a worker uploads. */
function bundle(name, files) {
  const parts = files.map((f) => readFileSync(f));
  const raw = parts.reduce((s, b) => s + b.length, 0);
  const gz = parts.reduce((s, b) => s + gzipSync(b, { level: 9 }).length, 0);
  return { name, files: files.map((f) => f.replace(ROOT + "/", "")), raw, gz };
}

/** Starts a worker, waits for its first 200, stops it: the samples' median ms. */
async function coldStart(name, start, path) {
  const samples = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    const t0 = performance.now();
    const server = await start(`${name}-cold-${i}`);
    const res = await fetch(server.url + path);
    await res.arrayBuffer();
    const ms = performance.now() - t0;
    await stop(server);
    if (res.status !== 200) throw new Error(`${name}: cold start answered ${res.status}`);
    samples.push(ms);
  }
  samples.sort((a, b) => a - b);
  return { name, median_ms: samples[Math.floor(samples.length / 2)], min_ms: samples[0], max_ms: samples.at(-1), samples };
}

async function main() {
  checkBuilds();
  if (!existsSync(join(RECIPE_DIR, "recipe-worker.js"))) throw new Error(`the recipe worker is not built: ${RECIPE_DIR} (scripts/bench-side-by-side.sh)`);
  const loadBefore = os.loadavg();
  console.log(
    `side-by-side benchmark: ${SECONDS} s x ${ROUNDS} rounds per target, ${CONNECTIONS} connections, ${WARMUP} s warm-up, ` +
      `${COLD_STARTS} cold starts each, via ${VIA} sockets; ${os.cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`,
  );
  const builds = {
    bridge: snapshotBuild(BRIDGE_DIR, "bench-sbs-bridge"),
    empty_worker: snapshotBuild(EMPTY_DIR, "bench-sbs-empty-worker"),
  };

  // ---- 1. throughput and latency
  const whoami = await startWhoami();
  const bridge = await startBridge({}, { dir: builds.bridge.dir, bindings: { KRATOS_PUBLIC_URL: whoami.url } });
  await markEventProcessed(bridge);
  const empty = await startEmpty({}, builds.empty_worker.dir);
  const recipe = await serve("recipe", recipeOptions({ KRATOS_PUBLIC_URL: whoami.url }));
  await seedKv(recipe);
  const targets = [
    { key: "bridge_feature", name: "bridge feature check", server: bridge, path: FEATURE_PATH, headers: AUTH, expectAllowed: true },
    { key: "recipe_feature", name: "recipe feature check (TS, KV per check)", server: recipe, path: FEATURE_PATH, headers: AUTH, expectAllowed: true },
    { key: "empty_worker", name: "empty worker (workers-rs)", server: empty, path: "/", headers: {} },
    { key: "bridge_gate", name: "bridge /gate, cached session", server: bridge, path: GATE_PATH, headers: SESSION, expectAllowed: true },
    { key: "recipe_gate", name: "recipe /gate (whoami per request)", server: recipe, path: GATE_PATH, headers: SESSION, expectAllowed: true },
    webhookTarget({ key: "bridge_webhook_dup", name: "bridge webhook, duplicate", server: bridge, path: "/webhooks/stripe" }),
    webhookTarget({ key: "recipe_webhook_dup", name: "recipe webhook, duplicate (rewritten)", server: recipe, path: "/webhooks/stripe" }),
    webhookTarget({ key: "recipe_verify", name: "stripe-node constructEventAsync alone", server: recipe, path: "/webhooks/stripe/verify-only" }),
  ];
  const { by, ratio } = await measure(targets, { seconds: SECONDS, rounds: ROUNDS, warmup: WARMUP });
  const ratios = [
    ["bridge feature check / empty worker", ratio("bridge_feature", "empty_worker")],
    ["bridge feature check / recipe feature check", ratio("bridge_feature", "recipe_feature")],
    ["bridge /gate / empty worker", ratio("bridge_gate", "empty_worker")],
    ["bridge /gate / recipe /gate", ratio("bridge_gate", "recipe_gate")],
    ["bridge duplicate webhook / recipe's", ratio("bridge_webhook_dup", "recipe_webhook_dup")],
    ["bridge duplicate webhook / stripe-node verification alone", ratio("bridge_webhook_dup", "recipe_verify")],
  ];
  await stopAll();

  // ---- 2. bundle size
  const bundles = [
    bundle("bridge", [join(builds.bridge.dir, "index.js"), join(builds.bridge.dir, "index_bg.wasm")]),
    bundle("empty worker (workers-rs)", [join(builds.empty_worker.dir, "index.js"), join(builds.empty_worker.dir, "index_bg.wasm")]),
    bundle("recipe worker (TS + stripe)", [join(RECIPE_DIR, "recipe-worker.js")]),
  ];

  // ---- 3. cold start
  const colds = [
    // Each to a 200 that needs no KV (whose first use starts another
    // isolate in Miniflare): what starting the worker itself costs.
    await coldStart("bridge", (n) => startBridge({}, { name: n, dir: builds.bridge.dir, seed: false }), "/openapi.json"),
    await coldStart("empty worker (workers-rs)", () => startEmpty({}, builds.empty_worker.dir), "/"),
    await coldStart("recipe worker (TS + stripe)", (n) => serve(n, recipeOptions()), "/healthz"),
  ];

  // ---- report
  printMeasured(targets, ratios);
  console.log("");
  const [b, e, r] = bundles;
  console.log(table(bundles.map((x) => [x.name, x.raw, x.gz]), ["bundle", "bytes", "gzipped"]));
  console.log(`bridge / empty worker: ${fmt(b.raw / e.raw)}x raw, ${fmt(b.gz / e.gz)}x gzipped; bridge / recipe: ${fmt(b.raw / r.raw)}x raw, ${fmt(b.gz / r.gz)}x gzipped`);
  console.log("");
  console.log(table(colds.map((c) => [c.name, fmt(c.median_ms, 0), `${fmt(c.min_ms, 0)}..${fmt(c.max_ms, 0)}`]), ["cold start to first 200", "median ms", "range"]));
  console.log(`bridge / empty worker: ${fmt(colds[0].median_ms / colds[1].median_ms)}x; bridge / recipe: ${fmt(colds[0].median_ms / colds[2].median_ms)}x`);
  console.log(`\n/gate: ${whoami.calls} whoami calls (the bridge asks once per SESSION_CACHE_TTL; the recipe on every request)`);
  const loadAfter = os.loadavg();
  console.log(`load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}`);

  const failed = targets.filter((t) => t.total.errors + t.total.mismatches + t.total.non2xx > 0);
  const report = {
    when: new Date().toISOString(),
    config: { via: VIA, seconds: SECONDS, connections: CONNECTIONS, rounds: ROUNDS, warmup_seconds: WARMUP, cold_starts: COLD_STARTS },
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, load_average_before: loadBefore, load_average_after: loadAfter, node: process.version },
    builds,
    event_bytes: Buffer.byteLength(EVENT),
    targets: targets.map((t) => ({ key: t.key, name: t.name, path: t.path, ...t.total, rounds: t.runs.map(({ latencies, ...x }) => x) })),
    ratios: Object.fromEntries(ratios),
    bundles,
    cold_starts: colds,
    ok: failed.length === 0,
  };
  return finish(JSON_OUT, report, failed);
}

await runBench("side-by-side benchmark", (8 * (WARMUP + ROUNDS * (SECONDS + 2)) + 3 * COLD_STARTS * 30 + 120) * 1000, main);
