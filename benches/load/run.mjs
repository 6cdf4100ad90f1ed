// The load run (README.md here): feature checks, /gate and Stripe webhooks
// mixed, BENCH_LOAD_SECONDS (60) at BENCH_LOAD_CONNECTIONS (64) keep-alive
// connections in all, against the bridge served by Miniflare's API on
// 127.0.0.1 (no wrangler proxy). Passes only with zero errors, zero non-2xx
// answers, every answer the expected one, and every webhook answered 200
// recorded in KV as processed (lose nothing); prints throughput, p50 and p99 per kind.
//
//   scripts/bench-load.sh   (builds first; then node benches/load/run.mjs)
//
// The mix, as connections: half feature checks (a hot identity, served from
// the isolate's record cache), a quarter /gate with a cached session, a
// quarter webhooks. Every webhook is a new, signed
// customer.subscription.updated event (the benches/wasm fixture with a fresh
// id and customer, 4.4 KB) for a customer the bridge has not linked: it is
// verified, deduplicated (a KV read), its customer retrieved from a stand-in
// for Stripe's API (no olympus_identity_id: nothing to sync) and marked
// processed (a KV write).

import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { dirname, join, resolve } from "node:path";
import os from "node:os";

import { ROOT, BRIDGE_DIR, numEnv, FEATURE_PATH, AUTH, GATE_PATH, SESSION, checkBuilds, startBridge, startWhoami, snapshotBuild, runBench, WEBHOOK_SECRET } from "../gate/servers.mjs";
import { percentile, table, fmt } from "../gate/measure.mjs";

const require = (await import("node:module")).createRequire(import.meta.url);
const autocannon = require(join(ROOT, "node_modules/autocannon"));

const SECONDS = numEnv("BENCH_LOAD_SECONDS", 60, 1, 3600);
const CONNECTIONS = numEnv("BENCH_LOAD_CONNECTIONS", 64, 4, 1024);
const JSON_OUT = resolve(ROOT, process.env.BENCH_JSON ?? "target/bench-load.json");

const fixture = JSON.parse(readFileSync(join(ROOT, "benches/wasm/fixture-event.json"), "utf8"));
delete fixture.data.object.metadata.olympus_identity_id;
let sent = 0;
/** A new signed event for a new customer, each call. */
function nextEvent() {
  sent++;
  const event = structuredClone(fixture);
  event.id = `evt_load_${process.pid}_${sent}`;
  event.data.object.customer = `cus_load_${sent}`;
  const body = JSON.stringify(event);
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac("sha256", WEBHOOK_SECRET).update(`${t}.${body}`).digest("hex");
  return { body, signature: `t=${t},v1=${v1}` };
}

/** Stripe's GET /v1/customers/:id for an unlinked customer; counts its calls. */
async function startStripeStub() {
  const stub = { calls: 0, url: null };
  stub.server = createServer((req, res) => {
    stub.calls++;
    const m = /^\/v1\/customers\/(cus_[A-Za-z0-9_]+)$/.exec(req.url);
    res.writeHead(m ? 200 : 404, { "content-type": "application/json" });
    res.end(JSON.stringify(m ? { id: m[1], object: "customer", email: null, name: null, metadata: {} } : { error: { type: "invalid_request_error" } }));
  });
  stub.server.keepAliveTimeout = 60_000;
  await new Promise((done) => stub.server.listen(0, "127.0.0.1", done));
  stub.url = `http://127.0.0.1:${stub.server.address().port}`;
  return stub;
}

function run(kind, url, connections, options, check) {
  return new Promise((done, fail) => {
    const latencies = [];
    let wrong = 0;
    const inst = autocannon(
      {
        url,
        connections,
        pipelining: 1,
        duration: SECONDS,
        timeout: 10,
        ...options,
        requests: [
          {
            ...(options.request ?? {}),
            onResponse: (status, body) => {
              if (!check(status, body)) wrong++;
            },
          },
        ],
      },
      (err, result) => (err ? fail(err) : done({ kind, connections, result, latencies, wrong })),
    );
    inst.on("response", (_c, status, _b, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
}

async function main() {
  checkBuilds();
  const loadBefore = os.loadavg();
  console.log(`load: ${SECONDS} s, ${CONNECTIONS} connections (feature checks, /gate, webhooks mixed); ${os.cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`);
  const build = snapshotBuild(BRIDGE_DIR, "bench-load-bridge");
  const whoami = await startWhoami();
  const stripe = await startStripeStub();
  const bridge = await startBridge({}, { dir: build.dir, bindings: { KRATOS_PUBLIC_URL: whoami.url, STRIPE_API_BASE: stripe.url } });
  const allowed = (status, body) => status === 200 && JSON.parse(body).allowed === true;
  const webhookOk = (status, body) => {
    if (status !== 200) return false;
    const v = JSON.parse(body);
    return v.received === true && v.outcome === "unlinked";
  };
  const quarter = Math.max(1, Math.floor(CONNECTIONS / 4));
  const runs = await Promise.all([
    run("feature check", bridge.url + FEATURE_PATH, CONNECTIONS - 2 * quarter, { headers: AUTH }, allowed),
    run("/gate, cached session", bridge.url + GATE_PATH, quarter, { headers: SESSION }, allowed),
    run("webhook, new event", bridge.url + "/webhooks/stripe", quarter, {
      method: "POST",
      request: {
        setupRequest: (req) => {
          const { body, signature } = nextEvent();
          return { ...req, method: "POST", body, headers: { ...req.headers, "content-type": "application/json", "stripe-signature": signature } };
        },
      },
    }, webhookOk),
  ]);
  // Lose nothing: every webhook answered 200 is marked processed in KV.
  const kv = await bridge.mf.getKVNamespace("BILLING_KV");
  let marked = 0;
  for (let cursor; ; ) {
    const page = await kv.list({ prefix: "evt:evt_load_", cursor });
    marked += page.keys.length;
    if (page.list_complete) break;
    cursor = page.cursor;
  }
  const rows = runs.map((r) => {
    r.latencies.sort((a, b) => a - b);
    const answers = r.result["2xx"] + r.result.non2xx;
    return {
      kind: r.kind,
      connections: r.connections,
      answers,
      rps: answers / r.result.duration,
      p50_ms: percentile(r.latencies, 50),
      p99_ms: percentile(r.latencies, 99),
      errors: r.result.errors,
      timeouts: r.result.timeouts,
      non2xx: r.result.non2xx,
      wrong: r.wrong,
      ok: r.result["2xx"],
    };
  });
  const all = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const total = {
    kind: "all",
    connections: CONNECTIONS,
    answers: rows.reduce((s, r) => s + r.answers, 0),
    rps: rows.reduce((s, r) => s + r.rps, 0),
    p50_ms: percentile(all, 50),
    p99_ms: percentile(all, 99),
    errors: rows.reduce((s, r) => s + r.errors, 0),
    non2xx: rows.reduce((s, r) => s + r.non2xx, 0),
    wrong: rows.reduce((s, r) => s + r.wrong, 0),
  };
  const webhooksOk = rows[2].ok;
  console.log("");
  console.log(
    table(
      [...rows, total].map((r) => [r.kind, r.connections, r.answers, fmt(r.rps, 0), fmt(r.p50_ms), fmt(r.p99_ms), `${r.errors}/${r.non2xx}/${r.wrong}`]),
      ["kind", "conns", "answers", "req/s", "p50 ms", "p99 ms", "errors/non-2xx/wrong"],
    ),
  );
  console.log(`\nwebhooks answered 200: ${webhooksOk}; marked processed in KV: ${marked}; Stripe customer reads: ${stripe.calls}; whoami calls: ${whoami.calls}`);
  const loadAfter = os.loadavg();
  console.log(`load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}`);
  // Events still in flight when the clients stopped may be marked without an
  // answer counted; an answer without its mark would be a lost event.
  const ok = total.errors + total.non2xx + total.wrong === 0 && marked >= webhooksOk;
  const report = { when: new Date().toISOString(), seconds: SECONDS, connections: CONNECTIONS, machine: { cores: os.cpus().length, load_average_before: loadBefore, load_average_after: loadAfter, node: process.version }, build, rows, total, webhooks_ok: webhooksOk, webhooks_marked: marked, stripe_calls: stripe.calls, whoami_calls: whoami.calls, ok };
  mkdirSync(dirname(JSON_OUT), { recursive: true });
  writeFileSync(JSON_OUT, JSON.stringify(report, null, 2) + "\n");
  console.log(`results: ${JSON_OUT}`);
  stripe.server.closeAllConnections();
  stripe.server.close();
  if (!ok) {
    console.error(`FAILED: ${total.errors} errors, ${total.non2xx} non-2xx, ${total.wrong} wrong answers, ${webhooksOk - marked} webhooks answered but not marked`);
    return 1;
  }
  return 0;
}

await runBench("load run", (SECONDS + 120) * 1000, main);
