//! Server functions, one module per area. Each is the single entry point for
//! one mutation or query, callable from a form (with or without WASM) and
//! over HTTP at a fixed `/api/<endpoint>` path.

pub mod auth;
pub mod rounds;
pub mod sessions;
