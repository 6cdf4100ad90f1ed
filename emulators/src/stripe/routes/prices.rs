//! `/v1/prices` and `/v1/products/{id}`: the read-only catalogue.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::Value;

use crate::stripe::app::App;
use crate::stripe::errors::{ApiError, ApiResult};
use crate::stripe::expand::expand;
use crate::stripe::list::paginate;
use crate::stripe::params::Params;

/// `GET /v1/prices/{id}`
pub(crate) async fn retrieve(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    let state = app.lock();
    let price = state.prices.get(&id).ok_or_else(|| ApiError::no_such("price", &id))?;
    let mut json = price.to_json(state.livemode);
    expand(&state, &mut json, &params.expand());
    Ok(Json(json))
}

/// `GET /v1/prices?lookup_keys[]=&active=&product=`
pub(crate) async fn list(State(app): State<App>, Extension(params): Extension<Params>) -> ApiResult {
    params.only(&[
        "lookup_keys",
        "active",
        "product",
        "type",
        "currency",
        "limit",
        "starting_after",
        "ending_before",
    ])?;
    let lookup_keys: Option<Vec<String>> =
        params.list("lookup_keys")?.map(|keys| keys.iter().filter_map(Value::as_str).map(str::to_string).collect());
    let active = params.bool("active")?;
    let product = params.str("product")?;
    let state = app.lock();
    let mut prices: Vec<_> = state
        .prices
        .values()
        .filter(|p| active.is_none_or(|a| p.active == a))
        .filter(|p| product.is_none_or(|id| p.product == id))
        .filter(|p| lookup_keys.as_ref().is_none_or(|keys| p.lookup_key.as_ref().is_some_and(|k| keys.contains(k))))
        .collect();
    prices.sort_by_key(|x| std::cmp::Reverse(x.seq));
    let items = prices.into_iter().map(|p| (p.id.clone(), p.to_json(state.livemode))).collect();
    let mut page = paginate(items, &params, "/v1/prices", "price")?;
    expand(&state, &mut page, &params.expand());
    Ok(Json(page))
}

/// `GET /v1/products/{id}`
pub(crate) async fn product(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    let state = app.lock();
    let product = state.products.get(&id).ok_or_else(|| ApiError::no_such("product", &id))?;
    let mut json = product.to_json(state.livemode);
    expand(&state, &mut json, &params.expand());
    Ok(Json(json))
}
