//! Who a webhook event is about, and what to do about it. Stripe names a
//! customer; the bridge needs the Kratos identity behind it, whether that
//! customer still exists, and whether it is the identity's own customer.
//! Each decision is a value computed here from what the shell read; the
//! shell only carries it out.
//!
//! The shell reads in two steps, since the second depends on the first:
//! 1. our customer -> identity link, and (only when there is none, see
//!    [`needs_customer`]) the customer from Stripe: [`subject`] names the
//!    identity;
//! 2. that identity's KV state (its current customer, its tombstone):
//!    [`decide`] chooses the [`Action`].

use crate::identity::IdentityId;
use crate::stripe::customer::Customer;
use crate::stripe::event::{EventKind, EventSignal};

/// Whom an event concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// `identity`'s plan state follows this customer's subscriptions.
    Sync { identity: IdentityId, found_by: FoundBy },
    /// The customer was deleted (or Stripe no longer has it).
    Gone { identity: IdentityId },
    /// No identity can be named: nothing to update.
    Unknown,
}

impl Subject {
    /// The identity named, whose KV state [`decide`] needs.
    pub fn identity(&self) -> Option<&IdentityId> {
        match self {
            Subject::Sync { identity, .. } | Subject::Gone { identity } => Some(identity),
            Subject::Unknown => None,
        }
    }
}

/// How the identity of an event was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundBy {
    /// Our own customer -> identity link.
    Link,
    /// The event (checkout `client_reference_id`, object metadata) or the
    /// customer's metadata: the link is not recorded yet.
    Metadata,
}

/// Whether the shell must fetch the customer before calling [`subject`]:
/// only when our own link does not name the identity.
pub fn needs_customer(linked_identity: Option<&IdentityId>) -> bool {
    linked_identity.is_none()
}

/// Decides the subject from our customer -> identity link (`linked`) and,
/// when there is none, the customer as Stripe has it now (`None`: Stripe
/// has no such customer). The identity comes from, in order: our link, the
/// event, the customer's `metadata.olympus_identity_id`.
pub fn subject(event: &EventSignal, linked: Option<&IdentityId>, customer: Option<&Customer>) -> Subject {
    let deleted_event = event.kind == EventKind::CustomerDeleted;
    if let Some(identity) = linked {
        return if deleted_event {
            Subject::Gone { identity: identity.clone() }
        } else {
            Subject::Sync { identity: identity.clone(), found_by: FoundBy::Link }
        };
    }
    let gone = deleted_event || customer.is_none_or(|c| c.deleted);
    let identity = event.identity_hint.clone().or_else(|| customer.and_then(Customer::identity_id));
    match identity {
        None => Subject::Unknown,
        Some(identity) if gone => Subject::Gone { identity },
        Some(identity) => Subject::Sync { identity, found_by: FoundBy::Metadata },
    }
}

/// What KV says about the identity a subject names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentityState<'a> {
    /// The identity's current customer (our identity -> customer link).
    pub customer: Option<&'a str>,
    /// The identity was deleted through the bridge (a tombstone exists).
    pub deleted: bool,
}

/// What the shell does with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Re-derive the identity's record from the customer's subscriptions,
    /// first recording the link when `link` is [`LinkWrite::Record`].
    Sync { identity: IdentityId, link: LinkWrite },
    /// The identity's customer is gone: store the default plan, removing the
    /// link when `link` is [`LinkWrite::Remove`].
    Reset { identity: IdentityId, link: LinkWrite },
    /// Nothing to write.
    Skip { identity: Option<IdentityId>, reason: Skip },
}

/// What to do with the identity <-> customer link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkWrite {
    Keep,
    Record,
    Remove,
}

/// Why an event writes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// No identity can be named.
    Unlinked,
    /// The identity was deleted through the bridge: nothing is written back.
    IdentityDeleted,
    /// The identity has another current customer (this one is a duplicate,
    /// or an old one it moved on from): its record follows that one only.
    OtherCustomer,
}

/// Chooses the action for an event about `customer_id` once the identity's
/// KV state is known. A customer that is not the identity's current one
/// never touches its record: only the identity's own customer, or a first
/// link when the identity has none, may.
pub fn decide(customer_id: &str, subject: Subject, state: IdentityState<'_>) -> Action {
    let Some(identity) = subject.identity().cloned() else {
        return Action::Skip { identity: None, reason: Skip::Unlinked };
    };
    if state.deleted {
        return Action::Skip { identity: Some(identity), reason: Skip::IdentityDeleted };
    }
    let own = match state.customer {
        Some(current) if current != customer_id => {
            return Action::Skip { identity: Some(identity), reason: Skip::OtherCustomer }
        }
        Some(_) => true,
        None => false,
    };
    match (subject, own) {
        (Subject::Gone { .. }, true) => Action::Reset { identity, link: LinkWrite::Remove },
        (Subject::Gone { .. }, false) => Action::Reset { identity, link: LinkWrite::Keep },
        (Subject::Sync { found_by: FoundBy::Link, .. }, true) => Action::Sync { identity, link: LinkWrite::Keep },
        // Found by metadata, or our reverse link exists without the forward one.
        (_, _) => Action::Sync { identity, link: LinkWrite::Record },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const ID: &str = "5b0e8f0e-8c1a-4a43-9b55-4a8f3c1f2a10";
    const OTHER: &str = "0d4c4c55-3b1e-4f0b-9a47-2a4c3c1e9d11";

    fn id(s: &str) -> IdentityId {
        IdentityId::parse(s).unwrap()
    }

    fn event(kind: EventKind, hint: Option<&str>) -> EventSignal {
        EventSignal {
            id: "evt_1".into(),
            kind,
            livemode: false,
            created: 1,
            customer_id: Some("cus_1".into()),
            identity_hint: hint.map(id),
            object_id: None,
        }
    }

    fn customer(identity: Option<&str>, deleted: bool) -> Customer {
        let mut metadata = BTreeMap::new();
        if let Some(id) = identity {
            metadata.insert("olympus_identity_id".to_owned(), id.to_owned());
        }
        Customer { id: "cus_1".into(), email: None, name: None, metadata, deleted }
    }

    fn live(customer: Option<&str>) -> IdentityState<'_> {
        IdentityState { customer, deleted: false }
    }

    #[test]
    fn our_link_wins_over_hints() {
        let e = event(EventKind::SubscriptionUpdated, Some(OTHER));
        assert!(!needs_customer(Some(&id(ID))));
        assert_eq!(subject(&e, Some(&id(ID)), None), Subject::Sync { identity: id(ID), found_by: FoundBy::Link });
        let deleted = event(EventKind::CustomerDeleted, None);
        assert_eq!(subject(&deleted, Some(&id(ID)), None), Subject::Gone { identity: id(ID) });
    }

    #[test]
    fn without_a_link_the_event_then_the_customer_name_the_identity() {
        assert!(needs_customer(None));
        let checkout = event(EventKind::CheckoutSessionCompleted, Some(ID));
        let c = customer(Some(OTHER), false);
        assert_eq!(subject(&checkout, None, Some(&c)), Subject::Sync { identity: id(ID), found_by: FoundBy::Metadata });
        let plain = event(EventKind::InvoicePaid, None);
        assert_eq!(subject(&plain, None, Some(&c)), Subject::Sync { identity: id(OTHER), found_by: FoundBy::Metadata });
        assert_eq!(subject(&plain, None, Some(&customer(None, false))), Subject::Unknown);
        assert_eq!(subject(&plain, None, Some(&customer(Some("not-a-uuid"), false))), Subject::Unknown);
    }

    #[test]
    fn a_deleted_or_missing_customer_makes_its_identity_fall_back() {
        let e = event(EventKind::SubscriptionDeleted, Some(ID));
        assert_eq!(subject(&e, None, Some(&customer(None, true))), Subject::Gone { identity: id(ID) });
        assert_eq!(subject(&e, None, None), Subject::Gone { identity: id(ID) });
        let deleted = event(EventKind::CustomerDeleted, None);
        assert_eq!(subject(&deleted, None, None), Subject::Unknown);
    }

    #[test]
    fn the_identitys_own_customer_syncs() {
        let linked = Subject::Sync { identity: id(ID), found_by: FoundBy::Link };
        assert_eq!(
            decide("cus_1", linked, live(Some("cus_1"))),
            Action::Sync { identity: id(ID), link: LinkWrite::Keep }
        );
        let by_metadata = Subject::Sync { identity: id(ID), found_by: FoundBy::Metadata };
        assert_eq!(
            decide("cus_1", by_metadata.clone(), live(Some("cus_1"))),
            Action::Sync { identity: id(ID), link: LinkWrite::Record }
        );
        assert_eq!(
            decide("cus_1", by_metadata, live(None)),
            Action::Sync { identity: id(ID), link: LinkWrite::Record },
            "a first link (e.g. KV was wiped) is recorded"
        );
    }

    #[test]
    fn another_customer_never_touches_the_identitys_record() {
        for subject in [
            Subject::Sync { identity: id(ID), found_by: FoundBy::Metadata },
            Subject::Sync { identity: id(ID), found_by: FoundBy::Link },
            Subject::Gone { identity: id(ID) },
        ] {
            assert_eq!(
                decide("cus_dup", subject.clone(), live(Some("cus_1"))),
                Action::Skip { identity: Some(id(ID)), reason: Skip::OtherCustomer },
                "{subject:?}"
            );
        }
    }

    #[test]
    fn a_gone_customer_resets_and_unlinks_only_its_own_identity() {
        let gone = Subject::Gone { identity: id(ID) };
        assert_eq!(
            decide("cus_1", gone.clone(), live(Some("cus_1"))),
            Action::Reset { identity: id(ID), link: LinkWrite::Remove }
        );
        assert_eq!(decide("cus_1", gone, live(None)), Action::Reset { identity: id(ID), link: LinkWrite::Keep });
    }

    #[test]
    fn deleted_identities_and_unknown_subjects_write_nothing() {
        let deleted = IdentityState { customer: Some("cus_1"), deleted: true };
        let s = Subject::Sync { identity: id(ID), found_by: FoundBy::Link };
        assert_eq!(decide("cus_1", s, deleted), Action::Skip { identity: Some(id(ID)), reason: Skip::IdentityDeleted });
        assert_eq!(
            decide("cus_1", Subject::Unknown, live(None)),
            Action::Skip { identity: None, reason: Skip::Unlinked }
        );
    }
}
