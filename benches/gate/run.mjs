// The gate benchmark (benches/gate/README.md): how fast the bridge answers a
// feature check, side by side with two baselines measured in the same run.
//
//   node benches/gate/run.mjs        (scripts/bench-gate.sh builds first)
//
// Targets, each served by its own Miniflare instance (its own workerd
// process) on 127.0.0.1, with a local in-memory KV namespace BILLING_KV:
//   bridge feature check  build/index.js: GET /v1/identities/<id>/features/premium_feature
//   bridge feature check, cache off
//                         the same with ENTITLEMENT_CACHE_TTL=0: every check
//                         reads KV (the default serves a hot identity from
//                         the isolate's cache for 5 s)
//   bridge /gate          GET /gate/premium_feature with a session a local
//                         whoami stand-in knows (cached for SESSION_CACHE_TTL)
//   bridge /healthz       build/index.js: GET /healthz (a KV read)
//   empty worker          target/bench-empty-worker/build: a workers-rs worker
//                         that answers 200 {"ok":true} (the workers-rs floor)
//   empty worker, one log line
//                         target/bench-empty-logging-worker/build: the same,
//                         writing one JSON line per request with console.log
//                         as the bridge does (the like-for-like floor)
//   seed worker           benches/gate/seed-worker.js: the recipe's naive JS
//                         gate (KV get + JSON parse on every check)
// With BENCH_EDGE=1 also, all forwarding to one local origin:
//   pass-through workers-rs worker
//                         target/bench-pass-through-worker/build: forwards
//                         every request (edge gate mode's baseline)
//   pass-through JS worker the same in plain JS
//   bridge edge           ungated, and gated and allowed with a cached session
// With BENCH_DIAG=1 also:
//   js empty worker       an inline JS worker answering 200 {"ok":true} (the
//                         workerd + Miniflare floor without wasm)
//   bridge feature check, console.log dropped
//                         a copy of the build whose console.log import is a
//                         no-op: what the one log line per request costs
//
// The bridge and empty-worker builds are copied to target/bench-gate-* first
// and served from there, so a rebuild of build/ during the run changes
// nothing; the JSON records the SHA-256 of each wasm served.
//
// Method: each target's first answer is checked (200, and "allowed": true
// for the feature checks) and its body becomes autocannon's expectBody, so
// every later answer is checked too. Then every target gets a warm-up of
// BENCH_WARMUP_SECONDS (default 2), then BENCH_ROUNDS rounds (default 2, at
// least 2) in which each target runs BENCH_SECONDS (default 10) at
// BENCH_CONNECTIONS keep-alive connections (default 32, no pipelining); each
// round starts one target later than the one before, so machine noise and
// order effects fall on all targets alike; every other round runs backwards,
// and each run follows 1 s of unmeasured load on its own target. Latencies are taken from
// autocannon's per-response times (float ms; its own histogram rounds to
// whole ms) and pooled over the rounds; req/s is all answers over all timed
// seconds. Ratios are of req/s, with the range of the per-round ratios, and
// the difference of the two targets' time per answer (1/rps_a - 1/rps_b, in
// µs of the whole saturated machine, load generator included).
//
// Exits 1 if any target had an error, a timeout, a non-2xx answer or a body
// that differs from its first one; the figures are still printed and
// written to target/bench-gate.json (BENCH_JSON to change).

import { join, resolve } from "node:path";
import os from "node:os";

import {
  ROOT,
  EMPTY_DIR,
  EMPTY_LOGGING_DIR,
  require,
  CONNECTIONS,
  VIA,
  FEATURE_PATH,
  AUTH,
  GATE_PATH,
  SESSION,
  startWhoami,
  startOrigin,
  startPassThrough,
  startRustPassThrough,
  PASS_THROUGH_DIR,
  EDGE_BINDINGS,
  FORWARDED,
  usagePlans,
  consumeTarget,
  BENCH_ASSERTION_KEY,
  wranglerToml,
  checkBuilds,
  startBridge,
  startEmpty,
  startSeed,
  startJsEmpty,
  quietBridgeBuild,
  snapshotBridge,
  snapshotBuild,
  runBench,
} from "./servers.mjs";
import { measure, ROUND_SETTINGS, printMeasured, finish } from "./measure.mjs";

const { seconds: SECONDS, rounds: ROUNDS, warmup: WARMUP } = ROUND_SETTINGS;
const DIAG = process.env.BENCH_DIAG === "1";
const EDGE = process.env.BENCH_EDGE === "1";
const JSON_OUT = resolve(ROOT, process.env.BENCH_JSON ?? "target/bench-gate.json");

// ---- main --------------------------------------------------------------------

async function main() {
  checkBuilds();
  const { compatibilityDate } = wranglerToml();
  const loadBefore = os.loadavg();
  console.log(
    `gate benchmark: ${SECONDS} s x ${ROUNDS} rounds per target, ${CONNECTIONS} connections, ` +
      `${WARMUP} s warm-up, via ${VIA} sockets; ${os.cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`,
  );
  // Served from copies, so that a rebuild during the run changes nothing.
  const builds = {
    bridge: snapshotBridge(),
    empty_worker: snapshotBuild(EMPTY_DIR, "bench-gate-empty-worker"),
    empty_logging_worker: snapshotBuild(EMPTY_LOGGING_DIR, "bench-gate-empty-logging-worker"),
  };
  // /gate resolves the session with Kratos' whoami once per
  // SESSION_CACHE_TTL (default 5 s); a local stub stands in for Kratos.
  const whoami = await startWhoami();
  const bridge = await startBridge({}, { dir: builds.bridge.dir, bindings: { KRATOS_PUBLIC_URL: whoami.url } });
  // The same build with its isolate cache of entitlement records off, so
  // that every check reads KV, as the seed worker does.
  const bridgeNoCache = await startBridge({}, { name: "bridge-nocache", dir: builds.bridge.dir, bindings: { ENTITLEMENT_CACHE_TTL: "0" } });
  const empty = await startEmpty({}, builds.empty_worker.dir);
  const emptyLogging = await startEmpty({}, builds.empty_logging_worker.dir, "empty-logging");
  const seed = await startSeed();

  const targets = [
    { key: "bridge_feature", name: "bridge feature check", server: bridge, path: FEATURE_PATH, headers: AUTH, expectAllowed: true },
    {
      key: "bridge_feature_nocache",
      name: "bridge feature check, cache off",
      server: bridgeNoCache,
      path: FEATURE_PATH,
      headers: AUTH,
      expectAllowed: true,
    },
    { key: "bridge_gate", name: "bridge /gate, cached session", server: bridge, path: GATE_PATH, headers: SESSION, expectAllowed: true },
    { key: "bridge_healthz", name: "bridge /healthz", server: bridge, path: "/healthz", headers: {} },
    { key: "empty_worker", name: "empty worker (workers-rs)", server: empty, path: "/", headers: {} },
    { key: "empty_logging_worker", name: "empty worker, one log line per request", server: emptyLogging, path: "/", headers: {} },
    { key: "seed_worker", name: "seed worker feature check (JS)", server: seed, path: FEATURE_PATH, headers: AUTH, expectAllowed: true },
  ];
  // BENCH_BRIDGE_B=<dir of another build>: that build beside this one, for
  // an A/B comparison of a change in one run.
  const bDir = process.env.BENCH_BRIDGE_B;
  if (bDir) {
    builds.bridge_b = snapshotBuild(resolve(ROOT, bDir), "bench-gate-bridge-b");
    const b = await startBridge({}, { name: "bridge-b", dir: builds.bridge_b.dir, bindings: { KRATOS_PUBLIC_URL: whoami.url } });
    targets.push({ key: "b_feature", name: "B: bridge feature check", server: b, path: FEATURE_PATH, headers: AUTH, expectAllowed: true });
    targets.push({ key: "b_gate", name: "B: bridge /gate, cached session", server: b, path: GATE_PATH, headers: SESSION, expectAllowed: true });
  }
  // Gateways (always): /gate and /auth/forward on one worker with
  // GATE_ROUTES, and a gated forward in edge gate mode without and with
  // X-Bridge-Assertion (ASSERTION_SIGNING_KEY), all with a cached session.
  builds.pass_through_worker = EDGE ? snapshotBuild(PASS_THROUGH_DIR, "bench-gate-pass-through-worker") : null;
  const origin = await startOrigin();
  const edge = await startBridge({}, {
    name: "bridge-edge",
    dir: builds.bridge.dir,
    bindings: { KRATOS_PUBLIC_URL: whoami.url, ORIGIN_URL: origin.url, ...EDGE_BINDINGS },
  });
  const edgeSigned = await startBridge({}, {
    name: "bridge-edge-signed",
    dir: builds.bridge.dir,
    bindings: { KRATOS_PUBLIC_URL: whoami.url, ORIGIN_URL: origin.url, ...EDGE_BINDINGS, ASSERTION_SIGNING_KEY: BENCH_ASSERTION_KEY },
  });
  targets.push({ key: "edge_gate", name: "bridge /gate, cached session (GATE_ROUTES set)", server: edge, path: `${EDGE_BINDINGS.BRIDGE_PATH_PREFIX}${GATE_PATH}`, headers: SESSION, expectAllowed: true });
  targets.push({ key: "edge_forward", name: "bridge /auth/forward, cached session", server: edge, path: `${EDGE_BINDINGS.BRIDGE_PATH_PREFIX}/auth/forward`, headers: { ...SESSION, ...FORWARDED }, expectHeaders: ["x-identity-id"] });
  targets.push({ key: "edge_forward_signed", name: "bridge /auth/forward, cached session, with assertion", server: edgeSigned, path: `${EDGE_BINDINGS.BRIDGE_PATH_PREFIX}/auth/forward`, headers: { ...SESSION, ...FORWARDED }, expectHeaders: ["x-identity-id", "x-bridge-assertion"] });
  targets.push({ key: "edge_gated", name: "bridge edge, gated and allowed (cached)", server: edge, path: "/app/reports/q3", headers: SESSION, expectFields: { assertion: false } });
  targets.push({ key: "edge_gated_signed", name: "bridge edge, gated and allowed (cached), with assertion", server: edgeSigned, path: "/app/reports/q3", headers: SESSION, expectFields: { assertion: true } });
  // Metered limits: consuming one unit, for one identity (one usage
  // counter: its requests run one at a time) and spread over 256 (each its
  // own counter), beside the cached feature check.
  const usageBridge = await startBridge({}, {
    name: "bridge-usage",
    dir: builds.bridge.dir,
    usage: true,
    bindings: { PLANS: usagePlans(wranglerToml().vars.PLANS) },
  });
  targets.push(consumeTarget({ key: "consume_one", name: "bridge consume, one identity", server: usageBridge }, false));
  targets.push({
    ...consumeTarget({ key: "consume_many", name: "bridge consume, 256 identities", server: usageBridge }, true),
    resetsExpected: true,
  });
  // BENCH_EDGE=1 (--edge): edge gate mode beside plain pass-through
  // workers, all forwarding to the same local origin.
  if (EDGE) {
    const passRs = await startRustPassThrough(origin.url, {}, builds.pass_through_worker.dir);
    targets.push({ key: "pass_through_rs", name: "pass-through workers-rs worker (edge baseline)", server: passRs, path: "/public/page?x=1", headers: {} });
    const pass = await startPassThrough(origin.url);
    targets.push({ key: "pass_through", name: "pass-through JS worker", server: pass, path: "/public/page?x=1", headers: {} });
    targets.push({ key: "edge_ungated", name: "bridge edge, ungated path", server: edge, path: "/public/page?x=1", headers: {} });
  }
  if (DIAG) {
    const jsEmpty = await startJsEmpty();
    targets.push({ key: "js_empty_worker", name: "js empty worker (diag)", server: jsEmpty, path: "/", headers: {} });
    const quietDir = quietBridgeBuild(builds.bridge.dir);
    if (quietDir) {
      const quiet = await startBridge({}, { name: "bridge-quiet", dir: quietDir });
      targets.push({
        key: "bridge_feature_nolog",
        name: "bridge feature check, no console.log (diag)",
        server: quiet,
        path: FEATURE_PATH,
        headers: AUTH,
        expectAllowed: true,
      });
    } else {
      console.log("  (no console.log import of the expected shape in build/index.js: no log-less bridge row)");
    }
  }

  const { by, ratio } = await measure(targets, { seconds: SECONDS, rounds: ROUNDS, warmup: WARMUP });
  // Targets (the house issue): like for like, each beside the empty worker
  // that writes the same one log line per request.
  const goals = [
    ["bridge feature check / empty worker, one log line", ratio("bridge_feature", "empty_logging_worker"), 1.0],
    ["bridge feature check / seed worker", ratio("bridge_feature", "seed_worker"), 3.0],
    ["bridge /gate, cached session / empty worker, one log line", ratio("bridge_gate", "empty_logging_worker"), 0.9],
    // The gateways issue.
    ["bridge /auth/forward / /gate, cached session", ratio("edge_forward", "edge_gate"), 0.9],
    ["bridge edge gated, with assertion / without", ratio("edge_gated_signed", "edge_gated"), 0.9],
  ];
  const ratios = [
    ...goals.map(([name, r]) => [name, r]),
    ["bridge feature check / empty worker (no log)", ratio("bridge_feature", "empty_worker")],
    ["bridge /gate, cached session / empty worker (no log)", ratio("bridge_gate", "empty_worker")],
    ["empty worker, one log line / empty worker (no log)", ratio("empty_logging_worker", "empty_worker")],
    ["bridge /healthz / empty worker", ratio("bridge_healthz", "empty_worker")],
    ["bridge feature check, cache off / seed worker", ratio("bridge_feature_nocache", "seed_worker")],
    ["bridge feature check / same, cache off", ratio("bridge_feature", "bridge_feature_nocache")],
  ];
  ratios.push(["bridge /auth/forward, with assertion / without", ratio("edge_forward_signed", "edge_forward")]);
  ratios.push(["bridge consume, one identity / feature check", ratio("consume_one", "bridge_feature")]);
  ratios.push(["bridge consume, 256 identities / feature check", ratio("consume_many", "bridge_feature")]);
  ratios.push(["bridge consume, 256 identities / one identity", ratio("consume_many", "consume_one")]);
  ratios.push(["bridge /gate, GATE_ROUTES set / unset", ratio("edge_gate", "bridge_gate")]);
  if (by.edge_ungated) {
    ratios.push(["bridge edge, ungated / pass-through workers-rs", ratio("edge_ungated", "pass_through_rs")]);
    ratios.push(["bridge edge, gated and allowed / pass-through workers-rs", ratio("edge_gated", "pass_through_rs")]);
    ratios.push(["bridge edge, ungated / pass-through JS", ratio("edge_ungated", "pass_through")]);
    ratios.push(["bridge edge, gated and allowed / pass-through JS", ratio("edge_gated", "pass_through")]);
    ratios.push(["pass-through workers-rs / pass-through JS", ratio("pass_through_rs", "pass_through")]);
  }
  if (by.b_feature) {
    ratios.push(["B feature check / A feature check", ratio("b_feature", "bridge_feature")]);
    ratios.push(["B /gate / A /gate", ratio("b_gate", "bridge_gate")]);
    ratios.push(["B feature check / empty worker", ratio("b_feature", "empty_worker")]);
    ratios.push(["B /gate / empty worker", ratio("b_gate", "empty_worker")]);
  }
  if (DIAG) {
    ratios.push(["empty worker (workers-rs) / js empty worker", ratio("empty_worker", "js_empty_worker")]);
    ratios.push(["seed worker / js empty worker", ratio("seed_worker", "js_empty_worker")]);
    if (by.bridge_feature_nolog) ratios.push(["bridge feature check / same without console.log", ratio("bridge_feature", "bridge_feature_nolog")]);
  }
  const loadAfter = os.loadavg();
  const gateAnswers = by.bridge_gate.total.answers;

  printMeasured(targets, ratios);
  console.log("");
  for (const [name, r, want] of goals) {
    console.log(`target: ${name} >= ${want}: ${r.value.toFixed(2)} (per round ${r.min.toFixed(2)}..${r.max.toFixed(2)}): ${r.value >= want ? "met" : "not met"}`);
  }
  console.log(`\n/gate: ${whoami.calls} whoami calls for ${gateAnswers} answers (the session cache, SESSION_CACHE_TTL)`);
  console.log(`load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}`);

  // Connection resets of local workerd while it runs many Durable Objects
  // (README, "What the figures say") are shown, not counted as the worker's.
  const resets = (t) => (t.resetsExpected ? t.runs.reduce((n, r) => n + (r.error_kinds?.ECONNRESET ?? 0), 0) : 0);
  for (const t of targets.filter((t) => resets(t) > 0)) {
    console.log(`note: ${t.name}: ${resets(t)} connections reset by local workerd (ECONNRESET), not answers of the worker`);
  }
  const failed = targets.filter((t) => t.total.errors - resets(t) + t.total.mismatches + t.total.non2xx > 0);
  const report = {
    when: new Date().toISOString(),
    config: { via: VIA, seconds: SECONDS, connections: CONNECTIONS, rounds: ROUNDS, warmup_seconds: WARMUP, diag: DIAG, compatibility_date: compatibilityDate },
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      load_average_before: loadBefore,
      load_average_after: loadAfter,
      node: process.version,
      miniflare: require(join(ROOT, "node_modules/miniflare/package.json")).version,
      workerd: require(join(ROOT, "node_modules/workerd/package.json")).version,
      autocannon: require(join(ROOT, "node_modules/autocannon/package.json")).version,
    },
    builds,
    targets: targets.map((t) => ({
      key: t.key,
      name: t.name,
      path: t.path,
      first_body: t.firstBody,
      body_checked_per_answer: t.expectBody !== undefined,
      ...t.total,
      rounds: t.runs.map(({ latencies, ...r }) => r),
    })),
    ratios: Object.fromEntries(ratios.map(([name, r]) => [name, r])),
    targets_met: Object.fromEntries(goals.map(([name, r, want]) => [name, { want, value: r.value, met: r.value >= want }])),
    whoami_calls: whoami.calls,
    ok: failed.length === 0,
  };
  return finish(JSON_OUT, report, failed);
}

// A hard bound on the whole run, whatever happens: warm-up and rounds plus
// two minutes for starting and stopping the servers.
const targetCount = (DIAG ? 16 : 14) + (process.env.BENCH_BRIDGE_B ? 2 : 0) + (process.env.BENCH_EDGE === "1" ? 3 : 0);
await runBench("gate benchmark", (targetCount * (WARMUP + ROUNDS * (SECONDS + 2)) + 120) * 1000, main);
