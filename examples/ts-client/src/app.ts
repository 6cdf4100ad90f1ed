// An app backend's handlers, each asking the bridge before doing paid work.
// Plain functions of (bridge, who): wire them into Express, Hono, Fastify or
// a Worker's fetch handler as you like.

import type { Bridge } from "./bridge";

/** GET /reports: premium reports, for identities whose plan includes them. */
export async function reportsPage(bridge: Bridge, identityId: string) {
  const d = await bridge.feature(identityId, "premium_feature");
  return d.allowed
    ? { status: 200, body: { reports: ["q1", "q2", "q3"], plan: d.plan } }
    : { status: 402, body: { upgrade: true, plan: d.plan, reason: d.reason } };
}

/** POST /exports: one export, consumed from the plan's `exports` meter
 *  before the work is done; `requestId` makes a client's retry free. */
export async function exportReport(bridge: Bridge, identityId: string, requestId: string) {
  const u = await bridge.consume(identityId, "exports", 1, `export-${requestId}`);
  if (!u.allowed) return { status: 402, body: { upgrade: true, used: u.used, limit: u.limit, resets_at: u.resets_at } };
  // ... make the export here ...
  return { status: 201, body: { exported: requestId, used: u.used, remaining: u.remaining } };
}

/** A request that carries the user's own Kratos session token (a mobile
 *  app, a CLI): the bridge's /gate decides for whoever the session is. */
export async function premiumForSession(bridge: Bridge, sessionToken: string) {
  const g = await bridge.gate(sessionToken, "premium_feature");
  if (!g.signedIn) return { status: 401, body: { login: true } };
  return g.decision.allowed
    ? { status: 200, body: { plan: g.decision.plan } }
    : { status: 402, body: { upgrade: true, reason: g.decision.reason } };
}
