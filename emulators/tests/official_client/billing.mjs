// Drives the Stripe emulator through the worker's billing calls with Stripe's
// official Node client (the `stripe` package pinned in the repository's
// package.json) and prints, as one JSON object, what the client parsed.
// Run by `emulators/tests/official_clients.rs`:
//
//   node emulators/tests/official_client/billing.mjs http://127.0.0.1:PORT WEBHOOK_SECRET [API_KEY]
//
// It also starts a webhook endpoint on a free loopback port, points the
// emulator's deliveries at it (a `/_emulator` control), and verifies every
// delivered event with `stripe.webhooks.constructEvent`, as a receiver would.

import http from 'node:http';
import Stripe from 'stripe';

const [base, secret, key = 'sk_test_emulator'] = process.argv.slice(2);
if (!base || !secret) {
  console.error('usage: node billing.mjs <emulator base URL> <webhook secret> [API key]');
  process.exit(2);
}
const url = new URL(base);
const stripe = new Stripe(key, {
  host: url.hostname,
  port: Number(url.port),
  protocol: url.protocol.replace(':', ''),
  maxNetworkRetries: 0,
});

async function control(path, body) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

function failure(err) {
  return {
    type: err.type,
    rawType: err.rawType ?? null,
    statusCode: err.statusCode ?? null,
    code: err.code ?? null,
    param: err.param ?? null,
    message: err.message,
    requestId: err.requestId ?? null,
  };
}

async function refused(call) {
  try {
    await call();
    return null;
  } catch (err) {
    return failure(err);
  }
}

// The webhook endpoint: keeps each delivery's raw body and signature.
const deliveries = [];
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    deliveries.push({ body: Buffer.concat(chunks), signature: req.headers['stripe-signature'] ?? null });
    res.writeHead(200).end();
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
await control('/_emulator/webhook', { url: `http://127.0.0.1:${server.address().port}/hook` });

const identity = '2b0c8a4e-5f1d-4c7a-9e3b-7d6f5a4c3b2a';
const created = await stripe.customers.create(
  { email: 'node-client@example.com', name: 'Node Client', metadata: { olympus_identity_id: identity } },
  { idempotencyKey: 'node-billing-1' },
);
const replayed = await stripe.customers.create(
  { email: 'node-client@example.com', name: 'Node Client', metadata: { olympus_identity_id: identity } },
  { idempotencyKey: 'node-billing-1' },
);
const reusedKey = await refused(() =>
  stripe.customers.create({ email: 'someone-else@example.com' }, { idempotencyKey: 'node-billing-1' }),
);
const updated = await stripe.customers.update(created.id, { name: 'Node Client B', metadata: { plan: 'pro' } });
const retrieved = await stripe.customers.retrieve(created.id);
const byEmail = await stripe.customers.list({ email: 'node-client@example.com', limit: 10 });
const found = await stripe.customers.search({ query: `metadata['olympus_identity_id']:'${identity}'` });
await stripe.customers.create({ email: 'node-client-2@example.com' });
const paged = await stripe.customers.list({ limit: 1 }).autoPagingToArray({ limit: 10 });

const prices = await stripe.prices.list({ lookup_keys: ['pro_monthly'], expand: ['data.product'] });
const price = prices.data[0];
const checkout = await stripe.checkout.sessions.create({
  mode: 'subscription',
  customer: created.id,
  client_reference_id: identity,
  line_items: [{ price: price.id, quantity: 1 }],
  success_url: 'http://localhost/billing/success',
  cancel_url: 'http://localhost/billing/cancel',
  subscription_data: { metadata: { olympus_identity_id: identity } },
});
const completed = await control(`/_emulator/checkout/sessions/${checkout.id}/complete`);
const afterCheckout = await stripe.checkout.sessions.retrieve(checkout.id);
const subscription = await stripe.subscriptions.retrieve(completed.subscription.id, {
  expand: ['customer', 'items.data.price.product'],
});
const listed = await stripe.subscriptions.list({
  customer: created.id,
  status: 'all',
  expand: ['data.items.data.price'],
});
const ending = await stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true });
const portal = await stripe.billingPortal.sessions.create({
  customer: created.id,
  return_url: 'http://localhost/account',
});
const canceled = await stripe.subscriptions.cancel(subscription.id);
const invoice = await stripe.invoices.retrieve(subscription.latest_invoice);
const events = await stripe.events.list({ limit: 100 });

const missing = await refused(() => stripe.customers.retrieve('cus_nobody'));
const unknownParameter = await refused(() => stripe.customers.create({ colour: 'blue' }));
const wrongKey = await refused(() =>
  new Stripe('sk_test_wrong', { host: url.hostname, port: Number(url.port), protocol: 'http' }).customers.list(),
);

// Every event the emulator emitted reaches the endpoint, signed.
for (let i = 0; i < 250 && deliveries.length < events.data.length; i++) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
server.close();
const verified = [];
let forged = null;
for (const delivery of deliveries) {
  const event = stripe.webhooks.constructEvent(delivery.body, delivery.signature, secret);
  verified.push({ id: event.id, type: event.type, object: event.data.object.object });
}
if (deliveries.length > 0) {
  const tampered = Buffer.concat([deliveries[0].body, Buffer.from(' ')]);
  try {
    stripe.webhooks.constructEvent(tampered, deliveries[0].signature, secret);
  } catch (err) {
    forged = { type: err.type, message: err.message };
  }
}

console.log(
  JSON.stringify({
    created: { id: created.id, object: created.object, email: created.email, metadata: created.metadata },
    createdRequestId: created.lastResponse?.requestId ?? null,
    replayed: { id: replayed.id, replayedHeader: replayed.lastResponse?.headers?.['idempotent-replayed'] ?? null },
    reusedKey,
    updated: { name: updated.name, metadata: updated.metadata },
    retrieved: { id: retrieved.id, name: retrieved.name, deleted: retrieved.deleted ?? null },
    byEmail: { object: byEmail.object, ids: byEmail.data.map((c) => c.id), has_more: byEmail.has_more, url: byEmail.url },
    found: { object: found.object, ids: found.data.map((c) => c.id), has_more: found.has_more, next_page: found.next_page },
    paged: paged.map((c) => c.id),
    price: { id: price.id, lookup_key: price.lookup_key, active: price.active, product: price.product.object },
    checkout: {
      id: checkout.id,
      object: checkout.object,
      url: checkout.url,
      status: checkout.status,
      mode: checkout.mode,
      expires_at: checkout.expires_at,
      client_reference_id: checkout.client_reference_id,
    },
    afterCheckout: { status: afterCheckout.status, url: afterCheckout.url, subscription: afterCheckout.subscription },
    subscription: {
      id: subscription.id,
      status: subscription.status,
      customer: { id: subscription.customer.id, object: subscription.customer.object },
      metadata: subscription.metadata,
      item_period_end: subscription.items.data[0].current_period_end,
      price: subscription.items.data[0].price.lookup_key,
      product: subscription.items.data[0].price.product.object,
    },
    listed: { ids: listed.data.map((s) => s.id), price: listed.data[0]?.items.data[0].price.id ?? null },
    ending: { cancel_at_period_end: ending.cancel_at_period_end, status: ending.status },
    portal: { object: portal.object, url: portal.url, customer: portal.customer },
    canceled: { status: canceled.status },
    invoice: {
      object: invoice.object,
      status: invoice.status,
      customer: invoice.customer,
      subscription: invoice.parent?.subscription_details?.subscription ?? null,
      metadata: invoice.parent?.subscription_details?.metadata ?? null,
      lines: invoice.lines.data.length,
    },
    events: events.data.map((e) => e.id),
    missing,
    unknownParameter,
    wrongKey,
    verified,
    forged,
  }),
);
