//! One module per route (no page uses another: what two pages share is a
//! component).

pub mod dashboard;
pub mod history;
pub mod home;
pub mod login;
pub mod not_found;
pub mod register;
pub mod session_athlete;
pub mod session_trainer;
