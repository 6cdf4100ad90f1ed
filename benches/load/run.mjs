// The load run (README.md here): feature checks, /gate and Stripe webhooks
// mixed, BENCH_LOAD_SECONDS (60) at BENCH_LOAD_CONNECTIONS (64) keep-alive
// connections in all, against the bridge served by Miniflare's API on
// 127.0.0.1 (no wrangler proxy). Passes only with zero errors, zero non-2xx
// answers, every answer the expected one, and the event ids the worker
// acknowledged (2xx) all found marked processed in KV, by id (lose nothing),
// with no id marked that was not sent or was refused; prints throughput, p50
// and p99 per kind, and the ids missing or extra.
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

import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { dirname, join, resolve } from "node:path";
import os from "node:os";

import { ROOT, BRIDGE_DIR, numEnv, FEATURE_PATH, AUTH, GATE_PATH, SESSION, startBridge, startWhoami, snapshotBuild, runBench, WEBHOOK_SECRET } from "../gate/servers.mjs";
import { percentile, table, fmt } from "../gate/measure.mjs";

const require = (await import("node:module")).createRequire(import.meta.url);
const autocannon = require(join(ROOT, "node_modules/autocannon"));

const SECONDS = numEnv("BENCH_LOAD_SECONDS", 60, 1, 3600);
const CONNECTIONS = numEnv("BENCH_LOAD_CONNECTIONS", 64, 4, 1024);
const JSON_OUT = resolve(ROOT, process.env.BENCH_JSON ?? "target/bench-load.json");

const fixture = JSON.parse(readFileSync(join(ROOT, "benches/wasm/fixture-event.json"), "utf8"));
delete fixture.data.object.metadata.olympus_identity_id;
const EVENT_PREFIX = `evt_load_${process.pid}_`;
/** The event ids sent, answered 2xx (acknowledged), and answered otherwise. */
const events = { sent: new Set(), acked: new Set(), refused: new Set() };
/** A new signed event for a new customer, each call. */
function nextEvent() {
  const n = events.sent.size + 1;
  const event = structuredClone(fixture);
  event.id = `${EVENT_PREFIX}${n}`;
  event.data.object.customer = `cus_load_${n}`;
  events.sent.add(event.id);
  const body = JSON.stringify(event);
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac("sha256", WEBHOOK_SECRET).update(`${t}.${body}`).digest("hex");
  return { id: event.id, body, signature: `t=${t},v1=${v1}` };
}

/** At most `n` of `ids`, in order, for a message. */
function some(ids, n = 10) {
  const list = [...ids].sort((a, b) => Number(a.slice(EVENT_PREFIX.length)) - Number(b.slice(EVENT_PREFIX.length)));
  return list.length <= n ? list.join(", ") : `${list.slice(0, n).join(", ")}, ... (${list.length - n} more)`;
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
            onResponse: (status, body, context) => {
              if (!check(status, body, context)) wrong++;
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
  // Only the bridge is served here (servers.mjs's checkBuilds also wants the
  // gate benchmark's baselines, which scripts/bench-load.sh does not build).
  for (const f of ["index.js", "index_bg.wasm"]) {
    if (!existsSync(join(BRIDGE_DIR, f))) throw new Error(`the bridge build (scripts/build.sh) is missing: ${join(BRIDGE_DIR, f)}`);
  }
  const loadBefore = os.loadavg();
  console.log(`load: ${SECONDS} s, ${CONNECTIONS} connections (feature checks, /gate, webhooks mixed); ${os.cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`);
  const build = snapshotBuild(BRIDGE_DIR, "bench-load-bridge");
  const whoami = await startWhoami();
  const stripe = await startStripeStub();
  const bridge = await startBridge({}, { dir: build.dir, bindings: { KRATOS_PUBLIC_URL: whoami.url, STRIPE_API_BASE: stripe.url } });
  const allowed = (status, body) => status === 200 && JSON.parse(body).allowed === true;
  // The connection's context holds the id of the event its request carried
  // (one request in flight per connection: pipelining 1).
  const webhookOk = (status, body, context) => {
    (status >= 200 && status < 300 ? events.acked : events.refused).add(context.eventId);
    if (status !== 200) return false;
    const v = JSON.parse(body);
    return v.received === true && v.outcome === "unlinked" && v.event_id === context.eventId;
  };
  const quarter = Math.max(1, Math.floor(CONNECTIONS / 4));
  const runs = await Promise.all([
    run("feature check", bridge.url + FEATURE_PATH, CONNECTIONS - 2 * quarter, { headers: AUTH }, allowed),
    run("/gate, cached session", bridge.url + GATE_PATH, quarter, { headers: SESSION }, allowed),
    run("webhook, new event", bridge.url + "/webhooks/stripe", quarter, {
      method: "POST",
      request: {
        setupRequest: (req, context) => {
          const { id, body, signature } = nextEvent();
          context.eventId = id;
          return { ...req, method: "POST", body, headers: { ...req.headers, "content-type": "application/json", "stripe-signature": signature } };
        },
      },
    }, webhookOk),
  ]);
  // Lose nothing: the ids of the events the worker acknowledged are the ids
  // it marked processed in KV (keys evt:<event id>, store::processed_event).
  const kv = await bridge.mf.getKVNamespace("BILLING_KV");
  const marked = new Set();
  for (let cursor; ; ) {
    const page = await kv.list({ prefix: `evt:${EVENT_PREFIX}`, cursor });
    for (const k of page.keys) marked.add(k.name.slice("evt:".length));
    if (page.list_complete) break;
    cursor = page.cursor;
  }
  // Acknowledged, not marked: lost. Marked, not acknowledged: allowed only for
  // an event sent and never answered (in flight when the clients stopped, at
  // most one per webhook connection); an id never sent, or one the worker
  // refused yet marked, is wrong.
  const lost = [...events.acked].filter((id) => !marked.has(id));
  const extra = [...marked].filter((id) => !events.acked.has(id));
  const unanswered = extra.filter((id) => events.sent.has(id) && !events.refused.has(id));
  const unexpected = extra.filter((id) => !unanswered.includes(id));
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
  // autocannon's count of 2xx answers, which the ids must account for.
  const webhooksOk = rows[2].ok;
  console.log("");
  console.log(
    table(
      [...rows, total].map((r) => [r.kind, r.connections, r.answers, fmt(r.rps, 0), fmt(r.p50_ms), fmt(r.p99_ms), `${r.errors}/${r.non2xx}/${r.wrong}`]),
      ["kind", "conns", "answers", "req/s", "p50 ms", "p99 ms", "errors/non-2xx/wrong"],
    ),
  );
  console.log(`\nwebhook events sent: ${events.sent.size}; acknowledged (2xx): ${events.acked.size} ids (autocannon counted ${webhooksOk}); marked processed in KV: ${marked.size}; acknowledged and marked: ${events.acked.size - lost.length}`);
  console.log(`acknowledged but not marked (lost): ${lost.length}${lost.length ? `: ${some(lost)}` : ""}`);
  console.log(`marked but not acknowledged: ${extra.length} (sent, never answered: ${unanswered.length}${unanswered.length ? `: ${some(unanswered)}` : ""}; never sent or refused: ${unexpected.length}${unexpected.length ? `: ${some(unexpected)}` : ""})`);
  console.log(`Stripe customer reads: ${stripe.calls}; whoami calls: ${whoami.calls}`);
  const loadAfter = os.loadavg();
  console.log(`load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}`);
  const webhookConnections = rows[2].connections;
  const ok =
    total.errors + total.non2xx + total.wrong === 0 &&
    events.acked.size === webhooksOk &&
    lost.length === 0 &&
    unexpected.length === 0 &&
    unanswered.length <= webhookConnections;
  const report = { when: new Date().toISOString(), seconds: SECONDS, connections: CONNECTIONS, machine: { cores: os.cpus().length, load_average_before: loadBefore, load_average_after: loadAfter, node: process.version }, build, rows, total, webhooks_sent: events.sent.size, webhooks_acked: events.acked.size, webhooks_marked: marked.size, webhooks_lost: lost, webhooks_marked_unanswered: unanswered, webhooks_marked_unexpected: unexpected, stripe_calls: stripe.calls, whoami_calls: whoami.calls, ok };
  mkdirSync(dirname(JSON_OUT), { recursive: true });
  writeFileSync(JSON_OUT, JSON.stringify(report, null, 2) + "\n");
  console.log(`results: ${JSON_OUT}`);
  stripe.server.closeAllConnections();
  stripe.server.close();
  if (!ok) {
    console.error(
      `FAILED: ${total.errors} errors, ${total.non2xx} non-2xx, ${total.wrong} wrong answers; ` +
        `${lost.length} acknowledged event ids not marked processed, ${unexpected.length} marked ids never sent or refused, ` +
        `${unanswered.length} marked ids never answered (at most ${webhookConnections}, one per webhook connection); ` +
        `${events.acked.size} acknowledged ids for ${webhooksOk} 2xx answers`,
    );
    return 1;
  }
  return 0;
}

await runBench("load run", (SECONDS + 120) * 1000, main);
