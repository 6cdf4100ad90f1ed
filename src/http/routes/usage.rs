//! Metered limits' routes: consume units of a meter (API clients, with an
//! optional `Idempotency-Key`), and a meter's balance (API clients for any
//! identity, a signed-in user for their own).

use worker::Request;

use crate::error::ApiError;
use crate::http::body::read_bounded;
use crate::http::context::Cx;
use crate::http::flows::usage::{ask_counter, known_meter};
use crate::http::headers::header;
use crate::http::respond::{json_text_with, Reply};
use crate::identity::IdentityId;
use crate::usage::ledger::{amount_of, valid_idempotency_key};

/// `POST /v1/identities/{id}/usage/{meter}`: 200 with the balance when the
/// amount fit and was consumed, 402 `limit_reached` with nothing consumed
/// otherwise; a replayed `Idempotency-Key` answers as the first time.
pub async fn consume(cx: &Cx<'_>, mut req: Request, id: &IdentityId, meter: &str) -> Result<Reply, ApiError> {
    known_meter(cx, meter)?;
    let key = match header(&req, "idempotency-key") {
        Some(k) if valid_idempotency_key(&k) => Some(k),
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 printable ASCII characters",
            ))
        }
        None => None,
    };
    let body = read_bounded(&mut req).await?;
    let amount = amount_of(&body).map_err(|_| {
        ApiError::bad_request(
            "invalid_amount",
            "the body is {\"amount\": n} with n a whole number from 1 to 10^12, or empty for 1",
        )
    })?;
    let counted = ask_counter(cx, id, meter, amount, key).await?;
    Ok(json_text_with(counted.status, counted.body))
}

/// `GET .../usage/{meter}`: the balance, without consuming.
pub async fn balance(cx: &Cx<'_>, id: &IdentityId, meter: &str) -> Result<Reply, ApiError> {
    let counted = ask_counter(cx, id, meter, 0, None).await?;
    Ok(json_text_with(counted.status, counted.body))
}
