// The "recipe worker" of the side-by-side benchmark (README.md here): the
// two recipes this project grew from, written the way a team would first
// deploy them on Workers in TypeScript, with the official `stripe` npm
// package. Not part of the bridge: it exists only to be measured beside it.
//
//   GET  /v1/identities/:id/features/:feature   Authorization: Bearer <BRIDGE_API_TOKEN>
//   GET  /gate/:feature                         Cookie or X-Session-Token
//   POST /webhooks/stripe                       Stripe-Signature
//   POST /webhooks/stripe/verify-only           Stripe-Signature
//   GET  /healthz                               200, touching nothing (the cold-start probe)
//
// - A feature check reads the identity's row (KV `ent:<id>`, in the
//   bridge's entitlement-record shape) on every request and decides as the
//   recipe's `requirePlan` does, with its edge cases (past_due limited,
//   canceled until the period ends), gating on a minimum plan.
// - `/gate` asks Kratos `/sessions/whoami` on every request (the recipe's
//   `getSession`), then does the same check.
// - The webhook is the recipe's: `stripe.webhooks.constructEventAsync`
//   (Web Crypto), then for subscription events an upsert of the row. The
//   recipe has no deduplication, so a duplicate is written again.
//   `verify-only` answers after the verification: stripe-node's cost alone.

import Stripe from "stripe";

// The recipe's requirePlan with its edge cases (past_due limited, canceled
// until the period ends), gating on the lowest plan granting the feature:
// the same decision as the gate benchmark's seed worker.
import { featureAnswer, json } from "../gate/seed-worker.js";

interface Env {
  BILLING_KV: KVNamespace;
  BRIDGE_API_TOKEN: string;
  STRIPE_SECRET_KEY: string;
  STRIPE_WEBHOOK_SECRET: string;
  KRATOS_PUBLIC_URL: string;
}

// The parts of the Workers types this file uses (no @cloudflare/workers-types needed).
interface KVNamespace {
  get(key: string, type: "json"): Promise<Row | null>;
  put(key: string, value: string): Promise<void>;
}

type Plan = "free" | "pro" | "enterprise";

interface Row {
  plan: Plan;
  status: string;
  current_period_end: number | null;
  stripe_customer_id?: string;
  subscription_id?: string;
}


// The recipe's getSession: Kratos whoami with the request's credentials.
async function getSession(req: Request, env: Env): Promise<{ identity_id: string } | null> {
  const headers: Record<string, string> = {};
  const cookie = req.headers.get("cookie");
  const token = req.headers.get("x-session-token");
  if (cookie) headers.cookie = cookie;
  if (token) headers["x-session-token"] = token;
  const res = await fetch(env.KRATOS_PUBLIC_URL + "/sessions/whoami", { headers });
  if (res.status !== 200) return null;
  const session = (await res.json()) as { active?: boolean; identity?: { id?: string } };
  return session.active && session.identity?.id ? { identity_id: session.identity.id } : null;
}

let stripe: Stripe | undefined;
const cryptoProvider = Stripe.createSubtleCryptoProvider();

async function webhook(req: Request, env: Env, verifyOnly: boolean): Promise<Response> {
  stripe ??= new Stripe(env.STRIPE_SECRET_KEY, { httpClient: Stripe.createFetchHttpClient() });
  const body = await req.text();
  let event: Stripe.Event;
  try {
    event = await stripe.webhooks.constructEventAsync(
      body,
      req.headers.get("stripe-signature") ?? "",
      env.STRIPE_WEBHOOK_SECRET,
      undefined,
      cryptoProvider,
    );
  } catch {
    return json(400, { error: "bad signature" });
  }
  if (verifyOnly) return json(200, { received: true });
  if (event.type === "customer.subscription.created" || event.type === "customer.subscription.updated") {
    const sub = event.data.object as Stripe.Subscription;
    const identityId = sub.metadata.olympus_identity_id ?? sub.metadata.identity_id;
    const item = sub.items.data[0];
    const row: Row = {
      plan: (item?.price.lookup_key?.split("_")[0] ?? "free") as Plan,
      status: sub.status,
      current_period_end: item?.current_period_end ?? null,
      stripe_customer_id: typeof sub.customer === "string" ? sub.customer : sub.customer.id,
      subscription_id: sub.id,
    };
    if (identityId) await env.BILLING_KV.put("ent:" + identityId, JSON.stringify(row));
  }
  return json(200, { received: true });
}

const FEATURE_PATH = /^\/v1\/identities\/([^/]+)\/features\/([^/]+)$/;
const GATE_PATH = /^\/gate\/([^/]+)$/;

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const url = new URL(req.url);
    if (req.method === "GET" && url.pathname === "/healthz") return json(200, { ok: true });
    if (req.method === "POST" && url.pathname === "/webhooks/stripe") return webhook(req, env, false);
    if (req.method === "POST" && url.pathname === "/webhooks/stripe/verify-only") return webhook(req, env, true);
    let m = req.method === "GET" ? FEATURE_PATH.exec(url.pathname) : null;
    if (m) {
      if (req.headers.get("authorization") !== `Bearer ${env.BRIDGE_API_TOKEN}`) {
        return json(401, { error: "bad bearer token" });
      }
      return featureAnswer(env.BILLING_KV, decodeURIComponent(m[1]), decodeURIComponent(m[2]));
    }
    m = req.method === "GET" ? GATE_PATH.exec(url.pathname) : null;
    if (m) {
      const session = await getSession(req, env);
      if (!session) return json(401, { error: "no session" });
      return featureAnswer(env.BILLING_KV, session.identity_id, decodeURIComponent(m[1]));
    }
    return json(404, { error: "no route" });
  },
};
