//! Where Kratos and Stripe meet: the one module that reads a Kratos type and
//! builds a Stripe one. Everything else in `kratos` and `stripe` knows only
//! its own service (and `crate::identity`, which both share).

use crate::error::ApiError;
use crate::kratos::hook::HookIdentity;
use crate::kratos::identity::Identity;
use crate::kratos::traits;
use crate::stripe::customer::CustomerProfile;

/// What the identity's Stripe customer should say, from the hook body.
pub fn customer_profile(hook: &HookIdentity) -> CustomerProfile {
    CustomerProfile { identity_id: hook.id.clone(), email: hook.email.clone(), name: hook.name.clone() }
}

/// The same profile from the admin API's identity (a Checkout for an
/// identity whose registration hook never linked a customer), read by the
/// same trait rules as hooks. An identity without a usable email cannot be
/// billed: 409, nothing created.
pub fn admin_customer_profile(identity: &Identity) -> Result<CustomerProfile, ApiError> {
    let email = traits::email(&identity.traits).map_err(|_| {
        ApiError::conflict("identity_without_email", "the identity has no usable traits.email to bill under")
    })?;
    Ok(CustomerProfile { identity_id: identity.id.clone(), email, name: traits::name(&identity.traits) })
}

/// What a registration or settings hook did (answered and logged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookOutcome {
    /// This call asked Stripe to create the identity's customer.
    CustomerCreated,
    /// The customer existed; its email or name was brought up to date.
    CustomerUpdated,
    /// The customer existed and already said what the identity says.
    Unchanged,
}

impl HookOutcome {
    /// The outcome's name in answers and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerCreated => "customer_created",
            Self::CustomerUpdated => "customer_updated",
            Self::Unchanged => "unchanged",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityId;

    #[test]
    fn the_profile_is_the_hooks_identity() {
        let id = IdentityId::parse("9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab").unwrap();
        let hook = HookIdentity { id: id.clone(), email: "ada@example.com".into(), name: Some("Ada".into()) };
        assert_eq!(
            customer_profile(&hook),
            CustomerProfile { identity_id: id.clone(), email: "ada@example.com".into(), name: Some("Ada".into()) }
        );
        let admin = Identity {
            id: id.clone(),
            traits: serde_json::json!({"email": " ada@example.com ", "first_name": "Ada"}),
            metadata_public: None,
            metadata_admin: None,
            verified_emails: vec![],
        };
        let profile =
            CustomerProfile { identity_id: id.clone(), email: "ada@example.com".into(), name: Some("Ada".into()) };
        assert_eq!(admin_customer_profile(&admin).unwrap(), profile, "the hook's rules");
        let no_email = Identity { traits: serde_json::json!({"name": "Ada"}), ..admin };
        assert_eq!(admin_customer_profile(&no_email).unwrap_err().code, "identity_without_email");
        let names: Vec<_> = [HookOutcome::CustomerCreated, HookOutcome::CustomerUpdated, HookOutcome::Unchanged]
            .map(HookOutcome::as_str)
            .into();
        assert_eq!(names, ["customer_created", "customer_updated", "unchanged"]);
    }
}
