// Where the bundle's bytes go (README.md here): sizes of the bridge, the
// empty workers-rs worker and the recipe worker (raw and gzipped), then the
// bridge's wasm by crate and its largest items and monomorphizations, from
// twiggy's reports (https://rustwasm.github.io/twiggy/).
//
//   node benches/size/report.mjs <twiggy> <bridge dir> <empty worker dir> <recipe bundle>

import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const [twiggy, bridgeDir, emptyDir, recipe] = process.argv.slice(2);
if (!recipe) throw new Error("usage: report.mjs <twiggy> <bridge dir> <empty worker dir> <recipe bundle>");

const sizes = (files) =>
  files.reduce(
    (s, f) => {
      const b = readFileSync(f);
      return { raw: s.raw + b.length, gz: s.gz + gzipSync(b, { level: 9 }).length };
    },
    { raw: 0, gz: 0 },
  );
const rows = [
  ["bridge (index.js + index_bg.wasm)", sizes([join(bridgeDir, "index.js"), join(bridgeDir, "index_bg.wasm")])],
  ["bridge wasm alone", sizes([join(bridgeDir, "index_bg.wasm")])],
  ["empty workers-rs worker (index.js + index_bg.wasm)", sizes([join(emptyDir, "index.js"), join(emptyDir, "index_bg.wasm")])],
  ["recipe worker (TS + stripe, wrangler-style bundle)", sizes([recipe])],
];
const pad = (s, n) => String(s).padStart(n);
console.log(`${"bundle".padEnd(52)} ${pad("bytes", 9)} ${pad("gzipped", 9)}`);
for (const [name, s] of rows) console.log(`${name.padEnd(52)} ${pad(s.raw, 9)} ${pad(s.gz, 9)}`);
const [b, , e, r] = rows.map((x) => x[1]);
console.log(`bridge / empty worker: ${(b.raw / e.raw).toFixed(2)}x raw, ${(b.gz / e.gz).toFixed(2)}x gzipped; bridge / recipe: ${(b.raw / r.raw).toFixed(2)}x raw, ${(b.gz / r.gz).toFixed(2)}x gzipped`);

// Every item of the wasm, rolled up by crate (the first path segment of its
// demangled name; names inside `<...>` count for the outer type's crate).
const wasm = join(bridgeDir, "index_bg.wasm");
const items = JSON.parse(execFileSync(twiggy, ["top", "-n", "1000000", "--format", "json", wasm], { maxBuffer: 1 << 28 }));
const byCrate = new Map();
for (const it of items) {
  let name = it.name.replace(/^<+/, "").replace(/^&(mut )?/, "");
  const crate = /^data segment/.test(name) ? "(data segments)" : /subsection|section/.test(name) ? "(names and other sections)" : /^[A-Za-z_][A-Za-z0-9_]*(?=::|\[)/.exec(name)?.[0] ?? "(other)";
  byCrate.set(crate, (byCrate.get(crate) ?? 0) + it.shallow_size);
}
const total = items.reduce((s, it) => s + it.shallow_size, 0);
console.log(`\nthe bridge's wasm by crate (${total} bytes; the async handlers are inlined into js_sys's future_to_promise):`);
for (const [crate, bytes] of [...byCrate].sort((a, b) => b[1] - a[1]).slice(0, 16)) {
  console.log(`${pad(bytes, 9)} ${pad(((100 * bytes) / total).toFixed(1), 5)} %  ${crate}`);
}
console.log("\nlargest items (twiggy top):");
console.log(execFileSync(twiggy, ["top", "-n", "12", wasm]).toString().split("\n").map((l) => l.slice(0, 150)).join("\n"));
console.log("generic code instantiated most often (twiggy monos):");
console.log(execFileSync(twiggy, ["monos", "-n", "6", "-m", "3", wasm]).toString().split("\n").map((l) => l.slice(0, 150)).join("\n"));
