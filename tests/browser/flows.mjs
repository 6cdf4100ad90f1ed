// The browser flows, driven in a real headless Chromium by playwright-core
// (tests/e2e_browser.rs starts the stack and the example app, runs one
// scenario of this script per test, then checks the emulators' state).
//
// Every step is what a user does: clicks, form fields, redirects. What the
// browser decides on its own (which cookies go along, CORS, Sec-Fetch-Site,
// the 303s after form POSTs) is never imitated here.
//
// Environment: SCENARIO (upgrade | edge | cross_site), KSB_CHROMIUM,
// APP_URL, BRIDGE_URL, STRIPE_URL, EMAIL, SHOTS (folder for screenshots).
// The last line printed is a JSON summary for the Rust side.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v.replace(/\/$/, "");
};
const [SCENARIO, APP, BRIDGE, STRIPE, EMAIL, SHOTS] = ["SCENARIO", "APP_URL", "BRIDGE_URL", "STRIPE_URL", "EMAIL", "SHOTS"].map(env);
const PASSWORD = "correct horse battery staple";
const STEP_TIMEOUT = 20_000;

mkdirSync(SHOTS, { recursive: true });

// The flags a root user on a closed network needs (no sandbox as root; no
// background connections to Google's hosts).
const browser = await chromium.launch({
  executablePath: env("KSB_CHROMIUM"),
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps"],
});
const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
context.setDefaultTimeout(STEP_TIMEOUT);
const page = await context.newPage();
const consoleLines = [];
page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));

let shot = 0;
async function screenshot(name) {
  shot += 1;
  await page.screenshot({ path: `${SHOTS}/${String(shot).padStart(2, "0")}-${name}.png` });
}

// Runs a step; on failure, says which, where the page was, what it showed
// and what its console said.
async function step(name, run) {
  try {
    await run();
  } catch (e) {
    const body = await page.textContent("body").catch(() => "(no body)");
    await page.screenshot({ path: `${SHOTS}/failed-${name}.png` }).catch(() => {});
    throw new Error(`step "${name}" failed at ${page.url()}: ${e.message}\npage text: ${body?.trim().slice(0, 600)}\nconsole:\n  ${consoleLines.join("\n  ")}`);
  }
}

async function control(url, body) {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const answer = await r.text();
  assert.equal(r.status, 200, `${url}: ${answer}`);
  return JSON.parse(answer);
}

// Clicks and waits for the navigation it starts to land where `where` says.
async function clickTo(selector, where) {
  await Promise.all([page.waitForURL(where), page.click(selector)]);
}

// Waits until the home page's script has settled (it sets body[data-state]
// once it read the bridge: "signed-out", "error", "pending", or the plan)
// and checks it settled on `expected`. "pending" is awaited through, unless
// it is what is expected.
async function state(name, expected) {
  await step(name, async () => {
    const seen = await page.waitForFunction((want) => {
      const now = document.body.dataset.state;
      return now && (now === want || now !== "pending") && now;
    }, expected);
    assert.equal(await seen.jsonValue(), expected, "the page's script failed");
  });
}

const text = (selector) => page.textContent(selector).then((t) => t.trim());

// Kratos' registration flow, rendered by the example app's /registration page.
async function signUp(landing) {
  await step("registration form", () => page.waitForURL(/\/registration\?flow=/));
  await page.fill("#traits-email", EMAIL);
  await page.fill("#traits-name-first", "Ada");
  await page.fill("#traits-name-last", "Lovelace");
  await page.fill("#password", PASSWORD);
  await screenshot("sign-up");
  await step("submit registration", () => clickTo("#submit", landing));
  const cookies = await context.cookies(BRIDGE);
  const session = cookies.find((c) => c.name === "ory_kratos_session");
  assert.ok(session, `Kratos set no session cookie the bridge's origin receives: ${JSON.stringify(cookies.map((c) => c.name))}`);
  assert.equal(session.httpOnly, true, "the session cookie is HttpOnly");
  return session;
}

// Signs up on the app's home page and waits until its script read the free plan.
async function signUpOnHome() {
  await page.goto(`${APP}/`);
  await state("signed-out home", "signed-out");
  await screenshot("signed-out");
  await page.click("#sign-up");
  const session = await signUp(`${APP}/`);
  await state("free plan read over CORS", "free");
  return session;
}

const scenarios = {
  // Sign up, see the free plan, meet the pricing page, pay in Checkout, see
  // pending turn into pro, open the Billing Portal and come back.
  async upgrade() {
    const session = await signUpOnHome();
    assert.equal(session.sameSite, "Lax", "Kratos' default cookie");
    assert.equal(await text("#plan-name"), "free");
    assert.match(await text("#premium-state"), /locked \(402\)/);
    await screenshot("free");

    await step("gated page sends a free user to pricing", () => clickTo("#reports", `${APP}/pricing`));
    await screenshot("pricing");

    await page.goto(`${APP}/`);
    await state("home again", "free");
    // Stripe's events wait until released, so the page shows "pending" first.
    await control(`${STRIPE}/_emulator/delivery`, { mode: "manual" });
    await step("checkout form to Stripe Checkout", () => clickTo("#upgrade-pro", (u) => u.href.startsWith(`${STRIPE}/checkout/`)));
    await screenshot("checkout");
    await step("pay, back to the app", () =>
      clickTo("#pay", (u) => u.href.startsWith(`${APP}/?checkout=success`)));
    await state("pending until Stripe confirms", "pending");
    assert.equal(await text("#plan-name"), "free", "the plan changes only when Stripe confirms");
    await screenshot("pending");
    await control(`${STRIPE}/_emulator/events/flush`, {});
    await state("the webhook turns pending into pro", "pro");
    assert.equal(await text("#plan-status"), "active");
    assert.match(await text("#premium-state"), /unlocked/);
    await screenshot("pro");

    await step("portal button to the Billing Portal", () => clickTo("#portal", (u) => u.href.startsWith(`${STRIPE}/portal/`)));
    await screenshot("portal");
    await step("portal returns to the app", () => clickTo("#return", `${APP}/`));
    await state("still pro", "pro");
    return { email: EMAIL };
  },

  // Edge gate mode, the example app as the origin behind the bridge: a
  // signed-out visit goes to LOGIN_URL with return_to, signing up returns
  // there, and a premium page sends the free user to PRICING_URL.
  async edge() {
    const wanted = `${BRIDGE}/app/dashboard`;
    await step("signed-out visit goes to LOGIN_URL", () => page.goto(wanted));
    const login = new URL(page.url());
    assert.equal(`${login.origin}${login.pathname}`, `${APP}/login`);
    assert.equal(login.searchParams.get("return_to"), wanted);
    await screenshot("login");
    await page.click("#sign-up");
    await signUp(wanted);
    const identity = await text("#identity");
    assert.match(identity, /^[0-9a-f-]{36}$/, "the origin got the identity from the bridge");
    assert.equal(await text("#app-plan"), "free");
    await screenshot("dashboard");
    await step("premium page sends a free user to PRICING_URL", () => clickTo("#to-reports", `${APP}/pricing`));
    await screenshot("pricing");
    return { identity };
  },

  // A page of another site (localhost, while the bridge and the app are on
  // 127.0.0.1) calls DELETE /me and auto-submits a checkout form, with a
  // session cookie that goes along cross-site (SameSite=None).
  async cross_site() {
    const session = await signUpOnHome();
    assert.equal(session.sameSite, "None", "this stack's Kratos writes SameSite=None cookies");
    const reports = [];
    const evil = createServer((req, res) => {
      if (req.method === "POST" && req.url === "/report") {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => { reports.push(JSON.parse(body)); res.writeHead(204); res.end(); });
        return;
      }
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!doctype html><title>Another site</title><h1>Win a prize</h1>
<form id="f" method="post" action="${BRIDGE}/billing/checkout"><input type="hidden" name="plan" value="pro"></form>
<script>
const report = (what) => fetch("/report", { method: "POST", body: JSON.stringify(what) });
fetch(${JSON.stringify(BRIDGE)} + "/me", { method: "DELETE", credentials: "include" })
  .then((r) => report({ delete: r.status }), (e) => report({ delete: "blocked", error: String(e) }))
  .finally(() => document.getElementById("f").submit());
</script>`);
    });
    await new Promise((r) => evil.listen(0, "127.0.0.1", r));
    const evilUrl = `http://localhost:${evil.address().port}/`;
    const answer = page.waitForResponse((r) => r.url() === `${BRIDGE}/billing/checkout`);
    await step("the other site's page runs", () => page.goto(evilUrl));
    let response;
    await step("the auto-submitted form is answered", async () => { response = await answer; });
    const request = response.request();
    const sent = await request.allHeaders();
    assert.equal(sent["sec-fetch-site"], "cross-site", "the browser marks the form POST cross-site");
    assert.match(sent.cookie ?? "", /ory_kratos_session=/, "the SameSite=None cookie went along");
    const said = response.status() >= 300 && response.status() < 400
      ? `a redirect to ${response.headers().location}`
      : await response.text();
    assert.equal(response.status(), 403, `the bridge must refuse the cross-site checkout; it answered ${response.status()}, ${said}`);
    await page.waitForLoadState();
    await screenshot("cross-site-refused");
    assert.deepEqual(reports.map((r) => r.delete), ["blocked"], `DELETE /me from another site: ${JSON.stringify(reports)}`);
    evil.close();

    await page.goto(`${APP}/`);
    await state("still signed in, still free", "free");
    return { refused: response.status(), delete: reports[0].delete };
  },
};

let summary;
try {
  const run = scenarios[SCENARIO];
  if (!run) throw new Error(`unknown SCENARIO ${SCENARIO}`);
  summary = await run();
} finally {
  await browser.close();
}
console.log(JSON.stringify(summary));
