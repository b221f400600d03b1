//! The session and round rules, as pure functions of the state they judge:
//! who may do what, when. The server's mutations (`server::training`) are
//! the authority and call them inside their transaction; pages call the
//! same functions to decide what to offer (a release button only when a
//! release would be accepted).
//!
//! A refusal is a [`Refusal`]; `crate::error` turns it into the HTTP answer.

use super::{FieldError, RoundStatus, SessionStatus, Side};

/// Why a rule says no.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The wrong person for this (403).
    Forbidden(String),
    /// Not now: the session or round is in the wrong state (409).
    Conflict(String),
    /// Not with this input (422, naming the field).
    Invalid(FieldError),
}

/// What a rule allows: go ahead, or the request is already done (a retry
/// or a double tap) and changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Make the change.
    Proceed,
    /// Already in the state asked for: succeed without a change.
    AlreadyDone,
}

/// Only `needed`'s side may `action` ("build rounds", "join it", …).
pub fn require_side(side: Side, needed: Side, action: &str) -> Result<(), Refusal> {
    if side == needed {
        Ok(())
    } else {
        Err(Refusal::Forbidden(format!(
            "Only the session's {} can {action}",
            needed.as_str()
        )))
    }
}

/// Rounds and feedback change only while the session is in progress.
pub fn require_in_progress(status: SessionStatus) -> Result<(), Refusal> {
    match status {
        SessionStatus::Active => Ok(()),
        SessionStatus::Waiting => Err(Refusal::Conflict(
            "The trainer has not joined this session yet".into(),
        )),
        SessionStatus::Completed => Err(Refusal::Conflict(
            "This session is completed; nothing can change".into(),
        )),
        SessionStatus::Cancelled => Err(Refusal::Conflict(
            "This session was cancelled; nothing can change".into(),
        )),
    }
}

/// The trainer joins a waiting session; joining it again is a no-op.
pub fn join(side: Side, status: SessionStatus) -> Result<Verdict, Refusal> {
    require_side(side, Side::Trainer, "join it")?;
    match status {
        SessionStatus::Waiting => Ok(Verdict::Proceed),
        SessionStatus::Active => Ok(Verdict::AlreadyDone),
        ended => require_in_progress(ended).map(|()| Verdict::Proceed),
    }
}

/// Either side cancels an unfinished session; cancelling it again is a
/// no-op; a completed session stays completed.
pub fn cancel(status: SessionStatus) -> Result<Verdict, Refusal> {
    match status {
        SessionStatus::Waiting | SessionStatus::Active => Ok(Verdict::Proceed),
        SessionStatus::Cancelled => Ok(Verdict::AlreadyDone),
        SessionStatus::Completed => Err(Refusal::Conflict(
            "This session is completed; it cannot be cancelled".into(),
        )),
    }
}

/// The trainer saves a round: a new one (`round` None, `rounds` existing so
/// far) or one that is not completed; a released round keeps at least one
/// exercise.
pub fn save(
    side: Side,
    status: SessionStatus,
    round: Option<(i64, RoundStatus)>,
    rounds: i64,
    exercises: usize,
) -> Result<(), Refusal> {
    require_side(side, Side::Trainer, "build rounds")?;
    require_in_progress(status)?;
    if exercises > super::EXERCISES_MAX {
        return Err(Refusal::Invalid(FieldError::new(
            "exercises",
            format!("A round has at most {} exercises", super::EXERCISES_MAX),
        )));
    }
    match round {
        None if rounds >= super::ROUNDS_MAX => Err(Refusal::Conflict(format!(
            "A session has at most {} rounds",
            super::ROUNDS_MAX
        ))),
        None => Ok(()),
        Some((number, RoundStatus::Completed)) => Err(Refusal::Conflict(format!(
            "Round {number} is completed; completed rounds cannot change"
        ))),
        Some((_, RoundStatus::Released)) if exercises == 0 => {
            Err(Refusal::Invalid(FieldError::new(
                "exercises",
                "A released round needs at least one exercise; delete the round instead",
            )))
        }
        Some(_) => Ok(()),
    }
}

/// A draft with at least one exercise is released when no other round is
/// open (`open`: the number of the released round, if any).
pub fn release(
    number: i64,
    status: RoundStatus,
    exercises: usize,
    open: Option<i64>,
) -> Result<(), Refusal> {
    if status != RoundStatus::Draft {
        return Err(Refusal::Conflict(format!(
            "Round {number} is already released"
        )));
    }
    if exercises == 0 {
        return Err(Refusal::Invalid(FieldError::new(
            "exercises",
            "Add at least one exercise before releasing the round",
        )));
    }
    no_open_round(open)
}

/// The part of [`release`] about the other rounds: none may be open
/// (`open`: the number of the released round, if any). The trainer's page
/// offers "Release" only when this allows it, and says why not with its
/// refusal (a draft's own state it knows from the builder).
pub fn no_open_round(open: Option<i64>) -> Result<(), Refusal> {
    match open {
        Some(open) => Err(Refusal::Conflict(format!(
            "Round {open} is still open; release this one after the athlete completes it"
        ))),
        None => Ok(()),
    }
}

/// A round that is not completed may be deleted.
pub fn delete(number: i64, status: RoundStatus) -> Result<(), Refusal> {
    if status == RoundStatus::Completed {
        return Err(Refusal::Conflict(format!(
            "Round {number} is completed; completed rounds cannot be deleted"
        )));
    }
    Ok(())
}

/// The athlete completes the released round they saw (`seen` revision):
/// completing it again is a no-op; a round the trainer changed since is
/// refused, so feedback is never recorded against a prescription the
/// athlete did not see.
pub fn complete(
    session: SessionStatus,
    round: RoundStatus,
    seen: i64,
    revision: i64,
) -> Result<Verdict, Refusal> {
    match round {
        RoundStatus::Completed => return Ok(Verdict::AlreadyDone),
        // The athlete never learns about drafts: the caller answers 404.
        RoundStatus::Draft => return Err(Refusal::Conflict("This round is not released".into())),
        RoundStatus::Released => {}
    }
    require_in_progress(session)?;
    if seen != revision {
        return Err(Refusal::Conflict(
            "Your trainer changed this round while you were on it; check it and send your feedback again".into(),
        ));
    }
    Ok(Verdict::Proceed)
}

/// The athlete logs or corrects a set of the released round they saw
/// (`seen` revision). A completed round's sets are fixed; a round the
/// trainer changed since is refused, so a set is never logged against a
/// prescription the athlete did not see.
pub fn log_set(
    session: SessionStatus,
    round: RoundStatus,
    seen: i64,
    revision: i64,
) -> Result<(), Refusal> {
    match round {
        RoundStatus::Completed => {
            return Err(Refusal::Conflict(
                "This round is finished: its sets can no longer be logged or changed".into(),
            ))
        }
        // The athlete never learns about drafts: the caller answers 404.
        RoundStatus::Draft => return Err(Refusal::Conflict("This round is not released".into())),
        RoundStatus::Released => {}
    }
    require_in_progress(session)?;
    if seen != revision {
        return Err(Refusal::Conflict(
            "Your trainer changed this round while you were on it; check it and log the set again"
                .into(),
        ));
    }
    Ok(())
}

/// The athlete flags pain on a round they have (released, or completed
/// while the session goes on); at any moment, but only while the session
/// is in progress.
pub fn report_pain(session: SessionStatus, round: RoundStatus) -> Result<(), Refusal> {
    require_in_progress(session)?;
    match round {
        // The athlete never learns about drafts: the caller answers 404.
        RoundStatus::Draft => Err(Refusal::Conflict("This round is not released".into())),
        RoundStatus::Released | RoundStatus::Completed => Ok(()),
    }
}

/// Either side writes in the session's thread while the session goes on
/// (waiting for the trainer, or in progress); an ended session's thread is
/// read-only.
pub fn send_message(session: SessionStatus) -> Result<(), Refusal> {
    match session {
        SessionStatus::Waiting | SessionStatus::Active => Ok(()),
        SessionStatus::Completed | SessionStatus::Cancelled => Err(Refusal::Conflict(
            "This session has ended: its messages are read-only".into(),
        )),
    }
}

/// The trainer acknowledges a pain report; again is a no-op.
pub fn acknowledge_pain(acknowledged: bool) -> Verdict {
    if acknowledged {
        Verdict::AlreadyDone
    } else {
        Verdict::Proceed
    }
}

/// A receipt (messages read up to `new`, a round's revision `new` opened)
/// when the newest one so far is `newest`: only a newer one is kept, so a
/// receipt never goes backwards, and the same one again changes nothing.
pub fn receipt(newest: Option<i64>, new: i64) -> Verdict {
    if newest.is_some_and(|newest| newest >= new) {
        Verdict::AlreadyDone
    } else {
        Verdict::Proceed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RoundStatus::{Draft, Released};
    use SessionStatus::{Active, Cancelled, Waiting};

    #[test]
    fn only_the_trainer_joins_and_joining_twice_is_a_no_op() {
        assert_eq!(join(Side::Trainer, Waiting), Ok(Verdict::Proceed));
        assert_eq!(join(Side::Trainer, Active), Ok(Verdict::AlreadyDone));
        assert!(matches!(
            join(Side::Athlete, Waiting),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            join(Side::Trainer, Cancelled),
            Err(Refusal::Conflict(_))
        ));
    }

    #[test]
    fn cancelling_is_for_unfinished_sessions() {
        assert_eq!(cancel(Waiting), Ok(Verdict::Proceed));
        assert_eq!(cancel(Active), Ok(Verdict::Proceed));
        assert_eq!(cancel(Cancelled), Ok(Verdict::AlreadyDone));
        assert!(matches!(
            cancel(SessionStatus::Completed),
            Err(Refusal::Conflict(_))
        ));
    }

    #[test]
    fn saving_keeps_released_rounds_non_empty_and_completed_ones_fixed() {
        assert_eq!(save(Side::Trainer, Active, None, 0, 0), Ok(()));
        assert!(matches!(
            save(Side::Athlete, Active, None, 0, 1),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            save(Side::Trainer, Waiting, None, 0, 1),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(
            save(Side::Trainer, Active, None, 100, 1),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(
            save(Side::Trainer, Active, Some((1, Released)), 1, 0),
            Err(Refusal::Invalid(e)) if e.field == "exercises"
        ));
        assert!(matches!(
            save(
                Side::Trainer,
                Active,
                Some((1, RoundStatus::Completed)),
                1,
                1
            ),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(
            save(Side::Trainer, Active, None, 0, 31),
            Err(Refusal::Invalid(_))
        ));
    }

    #[test]
    fn one_open_round_at_a_time() {
        assert_eq!(release(2, Draft, 1, None), Ok(()));
        assert!(matches!(
            release(2, Draft, 1, Some(1)),
            Err(Refusal::Conflict(m)) if m.starts_with("Round 1 is still open")
        ));
        assert!(matches!(
            release(2, Draft, 0, None),
            Err(Refusal::Invalid(_))
        ));
        assert!(matches!(
            release(2, Released, 1, None),
            Err(Refusal::Conflict(_))
        ));
        assert!(no_open_round(None).is_ok() && no_open_round(Some(1)).is_err());
    }

    #[test]
    fn feedback_goes_to_the_revision_the_athlete_saw() {
        assert_eq!(complete(Active, Released, 2, 2), Ok(Verdict::Proceed));
        assert_eq!(
            complete(SessionStatus::Completed, RoundStatus::Completed, 1, 2),
            Ok(Verdict::AlreadyDone)
        );
        assert!(matches!(
            complete(Active, Released, 1, 2),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(
            complete(Cancelled, Released, 2, 2),
            Err(Refusal::Conflict(_))
        ));
        assert_eq!(delete(1, Released), Ok(()));
        assert!(delete(1, RoundStatus::Completed).is_err());
    }

    #[test]
    fn sets_are_logged_on_the_released_round_the_athlete_saw() {
        assert_eq!(log_set(Active, Released, 2, 2), Ok(()));
        assert!(
            matches!(log_set(Active, Released, 1, 2), Err(Refusal::Conflict(m)) if m.contains("changed this round"))
        );
        assert!(
            matches!(log_set(Active, RoundStatus::Completed, 2, 2), Err(Refusal::Conflict(m)) if m.contains("finished"))
        );
        assert!(matches!(
            log_set(Active, Draft, 1, 1),
            Err(Refusal::Conflict(_))
        ));
        assert!(log_set(Cancelled, Released, 1, 1).is_err());
        assert!(log_set(SessionStatus::Completed, Released, 1, 1).is_err());
    }

    #[test]
    fn pain_is_reported_while_the_session_goes_on_and_acknowledged_once() {
        assert_eq!(report_pain(Active, Released), Ok(()));
        assert_eq!(report_pain(Active, RoundStatus::Completed), Ok(()));
        assert!(report_pain(Active, Draft).is_err());
        assert!(report_pain(Cancelled, Released).is_err());
        assert!(report_pain(Waiting, Released).is_err());
        assert_eq!(acknowledge_pain(false), Verdict::Proceed);
        assert_eq!(acknowledge_pain(true), Verdict::AlreadyDone);
    }
}
