//! View pieces used by several pages.

pub mod auth;
pub mod clock;
pub mod field;
pub mod forms;
pub mod header;
pub mod live_indicator;
pub mod messages;
pub mod now;
pub mod receipts;
pub mod require_user;
pub mod round_builder;
pub mod session;
pub mod session_view;
pub mod sets;
pub mod when;
