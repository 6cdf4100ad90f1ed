// What one console.log per request costs in local workerd, whatever the
// line's length (benches/gate/README.md, "What the figures say"): an empty
// JS worker answering without a log line, beside the same worker logging
// 10, 80, 150 and 300 characters per request, side by side in one run.
//
//   node benches/gate/log-cost.mjs    (BENCH_SECONDS, BENCH_ROUNDS, BENCH_WARMUP_SECONDS)
//
// No build needed: the workers are inline JS. Prints the table and ratios.

import { serve, wranglerToml, runBench } from "./servers.mjs";
import { measure, printMeasured, ROUND_SETTINGS } from "./measure.mjs";

const LENGTHS = [10, 80, 150, 300];

function logger(name, length) {
  const body = length ? `console.log(${JSON.stringify("a".repeat(length))});` : "";
  return serve(name, {
    modules: true,
    compatibilityDate: wranglerToml().compatibilityDate,
    script: `export default { fetch() { ${body} return new Response('{"ok":true}', { headers: { "content-type": "application/json" } }); } };`,
  });
}

await runBench("log cost", (ROUND_SETTINGS.seconds + 2) * 5 * ROUND_SETTINGS.rounds * 1000 + 120_000, async () => {
  const targets = [{ key: "nolog", name: "JS worker, no log line", server: await logger("nolog", 0), path: "/", headers: {} }];
  for (const n of LENGTHS) {
    targets.push({ key: `log${n}`, name: `JS worker, one ${n}-character line`, server: await logger(`log${n}`, n), path: "/", headers: {} });
  }
  const { ratio } = await measure(targets, ROUND_SETTINGS);
  printMeasured(targets, LENGTHS.map((n) => [`one ${n}-character line / no log line`, ratio(`log${n}`, "nolog")]));
  return 0;
});
