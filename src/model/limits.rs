//! Every limit of a training session, once. The server checks them as the
//! authority; forms use the same constants as hints (`min`, `max`, `step`).

/// Sets per exercise: 1 to this.
pub const SETS_MAX: u32 = 50;
/// Reps per set: 0 to this.
pub const REPS_MAX: u32 = 1000;
/// Load value: 0 to this (kg, lb, or added weight over bodyweight).
pub const LOAD_MAX: f64 = 2000.0;
/// Duration of an exercise: at most 3 hours, in seconds.
pub const DURATION_MAX_S: u32 = 3 * 60 * 60;
/// Rest after an exercise: at most 1 hour, in seconds.
pub const REST_MAX_S: u32 = 60 * 60;
/// Rate of perceived exertion: 0 to 10 in steps of 0.5.
pub const RPE_MAX: f64 = 10.0;
/// Exercise names, in characters.
pub const EXERCISE_NAME_MAX_CHARS: usize = 100;
/// Notes (trainer's, athlete's, cancel reason), in characters.
pub const NOTES_MAX_CHARS: usize = 1000;
/// A message in a session's thread, in characters.
pub const MESSAGE_MAX_CHARS: usize = 2000;
/// Exercises in one round.
pub const EXERCISES_MAX: usize = 30;
/// Rounds in one session.
pub const ROUNDS_MAX: i64 = 100;
