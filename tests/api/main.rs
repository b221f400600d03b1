//! One integration-test binary (zero2prod style): every test starts the real
//! router on 127.0.0.1:0 with a fresh, migrated database, on SQLite and on
//! PostgreSQL, and drives it over HTTP.

mod architecture;
mod auth;
mod calls;
mod compression;
mod config;
mod connections;
mod docs;
mod field;
mod fuzz;
mod helpers;
mod hostile;
mod live;
mod messages;
mod metrics;
mod pages;
mod pain;
mod receipts;
mod scaleout;
mod sessions;
mod sets;
mod state;
mod typing;
mod writes;
