// The bridge, as an app backend calls it: a client typed by the bridge's own
// OpenAPI document (`openapi-typescript` turns /openapi.json into `paths`,
// `openapi-fetch` calls them). A route or field renamed in the document is a
// type error here, not a surprise in production.
//
// Copy this file into your backend; run.sh shows how to generate the types.

import createClient from "openapi-fetch";
import type { components, paths } from "../generated/bridge-api";

export type FeatureDecision = components["schemas"]["FeatureDecision"];
export type UsageBalance = components["schemas"]["UsageBalance"];

/** The bridge answered something a caller must not read as "no": a 5xx, a
 *  bad token, a bad request. Retry or fail; never assume a plan. */
export class BridgeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`bridge answered ${status} ${code}: ${message}`);
  }
}

function failure(status: number, body: unknown): BridgeError {
  const e = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return new BridgeError(status, e?.code ?? "unexpected_answer", e?.message ?? JSON.stringify(body));
}

export interface BridgeOptions {
  /** e.g. https://billing.example.com (with BRIDGE_PATH_PREFIX appended when one is set) */
  baseUrl: string;
  /** BRIDGE_API_TOKEN: server to server only, never sent to a browser */
  apiToken: string;
  /** Another fetch (a Service Binding's `env.BRIDGE.fetch`, a test double) */
  fetch?: typeof fetch;
}

export function bridge({ baseUrl, apiToken, fetch: fetchImpl }: BridgeOptions) {
  const api = createClient<paths>({
    baseUrl,
    headers: { Authorization: `Bearer ${apiToken}` },
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
  // /gate decides with the user's own session: no API token goes along.
  const user = createClient<paths>({ baseUrl, ...(fetchImpl ? { fetch: fetchImpl } : {}) });

  return {
    /** GET /v1/identities/{id}/features/{feature}: may this identity use it now? */
    async feature(identityId: string, feature: string): Promise<FeatureDecision> {
      const { data, error, response } = await api.GET("/v1/identities/{id}/features/{feature}", {
        params: { path: { id: identityId, feature } },
      });
      if (data) return data;
      throw failure(response.status, error);
    },

    /** GET /gate/{feature} with the signed-in user's Kratos session token
     *  (a mobile or CLI client sends it as X-Session-Token): the decision for
     *  whoever the session belongs to; `signedIn: false` when it is not valid. */
    async gate(
      sessionToken: string,
      feature: string,
    ): Promise<{ signedIn: true; decision: FeatureDecision } | { signedIn: false }> {
      const { data, error, response } = await user.GET("/gate/{feature}", {
        params: { path: { feature } },
        headers: { "X-Session-Token": sessionToken, Accept: "application/json" },
      });
      if (data) return { signedIn: true, decision: data };
      if (response.status === 401) return { signedIn: false };
      if (response.status === 402) return { signedIn: true, decision: error as FeatureDecision };
      throw failure(response.status, error);
    },

    /** POST /v1/identities/{id}/usage/{meter}: consume before doing the work.
     *  `allowed: false` (402 limit_reached) consumed nothing. The same
     *  `idempotencyKey` (a retry after a lost answer) consumes once. */
    async consume(identityId: string, meter: string, amount = 1, idempotencyKey?: string): Promise<UsageBalance> {
      const { data, error, response } = await api.POST("/v1/identities/{id}/usage/{meter}", {
        params: {
          path: { id: identityId, meter },
          ...(idempotencyKey ? { header: { "Idempotency-Key": idempotencyKey } } : {}),
        },
        body: { amount },
      });
      if (data) return data;
      if (response.status === 402) return error as UsageBalance;
      throw failure(response.status, error);
    },

    /** GET /v1/identities/{id}/usage/{meter}: the balance, nothing consumed. */
    async balance(identityId: string, meter: string): Promise<UsageBalance> {
      const { data, error, response } = await api.GET("/v1/identities/{id}/usage/{meter}", {
        params: { path: { id: identityId, meter } },
      });
      if (data) return data;
      throw failure(response.status, error);
    },
  };
}

export type Bridge = ReturnType<typeof bridge>;
