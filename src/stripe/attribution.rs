//! Who a webhook event is about. Stripe names a customer; the bridge needs
//! the Kratos identity behind it, and whether that customer still exists.

use crate::kratos::uuid::is_uuid;
use crate::stripe::customer::Customer;
use crate::stripe::event::{EventKind, EventSignal};

/// What an event asks the bridge to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Re-derive `identity`'s entitlement from the customer's subscriptions.
    /// `new_link`: the identity was found through the event or the
    /// customer's metadata, not our link, so the link must be recorded.
    Sync { identity: String, new_link: bool },
    /// The customer was deleted: its identity falls back to the default plan.
    Gone { identity: String },
    /// No identity can be named: nothing to update.
    Unknown,
}

/// Whether the shell must fetch the customer before calling [`subject`]:
/// only when our own link does not name the identity.
pub fn needs_customer(linked_identity: Option<&str>) -> bool {
    linked_identity.is_none()
}

/// Decides the subject from our customer -> identity link (`linked`) and,
/// when there is none, the customer as Stripe has it now (`None`: Stripe
/// has no such customer). The identity comes from, in order: our link, the
/// event (checkout `client_reference_id`, object metadata), the customer's
/// `metadata.olympus_identity_id`; anything that is not a UUID is ignored.
pub fn subject(event: &EventSignal, linked: Option<&str>, customer: Option<&Customer>) -> Subject {
    let deleted_event = event.kind == EventKind::CustomerDeleted;
    if let Some(identity) = linked {
        return if deleted_event {
            Subject::Gone { identity: identity.to_owned() }
        } else {
            Subject::Sync { identity: identity.to_owned(), new_link: false }
        };
    }
    let gone = deleted_event || customer.is_none_or(|c| c.deleted);
    let identity = event
        .identity_hint
        .as_deref()
        .filter(|id| is_uuid(id))
        .or_else(|| customer.and_then(Customer::identity_id).filter(|id| is_uuid(id)));
    match identity {
        None => Subject::Unknown,
        Some(id) if gone => Subject::Gone { identity: id.to_owned() },
        Some(id) => Subject::Sync { identity: id.to_owned(), new_link: true },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const ID: &str = "5b0e8f0e-8c1a-4a43-9b55-4a8f3c1f2a10";
    const OTHER: &str = "0d4c4c55-3b1e-4f0b-9a47-2a4c3c1e9d11";

    fn event(kind: EventKind, hint: Option<&str>) -> EventSignal {
        EventSignal {
            id: "evt_1".into(),
            kind,
            livemode: false,
            created: 1,
            customer_id: Some("cus_1".into()),
            identity_hint: hint.map(str::to_owned),
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

    #[test]
    fn our_link_wins_over_hints() {
        let e = event(EventKind::SubscriptionUpdated, Some(OTHER));
        assert!(!needs_customer(Some(ID)));
        assert_eq!(subject(&e, Some(ID), None), Subject::Sync { identity: ID.into(), new_link: false });
        let deleted = event(EventKind::CustomerDeleted, None);
        assert_eq!(subject(&deleted, Some(ID), None), Subject::Gone { identity: ID.into() });
    }

    #[test]
    fn without_a_link_the_event_then_the_customer_name_the_identity() {
        assert!(needs_customer(None));
        let checkout = event(EventKind::CheckoutSessionCompleted, Some(ID));
        let c = customer(Some(OTHER), false);
        assert_eq!(subject(&checkout, None, Some(&c)), Subject::Sync { identity: ID.into(), new_link: true });
        let plain = event(EventKind::InvoicePaid, None);
        assert_eq!(subject(&plain, None, Some(&c)), Subject::Sync { identity: OTHER.into(), new_link: true });
        assert_eq!(subject(&plain, None, Some(&customer(None, false))), Subject::Unknown);
    }

    #[test]
    fn ids_that_are_not_uuids_are_ignored() {
        let e = event(EventKind::SubscriptionCreated, Some("../admin"));
        assert_eq!(subject(&e, None, Some(&customer(Some("not-a-uuid"), false))), Subject::Unknown);
        let e = event(EventKind::SubscriptionCreated, Some("nope"));
        assert_eq!(subject(&e, None, Some(&customer(Some(ID), false))), Subject::Sync { identity: ID.into(), new_link: true });
    }

    #[test]
    fn a_deleted_or_missing_customer_makes_its_identity_fall_back() {
        let e = event(EventKind::SubscriptionDeleted, Some(ID));
        assert_eq!(subject(&e, None, Some(&customer(None, true))), Subject::Gone { identity: ID.into() });
        assert_eq!(subject(&e, None, None), Subject::Gone { identity: ID.into() });
        let deleted = event(EventKind::CustomerDeleted, None);
        assert_eq!(subject(&deleted, None, None), Subject::Unknown);
    }
}
