// Runs the app's handlers once for one user against a running bridge and
// prints what each answered, one JSON object on the last line.
//
//   BRIDGE_URL=http://127.0.0.1:8787 BRIDGE_API_TOKEN=dev-bridge-token \
//   IDENTITY_ID=<id> SESSION_TOKEN=<ory_st_...> bash examples/ts-client/run.sh

import { BridgeError, bridge } from "./bridge";
import { exportReport, premiumForSession, reportsPage } from "./app";

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`set ${name}`);
  return v;
}

const b = bridge({ baseUrl: need("BRIDGE_URL"), apiToken: need("BRIDGE_API_TOKEN") });
const id = need("IDENTITY_ID");
const exportsToTry = Number(process.env.EXPORTS ?? "3");

const reports = await reportsPage(b, id);
const session = await premiumForSession(b, need("SESSION_TOKEN"));
const signedOut = await premiumForSession(b, "ory_st_not_a_session");
let usage: object;
try {
  const exports = [];
  for (let i = 1; i <= exportsToTry; i++) exports.push(await exportReport(b, id, `r${i}`));
  // A client retrying its first export: answered as the first time, consumed once.
  const retry = await exportReport(b, id, "r1");
  usage = { exports, retry, balance: await b.balance(id, "exports") };
} catch (e) {
  // PLANS without an `exports` meter (the default catalogue): nothing to count.
  if (!(e instanceof BridgeError && e.code === "unknown_meter")) throw e;
  usage = { exports: "PLANS has no exports meter" };
}

console.log(JSON.stringify({ reports, session, signedOut, ...usage }));
