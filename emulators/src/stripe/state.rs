//! Everything the emulated account holds, in one struct behind one lock.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::Value;

use super::app::Ctx;
use super::clock::{Clock, Interval};
use super::delivery::{DeliveryAttempt, DeliveryConfig, WebhookTarget};
use super::faults::Faults;
use super::idempotency::IdempotencyStore;
use super::ids;
use super::options::StripeOptions;
use super::requests::RequestCounts;
use super::resources::checkout::CheckoutSession;
use super::resources::customer::Customer;
use super::resources::event::{event_json, EventParts, EventType};
use super::resources::invoice::Invoice;
use super::resources::meter::{Meter, RecordedMeterEvent};
use super::resources::portal::PortalSession;
use super::resources::price::{Price, Product};
use super::resources::subscription::Subscription;
use super::search::SearchIndex;

/// The account: objects, events, deliveries and the test controls' settings.
pub(crate) struct State {
    pub api_key: String,
    pub livemode: bool,
    /// `http://127.0.0.1:PORT` once bound; used for Checkout/Portal URLs.
    pub base_url: Option<String>,
    pub webhook: WebhookTarget,
    pub delivery: DeliveryConfig,
    pub search_lag: Duration,
    /// What "now" is for the account (advanced by `POST /_emulator/clock`).
    pub clock: Clock,
    seq: u64,
    pub prices: BTreeMap<String, Price>,
    pub products: BTreeMap<String, Product>,
    pub customers: BTreeMap<String, Customer>,
    pub search_index: SearchIndex<Customer>,
    pub subscriptions: BTreeMap<String, Subscription>,
    pub subscription_index: SearchIndex<Subscription>,
    pub checkout_sessions: BTreeMap<String, CheckoutSession>,
    pub portal_sessions: BTreeMap<String, PortalSession>,
    pub invoices: BTreeMap<String, Invoice>,
    pub meters: BTreeMap<String, Meter>,
    /// Every meter event taken in, oldest first: the accepted ones and the
    /// duplicates that were refused (`/_emulator/meter_events`).
    pub meter_events: Vec<RecordedMeterEvent>,
    /// The identifiers of accepted meter events. Stripe keeps them "for at
    /// least 24 hours"; the emulator keeps them for good, so a duplicate is
    /// always refused.
    pub meter_identifiers: HashSet<String>,
    /// Every event, oldest first.
    pub events: Vec<Value>,
    /// Event ids waiting for `/_emulator/events/flush` (manual delivery mode).
    pub queue: Vec<String>,
    pub attempts: Vec<DeliveryAttempt>,
    pub idempotency: IdempotencyStore,
    pub faults: Faults,
    /// The `/v1` calls served so far (`/_emulator/requests`).
    pub requests: RequestCounts,
}

impl State {
    /// A fresh account with the seeded catalogue.
    pub(crate) fn new(options: &StripeOptions) -> State {
        let mut state = State {
            api_key: options.api_key.clone(),
            livemode: options.livemode,
            base_url: None,
            webhook: WebhookTarget { url: options.webhook_url.clone(), secret: options.webhook_secret.clone() },
            delivery: DeliveryConfig::default(),
            search_lag: options.search_lag,
            clock: Clock::default(),
            seq: 0,
            prices: BTreeMap::new(),
            products: BTreeMap::new(),
            customers: BTreeMap::new(),
            search_index: SearchIndex::default(),
            subscriptions: BTreeMap::new(),
            subscription_index: SearchIndex::default(),
            checkout_sessions: BTreeMap::new(),
            portal_sessions: BTreeMap::new(),
            invoices: BTreeMap::new(),
            meters: BTreeMap::new(),
            meter_events: Vec::new(),
            meter_identifiers: HashSet::new(),
            events: Vec::new(),
            queue: Vec::new(),
            attempts: Vec::new(),
            idempotency: IdempotencyStore::default(),
            faults: Faults::default(),
            requests: RequestCounts::default(),
        };
        let now = state.now();
        for seed in &options.prices {
            let product_id = ids::new_id("prod_", 14);
            let name = seed.lookup_key.clone().unwrap_or_else(|| seed.id.clone());
            state.products.insert(
                product_id.clone(),
                Product { id: product_id.clone(), created: now, name, default_price: seed.id.clone() },
            );
            let seq = state.next_seq();
            state.prices.insert(
                seed.id.clone(),
                Price {
                    id: seed.id.clone(),
                    seq,
                    created: now,
                    product: product_id,
                    lookup_key: seed.lookup_key.clone(),
                    unit_amount: seed.unit_amount,
                    interval: Interval::parse(&seed.interval).unwrap_or(Interval::Month),
                    active: true,
                },
            );
        }
        state
    }

    /// Unix seconds on the account's clock.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

    /// A strictly increasing number that orders objects created in the same second.
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// `{base}/{kind}/{id}` for hosted pages.
    pub(crate) fn hosted_url(&self, kind: &str, id: &str) -> String {
        let base = self.base_url.as_deref().unwrap_or("http://127.0.0.1");
        format!("{base}/{kind}/{id}")
    }

    /// A customer that exists and is not deleted.
    pub(crate) fn live_customer(&self, id: &str) -> Option<&Customer> {
        self.customers.get(id).filter(|c| !c.deleted)
    }

    /// The wire JSON of a stored customer.
    pub(crate) fn customer_json(&self, customer: &Customer) -> Value {
        customer.to_json(self.livemode)
    }

    /// The wire JSON of a stored subscription.
    pub(crate) fn subscription_json(&self, subscription: &Subscription) -> Value {
        subscription.to_json(&self.prices, self.livemode)
    }

    /// Records the customer's current state for the lagging search index.
    pub(crate) fn reindex_customer(&mut self, id: &str) {
        let snapshot = self.customers.get(id).filter(|c| !c.deleted).cloned();
        self.search_index.record(id, snapshot, self.search_lag);
    }

    /// Records the subscription's current state for the lagging search index.
    pub(crate) fn reindex_subscription(&mut self, id: &str) {
        let snapshot = self.subscriptions.get(id).cloned();
        self.subscription_index.record(id, snapshot, self.search_lag);
    }

    /// Records an event and notes it in the request's outbox for delivery.
    pub(crate) fn emit(&mut self, ctx: &Ctx, kind: EventType, object: Value, previous: Option<Value>) -> String {
        let id = ids::new_id("evt_", 24);
        let event = event_json(EventParts {
            id: &id,
            kind,
            created: self.now(),
            object,
            previous_attributes: previous,
            livemode: self.livemode,
            pending_webhooks: u32::from(self.webhook.url.is_some()),
            request_id: ctx.request_id.as_deref(),
            idempotency_key: ctx.idempotency_key.as_deref(),
        });
        self.events.push(event);
        ctx.push_event(id.clone());
        id
    }

    /// An event by id.
    pub(crate) fn event(&self, id: &str) -> Option<&Value> {
        self.events.iter().find(|e| e.get("id").and_then(Value::as_str) == Some(id))
    }
}
