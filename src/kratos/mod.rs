//! Kratos: hook payloads, identities, JSON Patch building and sessions.
