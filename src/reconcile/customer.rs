//! What the walk does with one Stripe customer, decided in stages from what
//! the shell has read so far, so that a fresh, linked customer costs no
//! call at all and a stale one one subscription read.

use crate::identity::IdentityId;
use crate::stripe::customer::Customer;

/// Why a customer is reported rather than fixed (the spec's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrphanReason {
    /// No `olympus_identity_id`, and no identity has the customer's email.
    NoIdentityMetadata,
    /// The identity it names does not exist in Kratos.
    IdentityMissing,
    /// No `olympus_identity_id`, and the email matches several identities,
    /// or one that already has a customer.
    AmbiguousEmail,
    /// No `olympus_identity_id`, and the one identity with the email has not
    /// verified it: anyone can register with another person's address, and
    /// a paying customer must never reach them.
    UnverifiedEmail,
}

/// Whom a customer says it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// `metadata.olympus_identity_id` names this identity.
    Identity(IdentityId),
    /// No identity in its metadata; its email, to look the identity up by.
    Email(String),
    /// Neither (or metadata that is not an identity id): an orphan.
    Nothing,
}

/// The customer's claim.
pub fn claim(customer: &Customer) -> Claim {
    if let Some(id) = customer.identity_id() {
        return Claim::Identity(id);
    }
    if customer.claims_an_identity() {
        return Claim::Nothing;
    }
    match customer.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(email) => Claim::Email(email.to_owned()),
        None => Claim::Nothing,
    }
}

/// What to do with a customer that names an identity, from the identity's
/// KV link and the age of its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Linked {
    /// Linked both ways and synced within `RECONCILE_STALE_AFTER`: nothing.
    Fresh,
    /// The identity is linked to another customer: this one is a duplicate
    /// and never changes the identity's record.
    Duplicate { linked: String },
    /// Check in Kratos that the identity exists, then sync (and record the
    /// KV link first when `link` is true: the identity has none).
    Check { link: bool },
}

/// Decides for a customer that names an identity. `linked` is the
/// identity's KV link (`idn:`), `synced_at` its record's.
pub fn linked(customer_id: &str, linked: Option<&str>, synced_at: Option<i64>, now: i64, stale_after: i64) -> Linked {
    match linked {
        Some(other) if other != customer_id => Linked::Duplicate { linked: other.to_owned() },
        Some(_) if synced_at.is_some_and(|t| now.saturating_sub(t) < stale_after) => Linked::Fresh,
        Some(_) => Linked::Check { link: false },
        None => Linked::Check { link: true },
    }
}

/// An identity that has the customer's email (admin API
/// `credentials_identifier`), whether it already has a customer, and
/// whether its verifiable address with that email is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub identity_id: IdentityId,
    pub has_customer: bool,
    pub email_verified: bool,
}

/// What to do with a customer without identity metadata, from the
/// identities that have its email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByEmail {
    /// Exactly one identity has it, verified, and has no customer: link
    /// them as the registration hook would.
    Link(IdentityId),
    /// Report it.
    Orphan(OrphanReason),
}

/// Decides for a customer without identity metadata.
pub fn by_email(candidates: &[Candidate]) -> ByEmail {
    match candidates {
        [] => ByEmail::Orphan(OrphanReason::NoIdentityMetadata),
        [one] if one.has_customer => ByEmail::Orphan(OrphanReason::AmbiguousEmail),
        [one] if !one.email_verified => ByEmail::Orphan(OrphanReason::UnverifiedEmail),
        [one] => ByEmail::Link(one.identity_id.clone()),
        _ => ByEmail::Orphan(OrphanReason::AmbiguousEmail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const ID: &str = "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab";
    const NOW: i64 = 1_764_000_000;

    fn customer(metadata: &[(&str, &str)], email: Option<&str>) -> Customer {
        Customer {
            id: "cus_1".into(),
            email: email.map(str::to_owned),
            name: None,
            metadata: metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
            deleted: false,
        }
    }

    #[test]
    fn a_customer_claims_its_metadata_identity_else_its_email() {
        let id = IdentityId::parse(ID).unwrap();
        assert_eq!(claim(&customer(&[("olympus_identity_id", ID)], Some("a@x.io"))), Claim::Identity(id));
        assert_eq!(claim(&customer(&[], Some(" a@x.io "))), Claim::Email("a@x.io".into()));
        assert_eq!(claim(&customer(&[], None)), Claim::Nothing);
        assert_eq!(claim(&customer(&[], Some(" "))), Claim::Nothing);
        assert_eq!(
            claim(&customer(&[("olympus_identity_id", "not-an-id")], Some("a@x.io"))),
            Claim::Nothing,
            "metadata that names something else is never re-linked by email"
        );
    }

    #[test]
    fn fresh_links_cost_nothing_stale_ones_a_sync_and_duplicates_are_reported() {
        let hour = 3600;
        assert_eq!(linked("cus_1", Some("cus_1"), Some(NOW - 60), NOW, hour), Linked::Fresh);
        assert_eq!(linked("cus_1", Some("cus_1"), Some(NOW - hour), NOW, hour), Linked::Check { link: false });
        assert_eq!(linked("cus_1", Some("cus_1"), None, NOW, hour), Linked::Check { link: false }, "no record");
        assert_eq!(linked("cus_1", None, Some(NOW), NOW, hour), Linked::Check { link: true });
        assert_eq!(linked("cus_2", Some("cus_1"), Some(NOW), NOW, hour), Linked::Duplicate { linked: "cus_1".into() });
        assert_eq!(linked("cus_1", Some("cus_1"), Some(NOW), NOW, 0), Linked::Check { link: false }, "0: always");
    }

    #[test]
    fn an_email_links_only_one_identity_without_a_customer() {
        let id = |n: u8| IdentityId::parse(&format!("9f1c2d3e-4b5a-4c6d-8e7f-0123456789{n:02x}")).unwrap();
        let c = |n, has_customer| Candidate { identity_id: id(n), has_customer, email_verified: true };
        assert_eq!(by_email(&[]), ByEmail::Orphan(OrphanReason::NoIdentityMetadata));
        assert_eq!(by_email(&[c(1, false)]), ByEmail::Link(id(1)));
        assert_eq!(by_email(&[c(1, true)]), ByEmail::Orphan(OrphanReason::AmbiguousEmail));
        assert_eq!(by_email(&[c(1, false), c(2, false)]), ByEmail::Orphan(OrphanReason::AmbiguousEmail));
        let unverified = Candidate { email_verified: false, ..c(1, false) };
        assert_eq!(
            by_email(&[unverified]),
            ByEmail::Orphan(OrphanReason::UnverifiedEmail),
            "never to an unverified one"
        );
        let reasons: Vec<_> = [
            OrphanReason::NoIdentityMetadata,
            OrphanReason::IdentityMissing,
            OrphanReason::AmbiguousEmail,
            OrphanReason::UnverifiedEmail,
        ]
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
        assert_eq!(reasons, ["no_identity_metadata", "identity_missing", "ambiguous_email", "unverified_email"]);
    }
}
