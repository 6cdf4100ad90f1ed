// The example app: the browser half of an integration with
// kratos-stripe-bridge, in one file with no dependencies (Node.js 20+).
//
// It is what a SaaS front end does with the bridge, and nothing more:
//   - sign-up pages rendered from Kratos' browser registration flow (the
//     session cookie is Kratos' own, set on Kratos' answer);
//   - a home page whose script asks the bridge, with the browser's cookie
//     (CORS with credentials), for the plan and one feature;
//   - plain HTML forms that POST to the bridge for Checkout and the Billing
//     Portal (the bridge answers 303; no billing code here);
//   - a pricing page (the bridge's PRICING_URL) and a login page (LOGIN_URL);
//   - /app/* pages, served when the bridge runs in edge gate mode in front
//     of this app (ORIGIN_URL): they show the identity headers it forwards.
//
// Settings (environment): PORT (3000), APP_URL (this app as browsers reach
// it, the bridge's APP_URL; http://127.0.0.1:PORT), BRIDGE_URL (the bridge as browsers
// reach it, http://127.0.0.1:8787), KRATOS_PUBLIC_URL (http://127.0.0.1:4433),
// KRATOS_BROWSER_URL (Kratos' public URL as browsers reach it; default
// KRATOS_PUBLIC_URL). Run: node examples/app/server.mjs

import { createServer } from "node:http";

const PORT = Number(process.env.PORT ?? 3000);
const APP = (process.env.APP_URL ?? `http://127.0.0.1:${PORT}`).replace(/\/$/, "");
const BRIDGE = (process.env.BRIDGE_URL ?? "http://127.0.0.1:8787").replace(/\/$/, "");
const KRATOS = (process.env.KRATOS_PUBLIC_URL ?? "http://127.0.0.1:4433").replace(/\/$/, "");
const KRATOS_BROWSER = (process.env.KRATOS_BROWSER_URL ?? KRATOS).replace(/\/$/, "");

const escape = (s) =>
  String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

function page(title, body) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)} · Example app</title>
<style>
  body { font-family: "Liberation Sans", Arial, sans-serif; max-width: 40em; margin: 2em auto; color: #1f2933; }
  header { display: flex; justify-content: space-between; border-bottom: 1px solid #d9e2ec; margin-bottom: 1em; }
  .card { border: 1px solid #d9e2ec; border-radius: 6px; padding: 0.8em 1em; margin: 0.8em 0; }
  .ok { color: #1b7a3a; } .no { color: #b42318; } .muted { color: #627d98; }
  button { font-size: 1em; padding: 0.4em 0.9em; }
  label { display: block; margin: 0.4em 0; } input { font-size: 1em; }
  form { display: inline; }
</style></head><body><header><h2>Example app</h2><p><a href="/">Home</a> · <a href="/pricing">Pricing</a></p></header>
${body}</body></html>`;
}

function send(res, status, html, headers = {}) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", ...headers });
  res.end(html);
}

// A plan button: a plain form POST to the bridge, which answers 303 to
// Stripe Checkout (or to the Billing Portal for a paying identity).
const checkoutForm = (plan, label) =>
  `<form method="post" action="${BRIDGE}/billing/checkout"><input type="hidden" name="plan" value="${escape(plan)}">` +
  `<button id="upgrade-${escape(plan)}" type="submit">${escape(label)}</button></form>`;

const portalForm = () =>
  `<form method="post" action="${BRIDGE}/billing/portal"><button id="portal" type="submit">Manage billing</button></form>`;

const signUpUrl = (returnTo) =>
  `${KRATOS_BROWSER}/self-service/registration/browser?return_to=${encodeURIComponent(returnTo)}`;

// The home page. Its script reads the plan from the bridge with the
// browser's Kratos cookie: `credentials: "include"` across origins works
// because the bridge answers CORS for APP_URL's origin, and only for it.
function home(appUrl) {
  const script = `
const bridge = ${JSON.stringify(BRIDGE)};
const show = (id, html) => { document.getElementById(id).innerHTML = html; };
async function refresh() {
  const me = await fetch(bridge + "/me/entitlements", { credentials: "include" });
  if (me.status === 401) {
    show("plan", 'Signed out. <a id="sign-up" href=${JSON.stringify(signUpUrl(appUrl + "/"))}>Sign up</a>');
    document.body.dataset.state = "signed-out";
    return;
  }
  const record = await me.json();
  show("plan", 'Plan <b id="plan-name">' + record.plan + '</b>, status <b id="plan-status">' + record.status +
    '</b>, access <b>' + record.access + '</b>' +
    (record.pending ? '<p id="pending">Checkout done: waiting for Stripe to confirm the subscription…</p>' : ""));
  const gate = await fetch(bridge + "/gate/premium_feature", { credentials: "include" });
  show("premium", gate.ok ? '<span class="ok" id="premium-state">Premium reports: unlocked</span>'
                          : '<span class="no" id="premium-state">Premium reports: locked (' + gate.status + ')</span>');
  document.getElementById("actions").hidden = false;
  document.body.dataset.state = record.pending ? "pending" : record.plan;
  // Right after Checkout the record is pending; Stripe's webhook turns it into the plan.
  if (record.pending) setTimeout(refresh, 500);
}
refresh().catch((e) => { show("plan", '<span class="no" id="error">' + e + '</span>'); document.body.dataset.state = "error"; });`;
  const returned = `<p class="muted" id="returned"></p><script>
const q = new URLSearchParams(location.search);
if (q.get("checkout") === "success") document.getElementById("returned").textContent = "Back from Checkout.";
</script>`;
  return page(
    "Home",
    `<div class="card" id="plan">Loading…</div><div class="card" id="premium"></div>${returned}
<div id="actions" hidden>${checkoutForm("pro", "Upgrade to Pro")} ${portalForm()}
<p><a id="reports" href="${BRIDGE}/gate/premium_feature">Open premium reports</a></p></div>
<script>${script}</script>`,
  );
}

function pricing() {
  return page(
    "Pricing",
    `<h3 id="pricing">Pricing</h3>
<div class="card"><b>Free</b>: the basics, for as long as you like.</div>
<div class="card"><b>Pro</b>: premium reports too. ${checkoutForm("pro", "Choose Pro")}</div>
<div class="card"><b>Enterprise</b>: everything. ${checkoutForm("enterprise", "Choose Enterprise")}</div>`,
  );
}

// Renders Kratos' registration flow: the flow is read server-side with the
// browser's cookies (Kratos checks its anti-CSRF cookie), and the form posts
// straight to Kratos, which sets the session cookie and redirects back.
async function registration(req, res, flowId, appUrl) {
  const restart = () => send(res, 303, "", { location: signUpUrl(appUrl + "/") });
  if (!flowId) return restart();
  const answer = await fetch(`${KRATOS}/self-service/registration/flows?id=${encodeURIComponent(flowId)}`, {
    headers: { cookie: req.headers.cookie ?? "", accept: "application/json" },
  });
  if (answer.status === 403 || answer.status === 404 || answer.status === 410) return restart();
  if (!answer.ok) return send(res, 502, page("Sign up", `<p class="no">Kratos answered ${answer.status}.</p>`));
  const flow = await answer.json();
  const messages = (list) => (list ?? []).map((m) => `<p class="no">${escape(m.text)}</p>`).join("");
  const fields = flow.ui.nodes
    .map((node) => {
      const a = node.attributes;
      if (a.node_type !== "input") return "";
      if (a.type === "hidden") return `<input type="hidden" name="${escape(a.name)}" value="${escape(a.value)}">`;
      if (a.type === "submit")
        return `<button id="submit" type="submit" name="${escape(a.name)}" value="${escape(a.value)}">${escape(node.meta.label?.text ?? "Submit")}</button>`;
      const id = a.name.replaceAll(".", "-");
      return `<label>${escape(node.meta.label?.text ?? a.name)} <input id="${escape(id)}" name="${escape(a.name)}" type="${escape(a.type)}"` +
        `${a.value ? ` value="${escape(a.value)}"` : ""}${a.required ? " required" : ""}></label>${messages(node.messages)}`;
    })
    .join("");
  send(res, 200, page("Sign up", `<h3>Sign up</h3>${messages(flow.ui.messages)}
<form method="${escape(flow.ui.method)}" action="${escape(flow.ui.action)}">${fields}</form>`));
}

// LOGIN_URL: where the bridge sends a signed-out browser, with `return_to`.
function login(returnTo, appUrl) {
  const target = returnTo || appUrl + "/";
  return page("Sign in", `<h3 id="login">Sign in to continue</h3><p class="muted">You will return to ${escape(target)}.</p>
<p><a id="sign-up" href="${escape(signUpUrl(target))}">Sign up</a></p>`);
}

// Pages of the app itself, reached through the bridge in edge gate mode: the
// bridge has already decided, and says who is asking in these headers.
function appPage(req, path) {
  const h = (name) => req.headers[name] ?? "";
  const premium = path.startsWith("/app/reports/");
  return page(
    premium ? "Reports" : "Dashboard",
    `<h3 id="app-page">${premium ? "Premium reports" : "Dashboard"}</h3>
<div class="card">Identity <code id="identity">${escape(h("x-identity-id"))}</code>, plan <b id="app-plan">${escape(h("x-plan"))}</b>,
access <b>${escape(h("x-access"))}</b></div><p><a id="to-reports" href="/app/reports/q3">Premium reports</a></p>`,
  );
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", APP);
  const appUrl = APP;
  try {
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, page("Not allowed", "<p>GET only.</p>"));
    if (url.pathname === "/") return send(res, 200, home(appUrl));
    if (url.pathname === "/pricing") return send(res, 200, pricing());
    if (url.pathname === "/registration") return await registration(req, res, url.searchParams.get("flow"), appUrl);
    if (url.pathname === "/login") return send(res, 200, login(url.searchParams.get("return_to"), appUrl));
    if (url.pathname.startsWith("/app/")) return send(res, 200, appPage(req, url.pathname));
    send(res, 404, page("Not found", "<p>No such page.</p>"));
  } catch (e) {
    console.error(`example app: ${req.method} ${url.pathname} failed: ${e.message}`);
    send(res, 502, page("Error", "<p>The app could not reach Kratos.</p>"));
  }
});

server.listen(PORT, "127.0.0.1", () => console.log(`example app on http://127.0.0.1:${PORT}`));
