// The signing benchmark (README.md here; scripts/bench-signing.sh builds
// first): what one signature of the bridge's assertion costs in workerd
// with Web Crypto (`crypto.subtle.sign`, as src/runtime/crypto.rs does) and
// with a RustCrypto crate compiled to wasm (this crate), and how many bytes
// each crate adds to the wasm.
//
//   node benches/signing/run.mjs <builds dir>   (default target/bench-signing)
//
// <builds dir>/<variant>/ holds, for each variant (baseline, es256, eddsa,
// es256-tables, eddsa-tables): rustc.wasm (cargo's output, name section
// stripped) and index_bg.wasm (then `wasm-opt -O` as worker-build runs it,
// name section stripped): the latter is what is served and timed.
//
// One JS module worker in one Miniflare (workerd) on 127.0.0.1 imports the
// five modules. GET /?impl=<impl>&n=<n> signs the same input n times:
//   webcrypto-es256  crypto.subtle.sign({name: "ECDSA", hash: "SHA-256"}), each awaited
//   webcrypto-eddsa  crypto.subtle.sign("Ed25519"), each awaited
//   rust-es256       p256 (feature ecdsa only) in wasm: sign_n(ES256, n)
//   rust-eddsa       ed25519-dalek (default features off) in wasm: sign_n(EDDSA, n)
//   rust-*-tables    the same with the crates' precomputed basepoint tables
//   baseline         the baseline module's sign_n(0, n): n trivial loops
// workerd's clocks do not advance while JS or wasm runs (a Spectre
// mitigation), so the time is taken here in Node: sequential requests on one
// keep-alive connection, rounds interleaving every implementation (the order
// rotated each round) so that noise falls on all alike; per round, the
// median request minus the baseline's, over n, is the time of one signature.
// Also the CPU time of the workerd process (its threads' schedstat) per
// request over the same requests, the same way. First each impl's signature is checked with
// Node's Web Crypto `verify`, and the input the worker signs with Web Crypto
// is the one in the wasm.
//
// Environment: BENCH_N (signatures per request, 100), BENCH_REQUESTS (per
// impl and round, 10), BENCH_ROUNDS (15), BENCH_WARMUP (requests per impl
// before the rounds, 3). Writes <builds dir>/results.json.

import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { gzipSync, constants as zlib } from "node:zlib";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { webcrypto } from "node:crypto";
import os from "node:os";

import { cpuMicros, workerdChildren, wranglerToml } from "../gate/servers.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const { Miniflare } = await import(join(ROOT, "node_modules/miniflare/dist/src/index.js"));

function numEnv(name, def, min, max) {
  const raw = process.env[name];
  const v = raw === undefined || raw === "" ? def : Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name}=${raw}: want an integer in ${min}..${max}`);
  return v;
}
const N = numEnv("BENCH_N", 100, 1, 100_000);
const REQUESTS = numEnv("BENCH_REQUESTS", 10, 1, 10_000);
const ROUNDS = numEnv("BENCH_ROUNDS", 15, 1, 1_000);
const WARMUP = numEnv("BENCH_WARMUP", 3, 0, 1_000);
const BUILDS = resolve(process.argv[2] ?? join(ROOT, "target/bench-signing"));

// The test keys (not secrets): the P-256 key of the e2e tests and the gate
// benchmark, and RFC 8037 appendix A's Ed25519 key. The wasm holds the same
// private scalars (src/lib.rs).
const P256_JWK = {
  kty: "EC",
  crv: "P-256",
  kid: "k1",
  x: "BFecD-5KSgxnt3G5ZU_4avcWdVtnUYCQzI2mLaII8JA",
  y: "R54ANSj1oPTttVcrM8D0mpQrPEJBUolFbomo1hsoEc8",
  d: "41xz88IkkaP51ffqHDXmezRxrwcz3wnIWsRfXDWwjV8",
};
const ED25519_JWK = {
  kty: "OKP",
  crv: "Ed25519",
  d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
  x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
};

// sign_n's `alg` and the bits of algs() (src/lib.rs).
const ES256 = 1;
const EDDSA = 2;

const VARIANTS = [
  { name: "baseline", algs: 0 },
  { name: "es256", algs: ES256 },
  { name: "eddsa", algs: EDDSA },
  { name: "es256-tables", algs: ES256 },
  { name: "eddsa-tables", algs: EDDSA },
];

// impl -> how the worker signs, and what verifies it here.
const IMPLS = [
  { name: "baseline", kind: "wasm", variant: "baseline", alg: 0 },
  { name: "webcrypto-es256", kind: "webcrypto", alg: ES256 },
  { name: "rust-es256", kind: "wasm", variant: "es256", alg: ES256 },
  { name: "rust-es256-tables", kind: "wasm", variant: "es256-tables", alg: ES256 },
  { name: "webcrypto-eddsa", kind: "webcrypto", alg: EDDSA },
  { name: "rust-eddsa", kind: "wasm", variant: "eddsa", alg: EDDSA },
  { name: "rust-eddsa-tables", kind: "wasm", variant: "eddsa-tables", alg: EDDSA },
];

const wasmIdent = (v) => v.replace(/-/g, "_");

// The worker. Modules are named <variant>/index_bg.wasm under BUILDS.
const WORKER = `
${VARIANTS.map((v) => `import ${wasmIdent(v.name)} from "./${v.name}/index_bg.wasm";`).join("\n")}

const ES256 = ${ES256}, EDDSA = ${EDDSA};
const instances = {
${VARIANTS.map((v) => `  "${v.name}": new WebAssembly.Instance(${wasmIdent(v.name)}, {}).exports,`).join("\n")}
};
const IMPLS = ${JSON.stringify(Object.fromEntries(IMPLS.map((i) => [i.name, i])))};
const P256_JWK = ${JSON.stringify(P256_JWK)};
const ED25519_JWK = ${JSON.stringify(ED25519_JWK)};

// The signing input: the one in the wasm (the same in every build).
const base = instances.baseline;
const INPUT = new Uint8Array(base.memory.buffer, base.input_ptr(), base.input_len()).slice();

// Imported once per isolate, as the bridge does.
let keys = null;
function importKeys() {
  keys ??= Promise.all([
    crypto.subtle.importKey("jwk", P256_JWK, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]),
    crypto.subtle.importKey("jwk", ED25519_JWK, { name: "Ed25519" }, false, ["sign"]),
  ]);
  return keys;
}

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/info") {
      const info = { input: b64url(INPUT), algs: {}, inputs_equal: {} };
      for (const [name, ex] of Object.entries(instances)) {
        info.algs[name] = ex.algs();
        const input = new Uint8Array(ex.memory.buffer, ex.input_ptr(), ex.input_len());
        info.inputs_equal[name] = input.length === INPUT.length && input.every((b, i) => b === INPUT[i]);
      }
      return Response.json(info);
    }
    const impl = IMPLS[url.searchParams.get("impl")];
    const n = Number(url.searchParams.get("n") ?? "1");
    if (!impl || !Number.isInteger(n) || n < 1) return new Response("want ?impl=<impl>&n=<n>", { status: 400 });
    let sig, fold;
    if (impl.kind === "wasm") {
      const ex = instances[impl.variant];
      fold = ex.sign_n(impl.alg, n);
      sig = new Uint8Array(ex.memory.buffer, ex.sig_ptr(), 64).slice();
    } else {
      const [p256, ed25519] = await importKeys();
      const [alg, key] = impl.alg === ES256 ? [{ name: "ECDSA", hash: "SHA-256" }, p256] : [{ name: "Ed25519" }, ed25519];
      for (let i = 0; i < n; i++) sig = new Uint8Array(await crypto.subtle.sign(alg, key, INPUT));
      fold = sig[0];
    }
    return Response.json({ n, fold, sig: b64url(sig) });
  },
};
`;

// ---- the server ----------------------------------------------------------------


async function serve() {
  const before = workerdChildren();
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    logRequests: false,
    name: "signing",
    compatibilityDate: wranglerToml().compatibilityDate,
    modulesRoot: BUILDS,
    modules: [
      { type: "ESModule", path: join(BUILDS, "worker.mjs"), contents: WORKER },
      ...VARIANTS.map((v) => ({ type: "CompiledWasm", path: join(BUILDS, v.name, "index_bg.wasm") })),
    ],
    // The worker's own socket, as an edge request reaches it: no entry worker in between.
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  });
  await mf.ready;
  const started = [...workerdChildren()].filter((pid) => !before.has(pid));
  const url = (await mf.unsafeGetDirectURL("signing")).toString().replace(/\/$/, "");
  if (new URL(url).hostname !== "127.0.0.1") throw new Error(`the worker listens on ${url}, not 127.0.0.1`);
  return { mf, url, pid: started.length === 1 ? started[0] : null };
}

// ---- sizes -----------------------------------------------------------------------

const gzip9 = (buf) => gzipSync(buf, { level: zlib.Z_BEST_COMPRESSION }).length;

function sizes() {
  const rows = [];
  for (const v of VARIANTS) {
    const row = { variant: v.name };
    for (const [stage, file] of [
      ["rustc", "rustc.wasm"],
      ["opt", "index_bg.wasm"],
    ]) {
      const buf = readFileSync(join(BUILDS, v.name, file));
      // The name section is a custom section named "name"; none must be left.
      if (hasNameSection(buf)) throw new Error(`${v.name}/${file} still has a name section`);
      row[stage] = { raw: buf.length, gzip: gzip9(buf) };
    }
    rows.push(row);
  }
  return rows;
}

/** Whether a wasm module has a custom section called "name". */
function hasNameSection(buf) {
  let i = 8;
  const leb = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = buf[i++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return v;
    }
  };
  while (i < buf.length) {
    const id = buf[i++];
    const size = leb();
    const end = i + size;
    if (id === 0) {
      const len = leb();
      if (buf.toString("utf8", i, i + len) === "name") return true;
    }
    i = end;
  }
  return false;
}

// ---- checks and timing -------------------------------------------------------------

async function get(server, path) {
  const res = await fetch(server.url + path);
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${body}`);
  return body;
}

async function check(server) {
  const info = JSON.parse(await get(server, "/info"));
  for (const v of VARIANTS) {
    if (info.algs[v.name] !== v.algs) throw new Error(`${v.name}: algs() = ${info.algs[v.name]}, want ${v.algs}`);
    if (!info.inputs_equal[v.name]) throw new Error(`${v.name}: its signing input differs from the baseline's`);
  }
  const input = Buffer.from(info.input, "base64url");
  const subtle = webcrypto.subtle;
  const pub = (jwk) => Object.fromEntries(Object.entries(jwk).filter(([k]) => k !== "d"));
  const verifiers = {
    [ES256]: {
      key: await subtle.importKey("jwk", pub(P256_JWK), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]),
      alg: { name: "ECDSA", hash: "SHA-256" },
    },
    [EDDSA]: {
      key: await subtle.importKey("jwk", pub(ED25519_JWK), { name: "Ed25519" }, false, ["verify"]),
      alg: { name: "Ed25519" },
    },
  };
  const checked = [];
  for (const impl of IMPLS) {
    if (impl.alg === 0) continue;
    const { sig } = JSON.parse(await get(server, `/?impl=${impl.name}&n=1`));
    const bytes = Buffer.from(sig, "base64url");
    const { key, alg } = verifiers[impl.alg];
    if (bytes.length !== 64 || !(await subtle.verify(alg, key, bytes, input))) {
      throw new Error(`${impl.name}: its signature does not verify with Node's Web Crypto`);
    }
    // A signature of other bytes must not verify either (the check checks).
    const other = Buffer.from(input);
    other[0] ^= 1;
    if (await subtle.verify(alg, key, bytes, other)) throw new Error(`${impl.name}: verify accepts anything`);
    checked.push(impl.name);
  }
  return { input_bytes: input.length, verified: checked };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * `count` sequential requests of n signatures: the median wall ms of a
 * request (a request delayed by other work on the machine does not move it)
 * and workerd's CPU ms per request over all of them.
 */
async function timeRequests(server, impl, count) {
  const path = `/?impl=${impl}&n=${N}`;
  const walls = [];
  const cpu0 = cpuMicros(server);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await get(server, path);
    walls.push(performance.now() - t0);
  }
  const cpu = (cpuMicros(server) - cpu0) / 1000 / count;
  return { wall: median(walls), cpu };
}

// ---- report ------------------------------------------------------------------------

const fmtInt = (v) => Math.round(v).toLocaleString("en-US");
const fmtSigned = (v) => (v >= 0 ? "+" : "-") + fmtInt(Math.abs(v));
const fmtUs = (v) => (Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1)) : "n/a");
const pad = (s, w) => String(s).padStart(w);

function printSizes(rows) {
  const base = rows.find((r) => r.variant === "baseline");
  console.log("\nwasm size (bytes, name section stripped; delta = over the baseline module)");
  for (const [stage, title] of [
    ["opt", "after wasm-opt -O (worker-build --release's pass), as served"],
    ["rustc", "cargo's output (lto, opt-level s)"],
  ]) {
    console.log(`  ${title}`);
    console.log(`  ${"variant".padEnd(14)}${pad("raw", 9)}${pad("delta", 9)}${pad("gzip -9", 9)}${pad("delta", 9)}`);
    for (const r of rows) {
      const s = r[stage];
      const b = base[stage];
      console.log(
        `  ${r.variant.padEnd(14)}${pad(fmtInt(s.raw), 9)}${pad(r === base ? "" : fmtSigned(s.raw - b.raw), 9)}` +
          `${pad(fmtInt(s.gzip), 9)}${pad(r === base ? "" : fmtSigned(s.gzip - b.gzip), 9)}`,
      );
    }
  }
}

async function main() {
  for (const v of VARIANTS) {
    for (const f of ["rustc.wasm", "index_bg.wasm"]) {
      const p = join(BUILDS, v.name, f);
      if (!existsSync(p)) throw new Error(`${p} is missing: run scripts/bench-signing.sh`);
    }
  }
  const sizeRows = sizes();
  const server = await serve();
  const started = Date.now();
  try {
    const checks = await check(server);
    console.log(
      `signing input: ${checks.input_bytes} bytes; one signature of each impl verified with Node's Web Crypto: ${checks.verified.join(", ")}`,
    );

    // Warm-up first: V8 compiles wasm with its baseline tier and moves hot
    // functions to its optimising tier as they run.
    const samples = Object.fromEntries(IMPLS.map((i) => [i.name, []]));
    for (let w = 0; w < WARMUP; w++) for (const impl of IMPLS) await timeRequests(server, impl.name, 1);
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order each round: no impl always follows the same one.
      const order = IMPLS.map((_, i) => IMPLS[(i + r) % IMPLS.length]);
      for (const impl of order) samples[impl.name].push(await timeRequests(server, impl.name, REQUESTS));
    }

    // Per round: (impl's request - the baseline's) / N.
    const results = {};
    for (const impl of IMPLS) {
      const perRound = (key) => samples[impl.name].map((s, r) => ((s[key] - samples.baseline[r][key]) * 1000) / N);
      const wall = perRound("wall");
      const cpu = perRound("cpu");
      results[impl.name] = {
        request_ms: median(samples[impl.name].map((s) => s.wall)),
        us_per_sig: median(wall),
        us_per_sig_min: Math.min(...wall),
        us_per_sig_max: Math.max(...wall),
        cpu_us_per_sig: median(cpu),
      };
    }

    printSizes(sizeRows);

    console.log(
      `\ntime of one signature in workerd (µs; ${N} signatures a request, ${REQUESTS} sequential requests per impl and round, ` +
        `${ROUNDS} rounds, ${WARMUP} warm-up requests each; median over rounds of (impl's median request - baseline's) / ${N}; range = rounds' min..max)`,
    );
    console.log(`  ${"impl".padEnd(20)}${pad("ms/request", 12)}${pad("µs/sig", 10)}${pad("range", 18)}${pad("workerd CPU µs/sig", 20)}`);
    for (const impl of IMPLS) {
      const x = results[impl.name];
      const isBase = impl.name === "baseline";
      console.log(
        `  ${impl.name.padEnd(20)}${pad(x.request_ms.toFixed(2), 12)}${pad(isBase ? "-" : fmtUs(x.us_per_sig), 10)}` +
          `${pad(isBase ? "" : `${fmtUs(x.us_per_sig_min)}..${fmtUs(x.us_per_sig_max)}`, 18)}${pad(isBase ? "-" : fmtUs(x.cpu_us_per_sig), 20)}`,
      );
    }
    const ratios = [];
    for (const [rust, web] of [
      ["rust-es256", "webcrypto-es256"],
      ["rust-es256-tables", "webcrypto-es256"],
      ["rust-eddsa", "webcrypto-eddsa"],
      ["rust-eddsa-tables", "webcrypto-eddsa"],
    ]) {
      ratios.push({
        rust,
        webcrypto: web,
        wall: results[rust].us_per_sig / results[web].us_per_sig,
        cpu: results[rust].cpu_us_per_sig / results[web].cpu_us_per_sig,
      });
    }
    console.log("\nratios rust / webcrypto (time of one signature)");
    for (const r of ratios) {
      console.log(`  ${`${r.rust} / ${r.webcrypto}`.padEnd(38)}${pad(`${r.wall.toFixed(1)}x`, 8)}  (workerd CPU: ${r.cpu.toFixed(1)}x)`);
    }

    const out = {
      date: new Date().toISOString(),
      node: process.version,
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      settings: { n: N, requests: REQUESTS, rounds: ROUNDS, warmup: WARMUP },
      checks,
      sizes: sizeRows,
      results,
      ratios,
      samples,
      elapsed_s: (Date.now() - started) / 1000,
    };
    writeFileSync(join(BUILDS, "results.json"), JSON.stringify(out, null, 2) + "\n");
    console.log(`\nwrote ${join(BUILDS, "results.json")} (${out.elapsed_s.toFixed(0)} s of requests)`);
    return 0;
  } finally {
    await server.mf.dispose();
  }
}

// A hard bound: stop whatever happens.
const guard = setTimeout(() => {
  console.error("signing benchmark: still running after 10 min; stopping");
  process.exit(2);
}, 600_000);
guard.unref();
let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(`signing benchmark failed: ${e.stack ?? e}`);
}
process.exit(code);
