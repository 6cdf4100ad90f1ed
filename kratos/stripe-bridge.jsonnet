// The web_hook body kratos-stripe-bridge expects (registration and settings).
// ctx.identity never carries metadata_admin or credentials; the bridge keeps
// its own link and reads the rest through the admin API.
function(ctx) {
  identity: ctx.identity,
  flow_id: ctx.flow.id,
  flow_type: ctx.flow.type,
}
