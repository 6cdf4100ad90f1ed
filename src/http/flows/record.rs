//! An identity's record as the read-only decisions see it (the feature
//! check, `/gate`, edge gate mode): from the isolate's cache when fresh,
//! else from KV, else the default plan.

use std::rc::Rc;

use crate::entitlements::derive::default_entitlement;
use crate::entitlements::record::Entitlement;
use crate::error::ApiError;
use crate::http::context::Cx;
use crate::http::flows::sync::with_trial;
use crate::http::kv::Store;
use crate::identity::IdentityId;

/// The identity's record as stored (read-time expiry not applied yet: the
/// decisions apply it and say why); the default plan when none is stored.
/// A read the isolate's cache answers awaits nothing, so the request is
/// answered inside the runtime's call (`runtime::export`).
pub async fn stored(cx: &Cx<'_>, store: &Store, id: &IdentityId) -> Result<Rc<Entitlement>, ApiError> {
    match store.entitlement_cached(id).await? {
        Some(r) => Ok(r),
        None => Ok(Rc::new(with_trial(cx, store, default_entitlement(id, None, &cx.config.plans, cx.now)).await?)),
    }
}
