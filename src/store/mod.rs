//! The KV layout: which key holds what, and the records stored there.
