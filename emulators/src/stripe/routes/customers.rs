//! `/v1/customers`: create, retrieve, update, delete, list and search.

use axum::extract::{Path, State};
use axum::{Extension, Json};

use crate::stripe::app::{App, Ctx};
use crate::stripe::errors::{ApiError, ApiResult};
use crate::stripe::expand::expand;
use crate::stripe::list::paginate;
use crate::stripe::ops::customers::{self, CustomerFields};
use crate::stripe::params::Params;
use crate::stripe::resources::customer::Customer;
use crate::stripe::search::SearchRequest;

const WRITABLE: [&str; 5] = ["email", "name", "metadata", "description", "phone"];

fn fields(params: &Params) -> Result<CustomerFields, ApiError> {
    params.only(&WRITABLE)?;
    let email = params.nullable_str("email")?;
    if let Some(Some(address)) = &email {
        if !looks_like_email(address) {
            return Err(ApiError::invalid("email", "email_invalid", "Invalid email address.".to_string()));
        }
    }
    Ok(CustomerFields {
        email,
        name: params.nullable_str("name")?,
        description: params.nullable_str("description")?,
        phone: params.nullable_str("phone")?,
        metadata: params.metadata("metadata")?,
    })
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace),
        None => false,
    }
}

/// `POST /v1/customers`
pub(crate) async fn create(
    State(app): State<App>,
    Extension(ctx): Extension<Ctx>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    let fields = fields(&params)?;
    let mut state = app.lock();
    let mut customer = customers::create(&mut state, &ctx, fields)?;
    expand(&state, &mut customer, &params.expand());
    Ok(Json(customer))
}

/// `GET /v1/customers/{id}`: a deleted customer answers `{"deleted": true}`.
pub(crate) async fn retrieve(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    let state = app.lock();
    let customer = state.customers.get(&id).ok_or_else(|| ApiError::no_such("customer", &id))?;
    if customer.deleted {
        return Ok(Json(customer.deleted_json()));
    }
    let mut json = state.customer_json(customer);
    expand(&state, &mut json, &params.expand());
    Ok(Json(json))
}

/// `POST /v1/customers/{id}`: metadata merges; `""` unsets.
pub(crate) async fn update(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(ctx): Extension<Ctx>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    let fields = fields(&params)?;
    let mut state = app.lock();
    let mut json = customers::update(&mut state, &ctx, &id, fields)?;
    expand(&state, &mut json, &params.expand());
    Ok(Json(json))
}

/// `DELETE /v1/customers/{id}`: also cancels the customer's subscriptions.
pub(crate) async fn delete(
    State(app): State<App>,
    Path(id): Path<String>,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult {
    let mut state = app.lock();
    Ok(Json(customers::delete(&mut state, &ctx, &id)?))
}

/// `GET /v1/customers?email=&limit=&starting_after=`: newest first.
pub(crate) async fn list(State(app): State<App>, Extension(params): Extension<Params>) -> ApiResult {
    params.only(&["email", "limit", "starting_after", "ending_before", "created", "test_clock"])?;
    let email = params.str("email")?;
    let state = app.lock();
    let mut live: Vec<_> = state
        .customers
        .values()
        .filter(|c| !c.deleted)
        .filter(|c| email.is_none_or(|e| c.email.as_deref() == Some(e)))
        .collect();
    live.sort_by_key(|x| std::cmp::Reverse(x.seq));
    let items = live.into_iter().map(|c| (c.id.clone(), state.customer_json(c))).collect();
    let mut page = paginate(items, &params, "/v1/customers", "customer")?;
    expand(&state, &mut page, &params.expand());
    Ok(Json(page))
}

/// `GET /v1/customers/search?query=`: sees the account as it was `search_lag` ago.
pub(crate) async fn search(State(app): State<App>, Extension(params): Extension<Params>) -> ApiResult {
    let request = SearchRequest::read::<Customer>(&params)?;
    let state = app.lock();
    let mut found: Vec<_> =
        state.search_index.visible(state.search_lag).into_iter().filter(|c| request.query.matches(*c)).collect();
    found.sort_by_key(|x| std::cmp::Reverse(x.seq));
    let mut result = request.page(found, "/v1/customers/search", |snapshot| match state.live_customer(&snapshot.id) {
        Some(current) => state.customer_json(current),
        None => state.customer_json(snapshot),
    });
    expand(&state, &mut result, &params.expand());
    Ok(Json(result))
}
