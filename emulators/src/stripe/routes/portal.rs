//! `POST /v1/billing_portal/sessions`.

use axum::extract::State;
use axum::{Extension, Json};

use crate::stripe::app::App;
use crate::stripe::errors::{ApiError, ApiResult};
use crate::stripe::ids;
use crate::stripe::params::Params;
use crate::stripe::resources::portal::PortalSession;

/// Creates a portal session whose `url` is the emulator's portal page.
pub(crate) async fn create(State(app): State<App>, Extension(params): Extension<Params>) -> ApiResult {
    params.only(&["customer", "return_url", "configuration", "locale", "flow_data", "on_behalf_of"])?;
    let customer = params.required_str("customer")?.to_string();
    let return_url = params.str("return_url")?.map(str::to_string);
    let mut state = app.lock();
    if state.live_customer(&customer).is_none() {
        return Err(ApiError::no_such_param("customer", &customer, "customer"));
    }
    let id = ids::new_id("bps_", 24);
    let session = PortalSession {
        url: state.hosted_url("portal", &id),
        id: id.clone(),
        created: state.now(),
        customer,
        return_url,
        configuration: params.str("configuration")?.map_or_else(|| "bpc_emulator_default".to_string(), str::to_string),
    };
    let json = session.to_json(state.livemode);
    state.portal_sessions.insert(id, session);
    Ok(Json(json))
}
