//! `BILLING_KV`, spoken in the terms of `crate::store`: links, entitlement
//! records, processed events, trials and tombstones. Every KV failure
//! becomes a 503, so that Stripe and Kratos retry.

use serde::{de::DeserializeOwned, Serialize};
use worker::{kv::KvStore, Env};

use crate::entitlements::record::Entitlement;
use crate::error::ApiError;
use crate::store::{self, SyncMark};

/// The worker's KV namespace.
pub struct Store {
    kv: KvStore,
}

fn unavailable(op: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::unavailable("kv_unavailable", format!("BILLING_KV {op} failed: {e}"))
}

impl Store {
    pub fn open(env: &Env) -> Result<Store, ApiError> {
        env.kv("BILLING_KV")
            .map(|kv| Store { kv })
            .map_err(|_| ApiError::config("BILLING_KV: the KV namespace binding is missing"))
    }

    async fn text(&self, key: &str) -> Result<Option<String>, ApiError> {
        self.kv.get(key).text().await.map_err(|e| unavailable("read", e))
    }

    async fn json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ApiError> {
        self.kv.get(key).json::<T>().await.map_err(|e| unavailable("read", e))
    }

    async fn put(&self, key: &str, value: String, ttl: Option<u64>) -> Result<(), ApiError> {
        let mut put = self.kv.put(key, value).map_err(|e| unavailable("write", e))?;
        if let Some(ttl) = ttl {
            put = put.expiration_ttl(ttl);
        }
        put.execute().await.map_err(|e| unavailable("write", e))
    }

    async fn put_json<T: Serialize>(&self, key: &str, value: &T) -> Result<(), ApiError> {
        let text = serde_json::to_string(value).map_err(|e| ApiError::new(500, "internal", e.to_string()))?;
        self.put(key, text, None).await
    }

    async fn delete(&self, key: &str) -> Result<(), ApiError> {
        self.kv.delete(key).await.map_err(|e| unavailable("delete", e))
    }

    /// The identity's stored entitlement record, if any.
    pub async fn entitlement(&self, identity_id: &str) -> Result<Option<Entitlement>, ApiError> {
        self.json(&store::entitlement(identity_id)).await
    }

    pub async fn put_entitlement(&self, e: &Entitlement) -> Result<(), ApiError> {
        self.put_json(&store::entitlement(&e.identity_id), e).await
    }

    /// Stores a record derived from a Stripe read at `read_ms`, unless the
    /// stored one comes from a later read (see `store::SyncMark`). Answers
    /// whether it was written.
    pub async fn put_synced_entitlement(&self, e: &Entitlement, read_ms: u64) -> Result<bool, ApiError> {
        let key = store::entitlement(&e.identity_id);
        let (_, mark) = self.kv.get(&key).text_with_metadata::<SyncMark>().await.map_err(|e| unavailable("read", e))?;
        if !store::supersedes(read_ms, mark.map(|m| m.read_ms)) {
            return Ok(false);
        }
        let text = serde_json::to_string(e).map_err(|e| ApiError::new(500, "internal", e.to_string()))?;
        let put = self.kv.put(&key, text).map_err(|e| unavailable("write", e))?;
        let put = put.metadata(SyncMark { read_ms }).map_err(|e| unavailable("write", e))?;
        put.execute().await.map_err(|e| unavailable("write", e))?;
        Ok(true)
    }

    /// The Stripe customer linked to an identity.
    pub async fn customer_of(&self, identity_id: &str) -> Result<Option<String>, ApiError> {
        self.text(&store::identity_link(identity_id)).await
    }

    /// The identity linked to a Stripe customer.
    pub async fn identity_of(&self, customer_id: &str) -> Result<Option<String>, ApiError> {
        self.text(&store::customer_link(customer_id)).await
    }

    /// Records both directions of the identity <-> customer link. The
    /// customer -> identity side goes first, so that an identity link, once
    /// there, implies its reverse (callers skip relinking when it matches).
    pub async fn link(&self, identity_id: &str, customer_id: &str) -> Result<(), ApiError> {
        self.put(&store::customer_link(customer_id), identity_id.to_string(), None).await?;
        self.put(&store::identity_link(identity_id), customer_id.to_string(), None).await
    }

    /// Removes both directions of the link (the customer was deleted).
    pub async fn unlink(&self, identity_id: &str, customer_id: &str) -> Result<(), ApiError> {
        self.delete(&store::customer_link(customer_id)).await?;
        self.delete(&store::identity_link(identity_id)).await
    }

    /// Whether a Stripe event was already processed.
    pub async fn event_processed(&self, event_id: &str) -> Result<bool, ApiError> {
        Ok(self.text(&store::processed_event(event_id)).await?.is_some())
    }

    pub async fn mark_event_processed(&self, event_id: &str, now: i64) -> Result<(), ApiError> {
        self.put(&store::processed_event(event_id), now.to_string(), Some(store::PROCESSED_EVENT_TTL_SECS)).await
    }

    /// When the identity's app trial started, if it did.
    pub async fn trial_started(&self, identity_id: &str) -> Result<Option<i64>, ApiError> {
        Ok(self.text(&store::trial(identity_id)).await?.and_then(|t| t.parse().ok()))
    }

    pub async fn put_trial_started(&self, identity_id: &str, at: i64) -> Result<(), ApiError> {
        self.put(&store::trial(identity_id), at.to_string(), None).await
    }

    /// Whether the identity was deleted through the bridge.
    pub async fn is_deleted(&self, identity_id: &str) -> Result<bool, ApiError> {
        Ok(self.text(&store::tombstone(identity_id)).await?.is_some())
    }

    /// Marks the identity deleted, first thing in a deletion, so that events
    /// caused by the deletion itself (subscriptions canceled) write nothing.
    pub async fn put_tombstone(&self, identity_id: &str, now: i64) -> Result<(), ApiError> {
        self.put(&store::tombstone(identity_id), now.to_string(), Some(store::TOMBSTONE_TTL_SECS)).await
    }

    /// Forgets everything about a deleted identity (the tombstone stays).
    /// The identity -> customer link goes last: until then a retried
    /// deletion still finds the customer.
    pub async fn forget_identity(&self, identity_id: &str, customer_id: Option<&str>) -> Result<(), ApiError> {
        if let Some(customer_id) = customer_id {
            self.delete(&store::customer_link(customer_id)).await?;
        }
        self.delete(&store::entitlement(identity_id)).await?;
        self.delete(&store::trial(identity_id)).await?;
        self.delete(&store::identity_link(identity_id)).await
    }
}
