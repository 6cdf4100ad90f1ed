// Shared by run.mjs and profile.mjs: the workers of the gate benchmark, each
// served by its own Miniflare instance (its own workerd process) on
// 127.0.0.1 with a local in-memory KV namespace BILLING_KV, and the load
// generator (autocannon, keep-alive connections, no pipelining).

import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync, statSync } from "node:fs";
import { createHash, createHmac } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

export const require = createRequire(import.meta.url);
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const { Miniflare } = await import(join(ROOT, "node_modules/miniflare/dist/src/index.js"));
const autocannon = require(join(ROOT, "node_modules/autocannon"));

export function numEnv(name, def, min, max) {
  const raw = process.env[name];
  const v = raw === undefined || raw === "" ? def : Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new Error(`${name}=${raw}: want a number in ${min}..${max}`);
  return v;
}

export const CONNECTIONS = numEnv("BENCH_CONNECTIONS", 32, 1, 1024);
export const BRIDGE_DIR = resolve(ROOT, process.env.KSB_BRIDGE_BUILD ?? "build");
export const EMPTY_DIR = resolve(ROOT, process.env.KSB_EMPTY_WORKER_BUILD ?? "target/bench-empty-worker/build");
// The same worker writing one log line per request, as the bridge does.
export const EMPTY_LOGGING_DIR = resolve(ROOT, process.env.KSB_EMPTY_LOGGING_WORKER_BUILD ?? "target/bench-empty-logging-worker/build");
export const PASS_THROUGH_DIR = resolve(ROOT, process.env.KSB_PASS_THROUGH_WORKER_BUILD ?? "target/bench-pass-through-worker/build");
// direct: each worker on its own workerd socket (unsafeDirectSockets), as an
// edge request reaches it; entry: through Miniflare's entry worker, one more
// JS hop (request copy, cf blob, service-binding fetch) in front of each.
export const VIA = process.env.BENCH_VIA ?? "direct";
if (VIA !== "direct" && VIA !== "entry") throw new Error(`BENCH_VIA=${VIA}: want direct or entry`);

export const IDENTITY = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f";
export const TOKEN = "bench-token";
export const FEATURE_PATH = `/v1/identities/${IDENTITY}/features/premium_feature`;
export const AUTH = { authorization: `Bearer ${TOKEN}` };
export const SESSION_TOKEN = "bench-session";
export const GATE_PATH = "/gate/premium_feature";
export const SESSION = { "x-session-token": SESSION_TOKEN };

/**
 * From wrangler.toml: its [vars] (plain `NAME = "text"` lines and PLANS, a
 * '''...''' JSON string) and compatibility_date.
 */
export function wranglerToml() {
  const text = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const plans = /^PLANS\s*=\s*'''([\s\S]*?)'''/m.exec(text);
  if (!plans) throw new Error("wrangler.toml: no PLANS = '''...''' in [vars]");
  JSON.parse(plans[1]); // fail here, not in the worker, if it is not JSON
  const vars = {};
  const section = /^\[vars\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(text);
  for (const m of (section ? section[1] : "").matchAll(/^([A-Z][A-Z0-9_]*)\s*=\s*"([^"\\]*)"\s*(?:#.*)?$/gm)) vars[m[1]] = m[2];
  vars.PLANS = plans[1].trim();
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(text);
  return { vars, plans: vars.PLANS, compatibilityDate: date ? date[1] : "2026-04-01" };
}

export function checkBuilds() {
  for (const [what, p] of [
    ["the bridge build (scripts/build.sh)", join(BRIDGE_DIR, "index.js")],
    ["the bridge wasm (scripts/build.sh)", join(BRIDGE_DIR, "index_bg.wasm")],
    ["the empty worker build (scripts/bench-gate.sh)", join(EMPTY_DIR, "index.js")],
    ["the logging empty worker build (scripts/bench-gate.sh)", join(EMPTY_LOGGING_DIR, "index.js")],
  ]) {
    if (!existsSync(p)) throw new Error(`${what} is missing: ${p}`);
  }
}

// ---- servers -----------------------------------------------------------------

const servers = []; // every Miniflare started, for stopAll()

/**
 * Starts one worker in its own Miniflare. `shared` adds Miniflare-wide
 * options (e.g. inspectorPort). The worker's console output (the bridge logs
 * one JSON line per request) is drained and counted, not printed.
 */
/** The pids of this process's workerd children. */
export function workerdChildren() {
  const pids = new Set();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (stat.includes("(workerd)") && Number(fields[1]) === process.pid) pids.add(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * CPU time a server's workerd process has run so far, in µs (the sum of
 * its threads' run time from /proc/<pid>/task/<tid>/schedstat), or NaN when
 * it cannot be read. The benchmarks divide it by the answers of a run: what
 * the worker (and the runtime around it) costs per answer, whatever the load
 * generator beside it costs.
 */
export function cpuMicros(server) {
  if (!server.pid) return NaN;
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${server.pid}/task`)) {
      ns += Number(readFileSync(`/proc/${server.pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    }
    return ns / 1000;
  } catch {
    return NaN;
  }
}

export async function serve(name, workerOptions, shared = {}) {
  const before = workerdChildren();
  const stdio = { logBytes: 0, logLines: 0 };
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    logRequests: false,
    handleRuntimeStdio(stdout, stderr) {
      const count = (chunk) => {
        stdio.logBytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) stdio.logLines++;
      };
      stdout.on("data", count);
      stderr.on("data", count);
      // BENCH_STDERR=1: the runtime's own errors, for a run that failed.
      if (process.env.BENCH_STDERR === "1") stderr.on("data", (chunk) => process.stderr.write(`[${name}] ${chunk}`));
    },
    ...shared,
    name,
    kvNamespaces: { BILLING_KV: `bench-${name}` },
    ...(VIA === "direct" ? { unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] } : {}),
    ...workerOptions,
  });
  const server = { name, mf, url: null, stdio, pid: null };
  servers.push(server);
  const entryUrl = await mf.ready;
  const started = [...workerdChildren()].filter((pid) => !before.has(pid));
  server.pid = started.length === 1 ? started[0] : null;
  server.url = (VIA === "direct" ? await mf.unsafeGetDirectURL(name) : entryUrl).toString().replace(/\/$/, "");
  const host = new URL(server.url).hostname;
  if (host !== "127.0.0.1") throw new Error(`${name} listens on ${host}, not 127.0.0.1`);
  return server;
}

/** Stops one server started by serve() (e.g. after a cold-start sample). */
export async function stop(server) {
  const i = servers.indexOf(server);
  if (i !== -1) servers.splice(i, 1);
  await server.mf.dispose();
}

export async function stopAll() {
  while (servers.length) {
    const s = servers.pop();
    try {
      await s.mf.dispose();
    } catch (e) {
      console.error(`dispose ${s.name}: ${e.message}`);
    }
  }
}

export const wasmWorker = (dir, compatibilityDate) => ({
  modulesRoot: dir,
  modules: [
    { type: "ESModule", path: join(dir, "index.js") },
    { type: "CompiledWasm", path: join(dir, "index_bg.wasm") },
  ],
  compatibilityDate,
});

/**
 * Copies a build (index.js + index_bg.wasm) to target/<name>, so that what
 * is served and reported stays the same while build/ is rebuilt during a
 * run; `patch` may rewrite index.js. Answers the copy's directory and the
 * wasm's size, SHA-256 and build time.
 */
export function snapshotBuild(from, name, patch = (js) => js) {
  const dir = join(ROOT, "target", name);
  mkdirSync(dir, { recursive: true });
  const js = readFileSync(join(from, "index.js"), "utf8");
  const wasm = readFileSync(join(from, "index_bg.wasm"));
  const builtAt = statSync(join(from, "index_bg.wasm")).mtime.toISOString();
  const patched = patch(js);
  if (patched === null) return null;
  writeFileSync(join(dir, "index.js"), patched);
  writeFileSync(join(dir, "index_bg.wasm"), wasm);
  return {
    dir,
    from,
    wasm_bytes: wasm.length,
    wasm_sha256: createHash("sha256").update(wasm).digest("hex"),
    js_sha256: createHash("sha256").update(js).digest("hex"),
    built_at: builtAt,
  };
}

/** The bridge build, copied to target/bench-gate-bridge (see snapshotBuild). */
export function snapshotBridge() {
  return snapshotBuild(BRIDGE_DIR, "bench-gate-bridge");
}

/**
 * A copy of a bridge build whose console.log import does nothing (the
 * bridge still builds each log line in Rust and hands it to JS; only the
 * runtime's console.log is skipped): a diagnostic of what the one log line
 * per request costs. Answers its directory, or null when the glue has no
 * console.log import of the expected shape.
 */
export function quietBridgeBuild(from) {
  const re = /(__wbg_log_[0-9a-f]+:function\(([a-z])\)\{)console\.log\(\2\)\}/g;
  const snap = snapshotBuild(from, "bench-gate-quiet-bridge", (js) => {
    const matches = js.match(re);
    return matches && matches.length === 1 ? js.replace(re, "$1}") : null;
  });
  return snap && snap.dir;
}

/** The bridge (build/index.js + index_bg.wasm, or `dir`; more `bindings`), its KV seeded. */
export async function startBridge(shared = {}, { name = "bridge", dir = BRIDGE_DIR, bindings = {}, seed = true, usage = false } = {}) {
  const { vars, compatibilityDate } = wranglerToml();
  const bridge = await serve(
    name,
    {
      ...wasmWorker(dir, compatibilityDate),
      ...(usage ? { durableObjects: USAGE_OBJECTS } : {}),
      // wrangler.toml's [vars] (PLANS, APP_URL, ...), with every URL that a
      // feature check never calls pointed at 127.0.0.1:9, and test secrets.
      bindings: {
        ...vars,
        ENVIRONMENT: "test",
        STRIPE_API_BASE: "http://127.0.0.1:9",
        STRIPE_SECRET_KEY: "sk_test_bench",
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        KRATOS_WEBHOOK_SECRET: "x",
        BRIDGE_API_TOKEN: TOKEN,
        KRATOS_ADMIN_URL: "http://127.0.0.1:9",
        KRATOS_PUBLIC_URL: "http://127.0.0.1:9",
        ...bindings,
      },
    },
    shared,
  );
  if (seed) await seedKv(bridge, usage ? USAGE_IDENTITIES : []);
  return bridge;
}

/**
 * A stand-in for Kratos' /sessions/whoami on a free port of 127.0.0.1: the
 * bench session is the bench identity; anything else is 401. It counts its
 * calls, so the report shows how rarely the bridge's session cache asks.
 */
export async function startWhoami() {
  const http = await import("node:http");
  const stub = { calls: 0, url: null, server: null };
  stub.server = http.createServer((req, res) => {
    stub.calls++;
    const ok = req.url.startsWith("/sessions/whoami") && req.headers["x-session-token"] === SESSION_TOKEN;
    res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
    res.end(JSON.stringify(ok ? { id: "bench-session-id", active: true, identity: { id: IDENTITY } } : { error: { code: 401 } }));
  });
  await new Promise((done) => stub.server.listen(0, "127.0.0.1", done));
  stub.url = `http://127.0.0.1:${stub.server.address().port}`;
  servers.push({ name: "whoami", mf: { dispose: () => new Promise((done) => stub.server.close(done)) } });
  return stub;
}

/** The empty workers-rs worker (target/bench-empty-worker/build, or `dir`). */
export function startEmpty(shared = {}, dir = EMPTY_DIR, name = "empty") {
  return serve(name, wasmWorker(dir, wranglerToml().compatibilityDate), shared);
}

/** The recipe's JS gate (seed-worker.js), its KV seeded. */
export async function startSeed(shared = {}) {
  const seed = await serve(
    "seed",
    {
      modulesRoot: join(ROOT, "benches/gate"),
      modules: [{ type: "ESModule", path: join(ROOT, "benches/gate/seed-worker.js") }],
      compatibilityDate: wranglerToml().compatibilityDate,
      bindings: { BRIDGE_API_TOKEN: TOKEN },
    },
    shared,
  );
  await seedKv(seed);
  return seed;
}

/**
 * An origin for edge gate mode on a free port of 127.0.0.1: a plain Node
 * server answering every request 200 with a small JSON body.
 */
export async function startOrigin() {
  const http = await import("node:http");
  const origin = { url: null, server: null };
  origin.server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      // Says whether the bridge sent a signed assertion, so that the
      // benchmark checks every gated answer carried (or lacked) one.
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ origin: true, assertion: typeof req.headers["x-bridge-assertion"] === "string" }));
    });
  });
  origin.server.keepAliveTimeout = 60_000;
  await new Promise((done) => origin.server.listen(0, "127.0.0.1", done));
  origin.url = `http://127.0.0.1:${origin.server.address().port}`;
  servers.push({ name: "origin", mf: { dispose: () => new Promise((done) => origin.server.close(done)) } });
  return origin;
}

/** Edge gate mode's settings in the benchmarks (with ORIGIN_URL and
 * KRATOS_PUBLIC_URL): one feature rule, one session rule, the bridge's own
 * routes under /_bridge. */
export const EDGE_BINDINGS = {
  GATE_ROUTES: JSON.stringify([{ path: "/app/reports/*", feature: "premium_feature" }, { path: "/app/*", session: "required" }]),
  BRIDGE_PATH_PREFIX: "/_bridge",
};

/** What a proxy sends /auth/forward: the original request (Traefik and
 * Caddy's headers), a gated and allowed path. */
export const FORWARDED = { "x-forwarded-method": "GET", "x-forwarded-uri": "/app/reports/q3", "x-forwarded-host": "app.example.com", "x-forwarded-proto": "https" };

/** ASSERTION_SIGNING_KEY in the benchmark: a P-256 key made for it, not a
 * secret (the e2e tests' key). */
export const BENCH_ASSERTION_KEY =
  '{"kty":"EC","crv":"P-256","kid":"k1","x":"BFecD-5KSgxnt3G5ZU_4avcWdVtnUYCQzI2mLaII8JA","y":"R54ANSj1oPTttVcrM8D0mpQrPEJBUolFbomo1hsoEc8","d":"41xz88IkkaP51ffqHDXmezRxrwcz3wnIWsRfXDWwjV8"}';

/** The workers-rs pass-through worker (benches/gate/pass-through-worker) forwarding to `originUrl`: edge gate mode's baseline. */
export function startRustPassThrough(originUrl, shared = {}, dir = PASS_THROUGH_DIR) {
  return serve(
    "pass-through-rs",
    { ...wasmWorker(dir, wranglerToml().compatibilityDate), bindings: { ORIGIN_URL: originUrl } },
    shared,
  );
}

/** A plain JS pass-through worker forwarding every request to `originUrl`: the floor of forwarding without wasm. */
export function startPassThrough(originUrl, shared = {}) {
  return serve(
    "pass-through",
    {
      modules: true,
      script:
        "export default { fetch(req, env) { const u = new URL(req.url); " +
        "return fetch(env.ORIGIN_URL + u.pathname + u.search, req); } };",
      bindings: { ORIGIN_URL: originUrl },
      compatibilityDate: wranglerToml().compatibilityDate,
    },
    shared,
  );
}

/** A JS worker answering what the empty worker answers (diagnostic). */
export function startJsEmpty(shared = {}) {
  return serve(
    "js-empty",
    {
      modules: true,
      script:
        'export default { fetch() { return new Response(\'{"ok":true}\', ' +
        '{ headers: { "content-type": "application/json", "cache-control": "no-store" } }); } };',
      compatibilityDate: wranglerToml().compatibilityDate,
    },
    shared,
  );
}

export function entitlementRecord(now, identity = IDENTITY) {
  return {
    identity_id: identity,
    stripe_customer_id: "cus_bench",
    plan: "pro",
    status: "active",
    access: "full",
    features: ["basic_feature", "premium_feature"],
    current_period_end: now + 30 * 86400,
    cancel_at_period_end: false,
    trial_end: null,
    pending: false,
    synced_at: now,
    subscription_id: "sub_bench",
  };
}

/** Writes the bench identity's entitlement record to the server's KV
 * (and those of `more` identities). */
export async function seedKv(server, more = []) {
  const kv = await server.mf.getKVNamespace("BILLING_KV");
  const now = Math.floor(Date.now() / 1000);
  for (const id of [IDENTITY, ...more]) await kv.put(`ent:${id}`, JSON.stringify(entitlementRecord(now, id)));
}

// ---- metered limits -----------------------------------------------------------

/** The identities the "many identities" consume target spreads over, each
 * with its own usage counter. */
export const USAGE_IDENTITIES = Array.from({ length: 256 }, (_, i) => `6f1c2d3e-4b5a-4c6d-8e7f-${(i + 1).toString(16).padStart(12, "0")}`);

/** wrangler.toml's PLANS with a meter every plan may use without limit (so
 * that every consumption is granted and counted), not billed. */
export function usagePlans(plansJson) {
  const plans = JSON.parse(plansJson);
  plans.meters = { bench_units: { reset: "month" } };
  for (const p of Object.values(plans.plans)) p.limits = { bench_units: "unlimited" };
  return JSON.stringify(plans);
}

/** The usage counter's Durable Object, as wrangler.toml declares it. */
export const USAGE_OBJECTS = { USAGE: { className: "UsageCounter", useSQLite: true } };

/** A consume target: POST one unit of `bench_units`, for the bench identity,
 * or (`spread`) for each of USAGE_IDENTITIES in turn. */
export function consumeTarget(fields, spread) {
  const path = (id) => `/v1/identities/${id}/usage/bench_units`;
  let next = 0;
  return {
    ...fields,
    method: "POST",
    path: path(IDENTITY),
    headers: { ...AUTH, "content-type": "application/json" },
    body: '{"amount":1}',
    ...(spread
      ? {
          setupRequest: (req) => ({ ...req, path: path(USAGE_IDENTITIES[next++ % USAGE_IDENTITIES.length]) }),
        }
      : {}),
  };
}

// ---- webhooks ---

// A real customer.subscription.updated event (benches/wasm's fixture, 4.4 KB),
// the body of the webhook targets.
export const EVENT = readFileSync(join(ROOT, "benches/wasm/fixture-event.json"), "utf8");
export const EVENT_ID = JSON.parse(EVENT).id;

/** The bridge's bench STRIPE_WEBHOOK_SECRET. */
export const WEBHOOK_SECRET = "whsec_bench";

/** A Stripe-Signature for EVENT, fresh each second (the 300 s tolerance outlasts no run). */
let signed = { at: 0, header: "" };
function signature() {
  const t = Math.floor(Date.now() / 1000);
  if (signed.at !== t) {
    const v1 = createHmac("sha256", WEBHOOK_SECRET).update(`${t}.${EVENT}`).digest("hex");
    signed = { at: t, header: `t=${t},v1=${v1}` };
  }
  return signed.header;
}
/** A load target POSTing EVENT with a fresh signature (`fields`: key, name, server, path). */
export const webhookTarget = (fields) => ({
  method: "POST",
  body: EVENT,
  headers: { "content-type": "application/json", "stripe-signature": signature() },
  setupRequest: (req) => ({ ...req, headers: { ...req.headers, "stripe-signature": signature() } }),
  ...fields,
});

/** Marks EVENT processed in the bridge's KV, so that it is answered as a duplicate. */
export async function markEventProcessed(bridge) {
  await (await bridge.mf.getKVNamespace("BILLING_KV")).put(`evt:${EVENT_ID}`, String(Math.floor(Date.now() / 1000)));
}

// ---- load --------------------------------------------------------------------

/**
 * One autocannon run of `seconds` at CONNECTIONS keep-alive connections;
 * the per-response latencies of 2xx answers (float ms) are kept, since
 * autocannon's own histogram rounds them to whole ms.
 */
export function load(target, seconds, expectBody) {
  return new Promise((resolveRun, rejectRun) => {
    const latencies = [];
    const errorKinds = {};
    // autocannon checks expectBody itself, except for targets whose
    // requests are set up one by one: those are checked here.
    const own = { mismatches: 0 };
    const check = target.setupRequest && expectBody !== undefined;
    const inst = autocannon(
      {
        url: target.server.url + target.path,
        method: target.method ?? "GET",
        headers: target.headers,
        body: target.body,
        connections: CONNECTIONS,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
        // A target whose requests change over time (a fresh signature)
        // gives them one by one; autocannon then takes no expectBody.
        ...(target.setupRequest
          ? {
              requests: [
                {
                  setupRequest: target.setupRequest,
                  onResponse: check
                    ? (_status, body) => {
                        if (body !== expectBody) own.mismatches++;
                      }
                    : undefined,
                },
              ],
            }
          : { expectBody }),
      },
      (err, result) =>
        err ? rejectRun(err) : resolveRun({ result: { ...result, mismatches: result.mismatches + own.mismatches, errorKinds }, latencies }),
    );
    inst.on("response", (_client, statusCode, _bytes, ms) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(ms);
    });
    // What the transport errors were, so a failed run says.
    inst.on("reqError", (err) => {
      const code = err.code ?? err.message ?? "error";
      errorKinds[code] = (errorKinds[code] ?? 0) + 1;
    });
  });
}

/**
 * Checks a target's first answer (200, and `"allowed": true` when
 * `expectAllowed`); answers its body and whether a second answer is the
 * same byte for byte (then every answer can be checked against it).
 */
export async function firstAnswer(target) {
  const init = { method: target.method ?? "GET", headers: target.headers, body: target.body };
  const res = await fetch(target.server.url + target.path, init);
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${target.name}: first answer is ${res.status}: ${body}`);
  if (target.expectAllowed) {
    let parsed;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new Error(`${target.name}: first answer is not JSON: ${body}`);
    }
    if (parsed.allowed !== true) throw new Error(`${target.name}: first answer is not "allowed": true: ${body}`);
  }
  // expectFields: JSON fields the answer must have (e.g. the origin saw an
  // assertion); expectHeaders: headers it must carry (e.g. X-Bridge-Assertion).
  for (const [field, want] of Object.entries(target.expectFields ?? {})) {
    let got;
    try {
      got = JSON.parse(body)[field];
    } catch {
      throw new Error(`${target.name}: first answer is not JSON: ${body}`);
    }
    if (got !== want) throw new Error(`${target.name}: first answer has ${field}=${JSON.stringify(got)}, not ${JSON.stringify(want)}: ${body}`);
  }
  for (const name of target.expectHeaders ?? []) {
    if (!res.headers.get(name)) throw new Error(`${target.name}: first answer has no ${name} header`);
  }
  const again = await (await fetch(target.server.url + target.path, init)).text();
  return { body, stable: again === body };
}

/** Ends the process after `ms` whatever happens, stopping every server first. */
function hardBound(ms, what) {
  const guard = setTimeout(async () => {
    console.error(`${what}: still running after ${Math.round(ms / 1000)} s; stopping`);
    await stopAll();
    process.exit(2);
  }, ms);
  guard.unref();
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.once(sig, async () => {
      await stopAll();
      process.exit(130);
    });
  }
  return guard;
}

/**
 * Runs a benchmark's `main` (answering its exit code) under a hard bound of
 * `ms`, stops every server whatever happens, and exits the process.
 */
export async function runBench(what, ms, main) {
  const guard = hardBound(ms, what);
  let code = 1;
  try {
    code = await main();
  } catch (e) {
    console.error(`${what} failed: ${e.stack ?? e}`);
    code = 1;
  } finally {
    await stopAll();
    clearTimeout(guard);
  }
  process.exit(code);
}
