// Times the webhook benchmark's workloads in wasm (V8, as in workerd) and
// prints them beside the native figures of the same code.
//
//   node run.mjs --module LABEL=PATH.wasm [--module LABEL=PATH.wasm ...]
//                [--native native.json ...] [--json OUT.json]
//
// --native takes the JSON that src/bin/native.rs prints (the same workloads
// timed natively); give it once per native build (e.g. the release profile
// and the native-o3 profile). The last table sets every wasm module against
// the first native build, and the last module (wasm-opt'd, as deployed)
// against the other native builds too.
//
// Each module is the raw cdylib of benches/wasm (no wasm-bindgen glue): it
// exports plain `extern "C"` functions `setup() -> u32` and
// `run_<op>(iterations: u32) -> u32`. Because the root crate links the
// Workers shell on wasm32, the module also imports ~100 wasm-bindgen
// placeholder functions (`__wbindgen_placeholder__`,
// `__wbindgen_externref_xform__`) that only the wasm-bindgen CLI would fill
// in. None of them is reached by the benchmarked code, so each is stubbed
// with a function that throws: a call would abort the run loudly, never
// skew it silently.
//
// Method, identical to src/bin/native.rs: per operation, double the
// iteration count until one call takes >= 20 ms (calibration and warm-up,
// which also lets V8 tier the code up from Liftoff to TurboFan), then time 5
// calls of the count that takes about BENCH_TARGET_MS (default 200) each with
// performance.now(); report the median ns/op (min and max too) and ops/s.

import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

export const OPS = [
  // [name, export, baseline]: the same rows as OPS in src/lib.rs
  ["hmac_sha256", "run_hmac", null],
  ["verify", "run_verify", "hmac_sha256"],
  ["verify_2_secrets", "run_verify_rotated", "hmac_sha256"],
  ["json_value_event", "run_json_value", null],
  ["parse_event", "run_parse", "json_value_event"],
  ["json_value_list", "run_json_value_list", null],
  ["parse_subscription_list", "run_parse_subscriptions", "json_value_list"],
  ["verify+parse_event", "run_verify_parse", "hmac_sha256"],
];
const RUNS = 5;
const TARGET_MS = Number(process.env.BENCH_TARGET_MS ?? 200);

function parseArgs(argv) {
  const args = { modules: [], natives: [], json: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--module") {
      const v = next();
      const eq = v.indexOf("=");
      if (eq < 1) throw new Error(`--module wants LABEL=PATH, got ${v}`);
      args.modules.push({ label: v.slice(0, eq), path: v.slice(eq + 1) });
    } else if (a === "--native") args.natives.push(next());
    else if (a === "--json") args.json = next();
    else throw new Error(`unknown argument ${a}`);
  }
  if (args.modules.length === 0) throw new Error("give at least one --module LABEL=PATH.wasm");
  return args;
}

function stubImports(module) {
  const imports = {};
  const counts = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== "function") {
      throw new Error(`unexpected ${imp.kind} import ${imp.module}.${imp.name}: cannot stub it`);
    }
    imports[imp.module] ??= {};
    imports[imp.module][imp.name] = () => {
      throw new Error(`wasm called the stubbed import ${imp.module}.${imp.name}`);
    };
    counts[imp.module] = (counts[imp.module] ?? 0) + 1;
  }
  return { imports, counts };
}

function timeCall(fn, iterations) {
  const start = performance.now();
  const n = fn(iterations);
  const ms = performance.now() - start;
  if (n >>> 0 !== iterations) throw new Error(`workload returned ${n >>> 0} of ${iterations}: it failed`);
  return ms;
}

async function benchModule({ label, path }) {
  const bytes = readFileSync(path);
  const module = await WebAssembly.compile(bytes);
  const { imports, counts } = stubImports(module);
  const { exports } = await WebAssembly.instantiate(module, imports);
  const bodyBytes = exports.setup();
  if (!bodyBytes) throw new Error(`${label}: setup() failed: a workload does not succeed on the fixture`);
  const ops = {};
  for (const [name, exp] of OPS) {
    const fn = exports[exp];
    if (typeof fn !== "function") throw new Error(`${label}: no export ${exp}`);
    let n = 1;
    let ms = timeCall(fn, n);
    while (ms < 20 && n < 2 ** 30) {
      n *= 2;
      ms = timeCall(fn, n);
    }
    const iterations = Math.max(1, Math.ceil((n * TARGET_MS) / ms));
    const ns = [];
    for (let r = 0; r < RUNS; r++) ns.push((timeCall(fn, iterations) * 1e6) / iterations);
    ns.sort((a, b) => a - b);
    const median = ns[RUNS >> 1];
    ops[name] = {
      ns_per_op: median,
      ops_per_s: 1e9 / median,
      iterations,
      min_ns: ns[0],
      max_ns: ns[RUNS - 1],
    };
  }
  return {
    target: label,
    file: path,
    wasm_bytes: bytes.length,
    stubbed_imports: counts,
    body_bytes: bodyBytes,
    subscription_list_bytes: exports.subscription_list_len(),
    ops,
  };
}

// ---- printing ----
const fmtNs = (ns) => `${Math.round(ns).toLocaleString("en-US")} ns`;
const fmtOps = (ops) => Math.round(ops).toLocaleString("en-US");
const fmtX = (x) => `${x.toFixed(2)}x`;
function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const line = (r) =>
    "| " + r.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join(" | ") + " |";
  const sep = "|" + widths.map((w, c) => (c === 0 ? "-".repeat(w + 1) + "-" : "-".repeat(w + 1) + ":")).join("|") + "|";
  return [line(rows[0]), sep, ...rows.slice(1).map(line)].join("\n");
}

function printTarget(t) {
  const rows = [["operation", "ns/op (median of 5)", "min..max", "ops/s", "vs baseline"]];
  for (const [name, , base] of OPS) {
    const o = t.ops[name];
    const b = base ? t.ops[base] : null;
    rows.push([
      name,
      fmtNs(o.ns_per_op),
      `${fmtNs(o.min_ns)}..${fmtNs(o.max_ns)}`,
      fmtOps(o.ops_per_s),
      b ? `${fmtX(o.ns_per_op / b.ns_per_op)} ${base}` : "(baseline)",
    ]);
  }
  const extra = t.wasm_bytes ? `, module ${(t.wasm_bytes / 1024).toFixed(0)} KiB` : "";
  console.log(`\n${t.target}${extra}`);
  console.log(table(rows));
}

function printComparison(natives, wasms) {
  const targets = [...natives, ...wasms];
  // Every wasm module against the first native build (same profile), and
  // the last module (as deployed) against the other native builds.
  const pairs = [
    ...wasms.map((w) => [w, natives[0]]),
    ...natives.slice(1).map((n) => [wasms[wasms.length - 1], n]),
  ].filter(([w, n]) => w && n);
  const header = ["operation", ...targets.map((t) => `${t.target} ns/op`), ...pairs.map(([w, n]) => `${w.target}/${n.target}`)];
  const rows = [header];
  for (const [name] of OPS) {
    rows.push([
      name,
      ...targets.map((t) => fmtNs(t.ops[name].ns_per_op)),
      ...pairs.map(([w, n]) => fmtX(w.ops[name].ns_per_op / n.ops[name].ns_per_op)),
    ]);
  }
  console.log(`\nside by side (same code, same ${targets[0].body_bytes}-byte event, median of ${RUNS} runs)`);
  console.log(table(rows));
}

const args = parseArgs(process.argv.slice(2));
const natives = args.natives.map((f) => JSON.parse(readFileSync(f, "utf8")));
const wasms = [];
for (const m of args.modules) wasms.push(await benchModule(m));
const targets = [...natives, ...wasms];
const first = wasms[0];
console.log(
  `event: customer.subscription.updated, ${first.body_bytes} bytes; ` +
    `subscription list page: ${first.subscription_list_bytes} bytes; ` +
    `node ${process.version}; stubbed wasm-bindgen imports: ` +
    Object.entries(first.stubbed_imports).map(([k, v]) => `${v} from ${k}`).join(", "),
);
for (const t of targets) printTarget(t);
printComparison(natives, wasms);
if (args.json) writeFileSync(args.json, JSON.stringify({ runs: RUNS, target_ms: TARGET_MS, targets }, null, 2) + "\n");
