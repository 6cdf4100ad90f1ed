// The "seed worker" baseline of the gate benchmark (benches/gate/README.md):
// a plain-JS port of the "Stripe subscription gate" recipe that this
// project grew from, as a team would first write it on Workers in
// TypeScript (types dropped, so it runs as is). It answers the same feature
// check as the bridge,
//
//   GET /v1/identities/:id/features/:feature
//   Authorization: Bearer <BRIDGE_API_TOKEN>
//
// the recipe's way: no caching, no configuration object. Every check reads
// the identity's subscription row (here the KV value `ent:<id>`, written in
// the bridge's entitlement-record shape) with `BILLING_KV.get(key, "json")`,
// which fetches and JSON-parses it, then decides as the recipe's
// `requirePlan` does, with the recipe's two edge cases:
//
//   - no row, or a status other than "active": no access, except
//   - "past_due": limited access (here: the free plan's features), and
//   - "canceled" with `current_period_end` still in the future: full access
//     until the period ends;
//   - otherwise the plan's rank must reach the feature's minimum plan
//     (`planRank = { free: 0, pro: 1, enterprise: 2 }`).
//
// The recipe gates on a minimum plan, not on a feature name, so a feature's
// minimum plan is the lowest-ranked plan of the bridge's example catalogue
// (wrangler.toml's PLANS) that grants it; enterprise grants every feature.
// Where the recipe redirects to /pricing, this answers 200 with
// `"allowed": false`, since an API client asked, not a browser.
//
// Not part of the bridge: it exists only to be benchmarked beside it.

const planRank = { free: 0, pro: 1, enterprise: 2 };

// The features each plan grants (wrangler.toml's example PLANS).
const planFeatures = {
  free: ["basic_feature"],
  pro: ["basic_feature", "premium_feature"],
  enterprise: ["*"],
};

// The lowest-ranked plan that grants `feature`.
function minPlanFor(feature) {
  for (const plan of Object.keys(planRank).sort((a, b) => planRank[a] - planRank[b])) {
    const features = planFeatures[plan];
    if (features.includes("*") || features.includes(feature)) return plan;
  }
  return "enterprise";
}

// The recipe's requirePlan with its edge cases; `sub` is the KV row or null.
// (Also the decision of benches/side-by-side/recipe-worker.ts.)
export function canAccess(sub, feature, nowSeconds) {
  if (!sub) return { allowed: false, reason: "no_subscription" };
  const minPlan = minPlanFor(feature);
  let effectivePlan = sub.plan;
  if (sub.status === "past_due") {
    // Limited access while the customer updates their payment method.
    effectivePlan = "free";
  } else if (sub.status === "canceled") {
    // Canceled mid-cycle: access until the paid period ends.
    if (!(sub.current_period_end && sub.current_period_end > nowSeconds)) {
      return { allowed: false, reason: "period_ended" };
    }
  } else if (sub.status !== "active") {
    return { allowed: false, reason: "subscription_inactive" };
  }
  if ((planRank[effectivePlan] ?? -1) < planRank[minPlan]) {
    return { allowed: false, reason: sub.status === "past_due" ? "past_due_limited" : "not_in_plan" };
  }
  return { allowed: true, reason: "included" };
}

// A JSON answer (also the recipe worker's).
export function json(status, body) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

// The check itself: the identity's row read from KV on every call, then
// decided (also the recipe worker's).
export async function featureAnswer(kv, id, feature) {
  const sub = await kv.get("ent:" + id, "json");
  const decision = canAccess(sub, feature, Math.floor(Date.now() / 1000));
  return json(200, {
    allowed: decision.allowed,
    plan: sub ? sub.plan : "free",
    status: sub ? sub.status : "none",
    reason: decision.reason,
  });
}

const FEATURE_PATH = /^\/v1\/identities\/([^/]+)\/features\/([^/]+)$/;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const m = request.method === "GET" ? FEATURE_PATH.exec(url.pathname) : null;
    if (!m) return json(404, { error: { code: "not_found", message: "no route" } });
    if (request.headers.get("authorization") !== `Bearer ${env.BRIDGE_API_TOKEN}`) {
      return json(401, { error: { code: "unauthorized", message: "bad bearer token" } });
    }
    const id = decodeURIComponent(m[1]);
    const feature = decodeURIComponent(m[2]);
    return featureAnswer(env.BILLING_KV, id, feature);
  },
};
