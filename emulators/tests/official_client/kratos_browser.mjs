// Drives the Kratos emulator's browser registration flow with Ory's official
// client (`@ory/kratos-client`, FrontendApi), as a server-rendered UI does:
// the client never keeps cookies, so this script carries them from answer to
// request, like the UI forwards the browser's Cookie header. Prints, as one
// JSON object, what the client parsed. Run by
// `emulators/tests/official_clients.rs`:
//
//   node emulators/tests/official_client/kratos_browser.mjs PUBLIC_URL RETURN_TO

import { Configuration, FrontendApi } from '@ory/kratos-client';

const [publicUrl, returnTo] = process.argv.slice(2);
if (!publicUrl || !returnTo) {
  console.error('usage: node kratos_browser.mjs <public URL> <allowed return_to>');
  process.exit(2);
}
const frontend = new FrontendApi(new Configuration({ basePath: publicUrl }));

async function refused(call) {
  try {
    const answer = await call();
    return { unexpected: answer.status };
  } catch (err) {
    return { status: err.response?.status ?? null, error: err.response?.data?.error ?? null, data: err.response?.data ?? null };
  }
}

// `name=value` of each Set-Cookie, and the attributes of the one named.
const cookiePairs = (answer) => (answer.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]);
const cookieAttributes = (answer, name) =>
  (answer.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${name}=`))?.split(';').slice(1).map((a) => a.trim()) ?? null;

const forbidden = await refused(() => frontend.createBrowserRegistrationFlow({ returnTo: 'https://elsewhere.example/' }));
const started = await frontend.createBrowserRegistrationFlow({ returnTo });
const csrfCookie = cookiePairs(started).join('; ');
const flow = started.data;
const csrfToken = flow.ui.nodes.find((n) => n.attributes.name === 'csrf_token').attributes.value;
const fetched = await frontend.getRegistrationFlow({ id: flow.id, cookie: csrfCookie });
const withoutCookie = await refused(() => frontend.getRegistrationFlow({ id: flow.id }));
const traits = { email: 'browser-client@example.com', name: { first: 'Ory', last: 'Client' } };
const submit = (body, cookie) =>
  frontend.updateRegistrationFlow({ flow: flow.id, updateRegistrationFlowBody: body, cookie });
const forged = await refused(() =>
  submit({ method: 'password', password: 'correct horse battery', traits, csrf_token: 'forged' }, csrfCookie),
);
const tooShort = await refused(() => submit({ method: 'password', password: 'short', traits, csrf_token: csrfToken }, csrfCookie));
const registered = await submit({ method: 'password', password: 'correct horse battery', traits, csrf_token: csrfToken }, csrfCookie);
const sessionCookie = cookiePairs(registered).find((c) => c.startsWith('ory_kratos_session='));
const session = await frontend.toSession({ cookie: sessionCookie });

console.log(
  JSON.stringify({
    forbidden: { status: forbidden.status, id: forbidden.error?.id ?? null },
    started: {
      status: started.status,
      type: flow.type,
      state: flow.state,
      return_to: flow.return_to ?? null,
      action: flow.ui.action,
      method: flow.ui.method,
      nodes: flow.ui.nodes.map((n) => `${n.group}:${n.attributes.name}:${n.attributes.type}`),
      csrf_cookie: cookieAttributes(started, csrfCookie.split('=')[0]),
    },
    fetched: { id: fetched.data.id, same_csrf: fetched.data.ui.nodes[0].attributes.value === csrfToken },
    without_cookie: { status: withoutCookie.status, id: withoutCookie.error?.id ?? null },
    forged: { status: forged.status, id: forged.error?.id ?? null },
    too_short: {
      status: tooShort.status,
      messages: (tooShort.data?.ui?.nodes ?? []).flatMap((n) => n.messages.map((m) => m.id)),
    },
    registered: {
      status: registered.status,
      email: registered.data.identity.traits.email,
      metadata_admin: registered.data.identity.metadata_admin ?? null,
      session_identity: registered.data.session?.identity?.id ?? null,
      session_cookie: cookieAttributes(registered, 'ory_kratos_session'),
    },
    session: { active: session.data.active, identity: session.data.identity.id },
    identity: registered.data.identity.id,
  }),
);
