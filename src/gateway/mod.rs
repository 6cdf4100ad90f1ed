//! The worker's decisions where the app already checks identity (spec:
//! "Gateways, signed assertions and OAuth2 tokens"): the forward-auth
//! endpoint a proxy asks (`forward`), the signed assertion an origin
//! verifies instead of trusting the network (`assertion`), and Ory Hydra's
//! token hook that puts the plan into OAuth2 tokens (`hydra`). Pure: the
//! shell reads the request and signs.

pub mod assertion;
pub mod forward;
pub mod hydra;
