//! `BILLING_KV`, spoken in the terms of `crate::store`: links, entitlement
//! records, processed events, trials and tombstones. Every KV failure
//! becomes a 503 (see `runtime.rs`), so that Stripe and Kratos retry.

use serde::Serialize;
use std::cell::OnceCell;
use std::rc::Rc;

use worker::{kv::KvStore, Date, Env};

use super::caches;

use crate::billing::next::LastCheckout;
use crate::entitlements::pending::{pending_checkout, with_checkout};
use crate::entitlements::record::Entitlement;
use crate::error::ApiError;
use crate::identity::IdentityId;
use crate::reconcile::walk::{Lease, WalkState, LEASE_SECS};
use crate::store::{self, SyncMark};

/// The worker's KV namespace, with the isolate's entitlement cache in front
/// of the reads that may use it. The binding is opened on first use (it
/// takes several runtime calls), so a check answered from the cache never
/// opens it.
pub struct Store {
    env: Env,
    kv: OnceCell<KvStore>,
    /// `ENTITLEMENT_CACHE_TTL`.
    cache_ttl: u64,
    /// When the request started (unix ms): the cache's clock.
    now_ms: u64,
}

fn to_json<T: Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| ApiError::internal(format!("unserialisable KV value: {e}")))
}

impl Store {
    pub fn open(env: &Env, cache_ttl: u64, now_ms: u64) -> Store {
        Store { env: env.clone(), kv: OnceCell::new(), cache_ttl, now_ms }
    }

    fn kv(&self) -> Result<&KvStore, ApiError> {
        if let Some(kv) = self.kv.get() {
            return Ok(kv);
        }
        let kv = self
            .env
            .kv("BILLING_KV")
            .map_err(|_| ApiError::config("BILLING_KV: the KV namespace binding is missing"))?;
        Ok(self.kv.get_or_init(|| kv))
    }

    async fn text(&self, key: &str) -> Result<Option<String>, ApiError> {
        Ok(self.kv()?.get(key).text().await?)
    }

    async fn put(&self, key: &str, value: String, ttl: Option<u64>) -> Result<(), ApiError> {
        let mut put = self.kv()?.put(key, value)?;
        if let Some(ttl) = ttl {
            put = put.expiration_ttl(ttl);
        }
        Ok(put.execute().await?)
    }

    async fn delete(&self, key: &str) -> Result<(), ApiError> {
        Ok(self.kv()?.delete(key).await?)
    }

    /// The identity's stored entitlement record, if any, read from KV.
    pub async fn entitlement(&self, identity: &IdentityId) -> Result<Option<Entitlement>, ApiError> {
        Ok(self.kv()?.get(&store::entitlement(identity)).json::<Entitlement>().await?)
    }

    /// The record as the read-only checks may see it: from the isolate's
    /// cache when read or written here within `ENTITLEMENT_CACHE_TTL`.
    pub async fn entitlement_cached(&self, identity: &IdentityId) -> Result<Option<Rc<Entitlement>>, ApiError> {
        if let Some(e) = caches::entitlement(identity, self.now_ms) {
            return Ok(Some(e));
        }
        let read = self.entitlement(identity).await?.map(Rc::new);
        if let Some(e) = &read {
            caches::put_entitlement(e.clone(), self.now_ms, self.cache_ttl);
        }
        Ok(read)
    }

    /// Stores the first record of an identity (nothing stored yet).
    pub async fn put_entitlement(&self, e: &Entitlement) -> Result<(), ApiError> {
        self.put(&store::entitlement(&e.identity_id), to_json(e)?, None).await?;
        caches::put_entitlement(Rc::new(e.clone()), Date::now().as_millis(), self.cache_ttl);
        Ok(())
    }

    /// Rewrites the identity's record as `change` makes it from the stored
    /// one (`None`: nothing stored), keeping the stored record's Stripe-read
    /// mark, so that a sync that read Stripe before the record it changed
    /// still never replaces it (a trial start must not open the door to an
    /// older read). Answers the record as written.
    pub async fn change_entitlement(
        &self,
        identity: &IdentityId,
        change: impl FnOnce(Option<Entitlement>) -> Entitlement,
    ) -> Result<Entitlement, ApiError> {
        let key = store::entitlement(identity);
        let (stored, mark) = self.kv()?.get(&key).json_with_metadata::<Entitlement, SyncMark>().await?;
        let e = change(stored);
        let mut put = self.kv()?.put(&key, to_json(&e)?)?;
        if let Some(mark) = mark {
            put = put.metadata(mark)?;
        }
        put.execute().await?;
        caches::put_entitlement(Rc::new(e.clone()), Date::now().as_millis(), self.cache_ttl);
        Ok(e)
    }

    /// Stores a record derived from a Stripe read at `read_ms`, unless the
    /// stored one comes from a later read (see `store::SyncMark`). Answers
    /// the newer of the two: what the identity's record says now, never a
    /// read older than one already stored.
    pub async fn put_synced_entitlement(&self, e: Entitlement, read_ms: u64) -> Result<Entitlement, ApiError> {
        let key = store::entitlement(&e.identity_id);
        let (stored, mark) = self.kv()?.get(&key).json_with_metadata::<Entitlement, SyncMark>().await?;
        if !store::supersedes(read_ms, mark.map(|m| m.read_ms)) {
            // A later read wrote KV: that is the record.
            let newer = stored.unwrap_or(e);
            caches::put_entitlement(Rc::new(newer.clone()), Date::now().as_millis(), self.cache_ttl);
            return Ok(newer);
        }
        self.kv()?.put(&key, to_json(&e)?)?.metadata(SyncMark { read_ms })?.execute().await?;
        caches::put_entitlement(Rc::new(e.clone()), Date::now().as_millis(), self.cache_ttl);
        Ok(e)
    }

    /// `e` as answered: with the Checkout it is pending on at `now`, from the
    /// last session the identity started (`entitlements::pending`).
    pub async fn with_pending(&self, e: Entitlement, now: i64) -> Result<Entitlement, ApiError> {
        let last = self.last_checkout(&e.identity_id).await?.map(|v| LastCheckout::decode(&v));
        let Some(last) = last.filter(|l| now < l.expires_at) else { return Ok(with_checkout(e, None, now)) };
        let ended = self.text(&store::checkout_ended(&last.session_id)).await?.is_some();
        let pending = pending_checkout(&e, Some(last.as_pending()), last.started_at, ended, now);
        Ok(with_checkout(e, pending, now))
    }

    /// Notes that an event said a Checkout Session is over (it may still
    /// be the last one the identity started: it is no longer pending).
    pub async fn put_checkout_ended(&self, session_id: &str, now: i64) -> Result<(), ApiError> {
        self.put(&store::checkout_ended(session_id), now.to_string(), Some(store::LAST_CHECKOUT_TTL_SECS)).await
    }

    /// The Stripe customer linked to an identity.
    pub async fn customer_of(&self, identity: &IdentityId) -> Result<Option<String>, ApiError> {
        self.text(&store::identity_link(identity)).await
    }

    /// The identity linked to a Stripe customer (a value that is not an
    /// identity id, which the bridge never writes, counts as none).
    pub async fn identity_of(&self, customer_id: &str) -> Result<Option<IdentityId>, ApiError> {
        Ok(self.text(&store::customer_link(customer_id)).await?.and_then(|s| IdentityId::parse(&s).ok()))
    }

    /// Records both directions of the identity <-> customer link. The
    /// customer -> identity side goes first, so that an identity link, once
    /// there, implies its reverse (callers skip relinking when it matches).
    pub async fn link(&self, identity: &IdentityId, customer_id: &str) -> Result<(), ApiError> {
        self.put(&store::customer_link(customer_id), identity.to_string(), None).await?;
        self.put(&store::identity_link(identity), customer_id.to_string(), None).await
    }

    /// Removes both directions of the link (the customer was deleted).
    pub async fn unlink(&self, identity: &IdentityId, customer_id: &str) -> Result<(), ApiError> {
        self.delete(&store::customer_link(customer_id)).await?;
        self.delete(&store::identity_link(identity)).await
    }

    /// Whether a Stripe event was already processed.
    pub async fn event_processed(&self, event_id: &str) -> Result<bool, ApiError> {
        Ok(self.text(&store::processed_event(event_id)).await?.is_some())
    }

    pub async fn mark_event_processed(&self, event_id: &str, now: i64) -> Result<(), ApiError> {
        self.put(&store::processed_event(event_id), now.to_string(), Some(store::PROCESSED_EVENT_TTL_SECS)).await
    }

    /// When the identity's app trial started, if it did.
    pub async fn trial_started(&self, identity: &IdentityId) -> Result<Option<i64>, ApiError> {
        Ok(self.text(&store::trial(identity)).await?.and_then(|t| t.parse().ok()))
    }

    pub async fn put_trial_started(&self, identity: &IdentityId, at: i64) -> Result<(), ApiError> {
        self.put(&store::trial(identity), at.to_string(), None).await
    }

    /// The last Checkout Session the identity started here, if remembered.
    pub async fn last_checkout(&self, identity: &IdentityId) -> Result<Option<String>, ApiError> {
        self.text(&store::last_checkout(identity)).await
    }

    pub async fn put_last_checkout(&self, identity: &IdentityId, last: &LastCheckout) -> Result<(), ApiError> {
        self.put(&store::last_checkout(identity), to_json(last)?, Some(store::LAST_CHECKOUT_TTL_SECS)).await
    }

    /// The reconciliation walk's state, if a step ever ran.
    pub async fn reconcile_state(&self) -> Result<Option<WalkState>, ApiError> {
        Ok(self.kv()?.get(store::RECONCILE_STATE).json::<WalkState>().await?)
    }

    pub async fn put_reconcile_state(&self, state: &WalkState) -> Result<(), ApiError> {
        self.put(store::RECONCILE_STATE, to_json(state)?, None).await
    }

    /// The lease of the step holding the walk, if any.
    pub async fn reconcile_lease(&self) -> Result<Option<Lease>, ApiError> {
        Ok(self.kv()?.get(store::RECONCILE_LEASE).json::<Lease>().await?)
    }

    /// Takes the walk until the lease's end (KV expires it then too).
    pub async fn put_reconcile_lease(&self, lease: &Lease) -> Result<(), ApiError> {
        self.put(store::RECONCILE_LEASE, to_json(lease)?, Some(LEASE_SECS)).await
    }

    /// Gives the walk back, unless another step took it over meanwhile.
    pub async fn release_reconcile_lease(&self, lease: &Lease) -> Result<(), ApiError> {
        match self.reconcile_lease().await? {
            Some(current) if current == *lease => self.delete(store::RECONCILE_LEASE).await,
            _ => Ok(()),
        }
    }

    /// A read of KV that answers whether the namespace is reachable, for `/healthz`.
    pub async fn ping(&self) -> Result<(), ApiError> {
        self.text(store::RECONCILE_LEASE).await.map(|_| ())
    }

    /// Whether the identity was deleted through the bridge.
    pub async fn is_deleted(&self, identity: &IdentityId) -> Result<bool, ApiError> {
        Ok(self.text(&store::tombstone(identity)).await?.is_some())
    }

    /// Marks the identity deleted, first thing in a deletion, so that events
    /// caused by the deletion itself (subscriptions canceled) write nothing.
    pub async fn put_tombstone(&self, identity: &IdentityId, now: i64) -> Result<(), ApiError> {
        self.put(&store::tombstone(identity), now.to_string(), Some(store::TOMBSTONE_TTL_SECS)).await
    }

    /// Forgets a deleted identity's record again: a sync that read Stripe
    /// before the deletion may have written it after.
    pub async fn drop_entitlement(&self, identity: &IdentityId) -> Result<(), ApiError> {
        self.delete(&store::entitlement(identity)).await?;
        caches::forget_entitlement(identity);
        Ok(())
    }

    /// Forgets everything about a deleted identity (the tombstone stays).
    /// The identity -> customer link goes last: until then a retried
    /// deletion still finds the customer.
    pub async fn forget_identity(&self, identity: &IdentityId, customer_id: Option<&str>) -> Result<(), ApiError> {
        if let Some(customer_id) = customer_id {
            self.delete(&store::customer_link(customer_id)).await?;
        }
        self.delete(&store::entitlement(identity)).await?;
        caches::forget_entitlement(identity);
        caches::forget_sessions_of(identity);
        self.delete(&store::trial(identity)).await?;
        self.delete(&store::last_checkout(identity)).await?;
        self.delete(&store::identity_link(identity)).await
    }
}
