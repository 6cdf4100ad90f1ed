//! UUID shape checks for Kratos identity ids (which are always UUIDs), so a
//! malformed or placeholder id is refused before it reaches Stripe metadata,
//! a KV key or an admin API path.

/// The id Kratos puts on an identity that has not been stored yet (a hook
/// configured with `response.parse: true` runs before persistence).
pub const NIL_UUID: &str = "00000000-0000-0000-0000-000000000000";

/// True for the canonical textual form `8-4-4-4-12` of hex digits (either case).
pub fn is_uuid(s: &str) -> bool {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let mut parts = s.split('-');
    for len in GROUPS {
        match parts.next() {
            Some(p) if p.len() == len && p.bytes().all(|b| b.is_ascii_hexdigit()) => {}
            _ => return false,
        }
    }
    parts.next().is_none()
}

/// True for the nil UUID (all zeros), the id of a not-yet-persisted identity.
pub fn is_nil_uuid(s: &str) -> bool {
    s == NIL_UUID
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_canonical_uuids_in_either_case() {
        assert!(is_uuid("9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab"));
        assert!(is_uuid("9F1C2D3E-4B5A-4C6D-8E7F-0123456789AB"));
        assert!(is_uuid(NIL_UUID));
    }

    #[test]
    fn refuses_other_shapes() {
        for bad in [
            "",
            "9f1c2d3e4b5a4c6d8e7f0123456789ab",
            "9f1c2d3e-4b5a-4c6d-8e7f-0123456789a",
            "9f1c2d3e-4b5a-4c6d-8e7f-0123456789abc",
            "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ag",
            "9f1c2d3e-4b5a-4c6d-8e7f-01234567-89a",
            "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab-",
            "{9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab}",
            "../admin/identities",
        ] {
            assert!(!is_uuid(bad), "{bad:?}");
        }
    }

    #[test]
    fn only_all_zeros_is_nil() {
        assert!(is_nil_uuid("00000000-0000-0000-0000-000000000000"));
        assert!(!is_nil_uuid("00000000-0000-0000-0000-000000000001"));
    }
}
