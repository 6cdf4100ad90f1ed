// An app Worker that asks the bridge through its Service Binding
// (`env.BRIDGE`, wrangler.toml's [[services]]): the bridge's routes and
// answers are those of its public URL, without the public hop.
//
//   GET /dashboard                         the signed-in user's dashboard: the
//                                          bridge's /gate decides with the user's
//                                          own Kratos session (cookie or token)
//   GET /internal/identities/{id}/premium  a server-side check by identity id,
//                                          with this worker's BRIDGE_API_TOKEN

// A service binding ignores the URL's host; the path is the bridge's route
// (with its BRIDGE_PATH_PREFIX, when it has one).
const BRIDGE = "https://bridge.internal";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname === "/dashboard") return dashboard(request, env);
    const m = url.pathname.match(/^\/internal\/identities\/([^/]+)\/premium$/);
    if (request.method === "GET" && m) return premium(decodeURIComponent(m[1]), env);
    return json(404, { error: "not_found" });
  },
};

async function dashboard(request, env) {
  // Only the session goes along: never the API token, never anything else.
  const headers = new Headers({ Accept: "application/json" });
  for (const name of ["Cookie", "X-Session-Token"]) {
    const value = request.headers.get(name);
    if (value) headers.set(name, value);
  }
  const r = await env.BRIDGE.fetch(`${BRIDGE}/gate/premium_feature`, { headers });
  const via = { bridge_request_id: r.headers.get("X-Request-Id") };
  if (r.status === 401) return json(401, { login: true, ...via });
  // 5xx: the bridge could not decide (Kratos or KV down); never assume a plan.
  if (r.status !== 200 && r.status !== 402) return json(503, { error: "bridge_unavailable", status: r.status, ...via });
  const d = await r.json();
  return d.allowed
    ? json(200, { premium: true, plan: d.plan, ...via })
    : json(200, { premium: false, plan: d.plan, upgrade: true, reason: d.reason, ...via });
}

async function premium(id, env) {
  const r = await env.BRIDGE.fetch(`${BRIDGE}/v1/identities/${encodeURIComponent(id)}/features/premium_feature`, {
    headers: { Authorization: `Bearer ${env.BRIDGE_API_TOKEN}` },
  });
  const via = { bridge_request_id: r.headers.get("X-Request-Id") };
  if (!r.ok) return json(503, { error: "bridge_unavailable", status: r.status, ...via });
  const d = await r.json();
  return json(200, { identity: id, allowed: d.allowed, plan: d.plan, reason: d.reason, ...via });
}

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}
