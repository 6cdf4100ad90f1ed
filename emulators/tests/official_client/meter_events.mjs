// Drives the Stripe emulator with Stripe's official Node client (the `stripe`
// package pinned in the repository's package.json) and prints, as one JSON
// object, what the client parsed from the emulator's answers. Run by
// `emulators/tests/stripe_meters.rs`:
//
//   node emulators/tests/official_client/meter_events.mjs http://127.0.0.1:PORT [API_KEY]
//
// The same identifier is sent twice on purpose: the client must see the
// refusal Stripe gives for a reused identifier, typed as Stripe's own.

import Stripe from 'stripe';

const [base, key = 'sk_test_emulator'] = process.argv.slice(2);
if (!base) {
  console.error('usage: node meter_events.mjs <emulator base URL> [API key]');
  process.exit(2);
}
const url = new URL(base);
const stripe = new Stripe(key, {
  host: url.hostname,
  port: Number(url.port),
  protocol: url.protocol.replace(':', ''),
});

const customer = await stripe.customers.create({ email: 'meter-client@example.com' });
const meter = await stripe.billing.meters.create({
  display_name: 'API calls',
  event_name: 'api_calls',
  default_aggregation: { formula: 'sum' },
});

const timestamp = Math.floor(Date.now() / 1000);
const event = {
  event_name: 'api_calls',
  payload: { stripe_customer_id: customer.id, value: '3' },
  identifier: 'node-usage-1',
  timestamp,
};
const first = await stripe.billing.meterEvents.create(event);

let duplicate = null;
try {
  await stripe.billing.meterEvents.create(event);
} catch (err) {
  duplicate = {
    type: err.type,
    rawType: err.rawType,
    statusCode: err.statusCode,
    message: err.message,
    code: err.code ?? null,
    param: err.param ?? null,
    shouldRetry: err.headers?.['stripe-should-retry'] ?? null,
    requestId: err.requestId ?? null,
  };
}

const retrieved = await stripe.billing.meters.retrieve(meter.id);
const listed = await stripe.billing.meters.list({ limit: 10 });
// Summaries take minute-aligned bounds; this minute holds the event.
const minute = Math.floor(timestamp / 60) * 60;
const summaries = await stripe.billing.meters.listEventSummaries(meter.id, {
  customer: customer.id,
  start_time: minute,
  end_time: minute + 60,
});

console.log(
  JSON.stringify({
    timestamp,
    customer: { id: customer.id, object: customer.object },
    meter,
    first,
    duplicate,
    retrieved,
    listed: { object: listed.object, ids: listed.data.map((m) => m.id), has_more: listed.has_more },
    summary: summaries.data[0] ?? null,
  }),
);
