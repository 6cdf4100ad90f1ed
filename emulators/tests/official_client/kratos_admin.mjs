// Drives the Kratos emulator with Ory's official client for Kratos (the
// `@ory/kratos-client` package pinned in the repository's package.json) and
// prints, as one JSON object, what the client parsed. Run by
// `emulators/tests/official_clients.rs`:
//
//   node emulators/tests/official_client/kratos_admin.mjs ADMIN_URL PUBLIC_URL SESSION_TOKEN [ADMIN_TOKEN]
//
// The session token belongs to an identity the test made through the
// emulator's controls (signing in is a browser flow the emulator does not
// serve); everything else goes through the client.

import { Configuration, FrontendApi, IdentityApi } from '@ory/kratos-client';

const [adminUrl, publicUrl, sessionToken, adminToken] = process.argv.slice(2);
if (!adminUrl || !publicUrl || !sessionToken) {
  console.error('usage: node kratos_admin.mjs <admin URL> <public URL> <session token> [admin token]');
  process.exit(2);
}
// The document's `oryAccessToken` is an API key in the Authorization header:
// the client sends `apiKey` as it is, so it carries the Bearer scheme.
const apiKey = adminToken ? `Bearer ${adminToken}` : undefined;
const identities = new IdentityApi(new Configuration({ basePath: adminUrl, apiKey }));
const frontend = new FrontendApi(new Configuration({ basePath: publicUrl }));

async function refused(call) {
  try {
    const answer = await call();
    return { unexpected: answer.status };
  } catch (err) {
    return { status: err.response?.status ?? null, error: err.response?.data?.error ?? null };
  }
}

const created = await identities.createIdentity({
  createIdentityBody: {
    schema_id: 'default',
    traits: { email: 'ory-client@example.com', name: { first: 'Ory', last: 'Client' } },
    metadata_public: { plan: 'free' },
    external_id: 'ory-client-1',
  },
});
const id = created.data.id;
const duplicate = await refused(() =>
  identities.createIdentity({
    createIdentityBody: { schema_id: 'default', traits: { email: 'ory-client@example.com', name: {} } },
  }),
);
const fetched = await identities.getIdentity({ id, includeCredential: ['password'] });
const byExternalId = await identities.getIdentityByExternalID({ externalID: 'ory-client-1' });
const listed = await identities.listIdentities({ credentialsIdentifier: 'ory-client@example.com' });
const all = await identities.listIdentities({ pageSize: 100 });
const patched = await identities.patchIdentity({
  id,
  jsonPatch: [
    { op: 'add', path: '/metadata_admin', value: { stripe_customer_id: 'cus_ory' } },
    { op: 'replace', path: '/metadata_public', value: { plan: 'pro' } },
  ],
});
const denied = await refused(() =>
  identities.patchIdentity({ id, jsonPatch: [{ op: 'replace', path: '/id', value: 'x' }] }),
);

const session = await frontend.toSession({ xSessionToken: sessionToken });
const anonymous = await refused(() => frontend.toSession({ xSessionToken: 'ory_st_nobody' }));

const deleted = await identities.deleteIdentity({ id });
const gone = await refused(() => identities.getIdentity({ id }));

const identityView = (i) => ({
  id: i.id,
  schema_id: i.schema_id,
  state: i.state,
  traits: i.traits,
  metadata_public: i.metadata_public ?? null,
  metadata_admin: i.metadata_admin ?? null,
  external_id: i.external_id ?? null,
  addresses: (i.verifiable_addresses ?? []).map((a) => ({ value: a.value, verified: a.verified, via: a.via, status: a.status })),
  credentials: Object.keys(i.credentials ?? {}),
});

console.log(
  JSON.stringify({
    created: { status: created.status, identity: identityView(created.data) },
    duplicate,
    fetched: identityView(fetched.data),
    identifiers: fetched.data.credentials?.password?.identifiers ?? null,
    byExternalId: byExternalId.data.id,
    listed: listed.data.map((i) => i.id),
    all: all.data.map((i) => i.id),
    patched: identityView(patched.data),
    denied,
    session: {
      active: session.data.active,
      identity: session.data.identity.id,
      aal: session.data.authenticator_assurance_level,
      methods: (session.data.authentication_methods ?? []).map((m) => m.method),
      metadata_admin: session.data.identity.metadata_admin ?? null,
    },
    anonymous,
    deleted: deleted.status,
    gone,
  }),
);
