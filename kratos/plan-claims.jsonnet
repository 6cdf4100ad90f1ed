// kratos-stripe-bridge: the plan in Kratos session JWTs
// (`/sessions/whoami?tokenize_as=<template>`). Kratos runs this claims mapper
// with std.extVar('session') (the session; the identity's metadata_public is
// in it, metadata_admin is not) and signs what it returns under `claims`
// beside its own (sub, sid, iss, exp, ...).
//
// The plan comes from metadata_public.plan, which the bridge writes only
// with KRATOS_SYNC_PLAN=true. A token's plan is as old as the token
// (the template's `ttl`); an identity the bridge has not written yet gets no
// plan claim, never a made-up one.
local session = std.extVar('session');
local meta = std.get(session.identity, 'metadata_public', null);
local plan = if std.isObject(meta) then std.get(meta, 'plan', null) else null;
{
  claims: {
    [if std.isString(plan) then 'plan']: plan,
  },
}
