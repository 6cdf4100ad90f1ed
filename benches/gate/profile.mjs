// Where the bridge's time per feature check goes: a V8 CPU profile of the
// bridge's isolate (and of the isolates behind Miniflare's local KV) taken
// through workerd's inspector while autocannon loads the feature check.
// A diagnostic beside run.mjs, not part of its figures: the sampling
// profiler slows the worker down a little.
//
//   node benches/gate/profile.mjs [MODE]   (default: feature)
//
// MODE is what is loaded and profiled:
//   feature          the bridge's feature check (cache hit)
//   feature-nocache  the same with ENTITLEMENT_CACHE_TTL=0: every check reads KV
//   gate             the bridge's /gate with a cached session
//   healthz          the bridge's /healthz
//   webhook-dup      a signed Stripe event already marked processed
//   edge-ungated     edge gate mode, a path no rule gates (forwarded)
//   edge-gated       edge gate mode, a gated path, cached session (forwarded)
//   forward          /auth/forward for a gated path, cached session
//   consume          consuming one unit of an unlimited meter (the usage counter)
//   empty            the empty workers-rs worker (the baseline of run.mjs)
//   pass-through     the plain JS pass-through worker (edge mode's baseline)
// so that the bridge's µs per answer can be set beside a baseline's.
//
// BENCH_SECONDS (default 10) of load at BENCH_CONNECTIONS (default 32), after
// a 2 s warm-up. Prints the isolates' busy time per request and the functions
// with the most self time; writes each profile to
// target/bench-gate-<isolate>.cpuprofile (open in Chrome DevTools).

import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

import {
  ROOT,
  require,
  numEnv,
  FEATURE_PATH,
  AUTH,
  checkBuilds,
  snapshotBridge,
  startBridge,
  load,
  firstAnswer,
  runBench,
  webhookTarget,
  markEventProcessed,
  GATE_PATH,
  SESSION,
  EDGE_BINDINGS,
  FORWARDED,
  usagePlans,
  consumeTarget,
  wranglerToml,
  startWhoami,
  startOrigin,
  startPassThrough,
  startEmpty,
} from "./servers.mjs";

const WebSocket = require(join(ROOT, "node_modules/ws"));
const SECONDS = numEnv("BENCH_SECONDS", 10, 1, 120);
const which = process.argv[2] ?? "feature";
const MODES = ["feature", "feature-nocache", "gate", "healthz", "webhook-dup", "edge-ungated", "edge-gated", "forward", "consume", "empty", "pass-through"];
if (!MODES.includes(which)) throw new Error(`want one of ${MODES.join(", ")}; got ${which}`);

// A minimal Chrome DevTools Protocol client over one WebSocket.
async function cdp(url) {
  const ws = new WebSocket(url);
  await new Promise((ok, fail) => {
    ws.once("open", ok);
    ws.once("error", fail);
  });
  let next = 1;
  const waiting = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(data.toString());
    const w = msg.id !== undefined && waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.error) w.fail(new Error(`${w.method}: ${msg.error.message}`));
    else w.ok(msg.result);
  });
  return {
    send(method, params = {}) {
      const id = next++;
      ws.send(JSON.stringify({ id, method, params }));
      return new Promise((ok, fail) => {
        waiting.set(id, { ok, fail, method });
        setTimeout(() => {
          if (waiting.delete(id)) fail(new Error(`${method}: no answer in 30 s`));
        }, 30000).unref();
      });
    },
    close: () => ws.close(),
  };
}

// Self time per function, and the split by kind of code.
function summarise(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map(); // node id -> µs
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0; // the time until the next sample
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  const fns = new Map();
  const kinds = new Map();
  for (const [id, us] of self) {
    const f = byId.get(id).callFrame;
    const name = f.functionName || "(anonymous)";
    let kind;
    if (name === "(idle)") kind = "idle";
    else if (name === "(program)") kind = "program (native, outside JS)";
    else if (name === "(garbage collector)") kind = "garbage collector";
    else if (f.url.startsWith("wasm://") || /\.wasm/.test(f.url)) kind = "wasm (Rust)";
    else if (f.url === "" || f.url.startsWith("node:") || f.url.startsWith("cloudflare:")) kind = "runtime built-ins";
    else kind = `JS ${f.url.split("/").pop()}`;
    kinds.set(kind, (kinds.get(kind) ?? 0) + us);
    const key = `${name}  [${kind}${f.url && !f.url.startsWith("wasm://") ? `, ${f.url.split("/").pop()}:${f.lineNumber + 1}` : ""}]`;
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  return { kinds, fns, total: profile.endTime - profile.startTime };
}

/** Starts the server that `which` loads, with the inspector on. */
async function start(inspect) {
  if (which === "empty") {
    const server = await startEmpty(inspect);
    return { server, target: { name: "empty worker (workers-rs)", server, path: "/", headers: {} } };
  }
  if (which === "pass-through") {
    const origin = await startOrigin();
    const server = await startPassThrough(origin.url, inspect);
    return { server, target: { name: "pass-through JS worker", server, path: "/public/page?x=1", headers: {} } };
  }
  const build = snapshotBridge();
  console.log(`bridge build: ${build.from}, wasm ${build.wasm_bytes} bytes, sha256 ${build.wasm_sha256.slice(0, 12)}, built ${build.built_at}`);
  const bindings = which === "feature-nocache" ? { ENTITLEMENT_CACHE_TTL: "0" } : {};
  if (which === "gate" || which === "forward" || which.startsWith("edge-")) bindings.KRATOS_PUBLIC_URL = (await startWhoami()).url;
  if (which === "forward") bindings.GATE_ROUTES = EDGE_BINDINGS.GATE_ROUTES;
  if (which === "consume") bindings.PLANS = usagePlans(wranglerToml().vars.PLANS);
  if (which.startsWith("edge-")) Object.assign(bindings, { ORIGIN_URL: (await startOrigin()).url, ...EDGE_BINDINGS });
  const server = await startBridge(inspect, { bindings, dir: build.dir, usage: which === "consume" });
  const targets = {
    feature: { name: "bridge feature check", server, path: FEATURE_PATH, headers: AUTH, expectAllowed: true },
    "feature-nocache": { name: "bridge feature check, cache off", server, path: FEATURE_PATH, headers: AUTH, expectAllowed: true },
    gate: { name: "bridge /gate, cached session", server, path: GATE_PATH, headers: SESSION, expectAllowed: true },
    healthz: { name: "bridge /healthz", server, path: "/healthz", headers: {} },
    "webhook-dup": webhookTarget({ name: "bridge webhook, duplicate", server, path: "/webhooks/stripe" }),
    "edge-ungated": { name: "bridge edge, ungated path", server, path: "/public/page?x=1", headers: {} },
    "edge-gated": { name: "bridge edge, gated and allowed (cached)", server, path: "/app/reports/q3", headers: SESSION },
    forward: { name: "bridge /auth/forward, cached session", server, path: "/auth/forward", headers: { ...SESSION, ...FORWARDED } },
    consume: consumeTarget({ name: "bridge consume, one identity", server }, false),
  };
  if (which === "webhook-dup") await markEventProcessed(server);
  return { server, target: targets[which] };
}

async function main() {
  checkBuilds();
  const inspect = { inspectorPort: 0, inspectorHost: "127.0.0.1" };
  const { server, target } = await start(inspect);
  const first = await firstAnswer(target);
  console.log(`${target.name}: 200 ${first.body}`);
  await load(target, 2, first.stable ? first.body : undefined); // warm-up

  const inspector = await server.mf.getInspectorURL();
  if (inspector.hostname !== "127.0.0.1") throw new Error(`inspector on ${inspector.hostname}, not 127.0.0.1`);
  const list = await (await fetch(`http://127.0.0.1:${inspector.port}/json`)).json();
  const isolate = `core:user:${server.name}`;
  const isolates = list.filter((t) => t.id === isolate || /^kv/.test(t.id));
  if (!isolates.some((t) => t.id === isolate)) throw new Error(`no ${isolate} isolate in ${list.map((t) => t.id)}`);
  const sessions = [];
  for (const t of isolates) {
    const c = await cdp(t.webSocketDebuggerUrl.replace(/^ws:\/\/[^/]+/, `ws://127.0.0.1:${inspector.port}`));
    await c.send("Profiler.enable");
    await c.send("Profiler.setSamplingInterval", { interval: 200 });
    sessions.push({ id: t.id, c });
  }
  for (const s of sessions) await s.c.send("Profiler.start");
  const { result } = await load(target, SECONDS, first.stable ? first.body : undefined);
  const profiles = [];
  for (const s of sessions) profiles.push({ id: s.id, profile: (await s.c.send("Profiler.stop")).profile });
  for (const s of sessions) s.c.close();

  const answers = result["2xx"] + result.non2xx;
  console.log(`\n${answers} answers in ${result.duration} s (${(answers / result.duration).toFixed(0)} req/s under the profiler), non-2xx ${result.non2xx}, errors ${result.errors}`);
  mkdirSync(join(ROOT, "target"), { recursive: true });
  for (const { id, profile } of profiles) {
    const file = join(ROOT, "target", `bench-gate-${id.replace(/\W+/g, "-")}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    const { kinds, fns, total } = summarise(profile);
    const busy = [...kinds].filter(([k]) => k !== "idle").reduce((s, [, us]) => s + us, 0);
    console.log(`\nisolate ${id}: busy ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms, ${(busy / answers).toFixed(1)} µs per answer (${file})`);
    for (const [k, us] of [...kinds].sort((a, b) => b[1] - a[1])) {
      if (k === "idle") continue;
      console.log(`  ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${(us / answers).toFixed(1).padStart(6)} µs/answer  ${k}`);
    }
    console.log("  top self time:");
    for (const [f, us] of [...fns].filter(([f]) => !f.startsWith("(idle)")).sort((a, b) => b[1] - a[1]).slice(0, 25)) {
      console.log(`  ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${(us / answers).toFixed(1).padStart(6)} µs  ${f}`);
    }
  }
  return result.non2xx + result.errors ? 1 : 0;
}

await runBench("gate profile", (SECONDS + 120) * 1000, main);
