//! The one rule that turns a side's view of a session and the next event
//! into the next view: [`SessionView::apply`]. The browser's pages apply
//! every event the live channel brings with it (after a `snapshot` frame),
//! the load generator does the same to check what it followed, and the
//! server's tests check that a snapshot plus the events after it equals a
//! fresh snapshot. Pure: no clock, no I/O.

use crate::{
    live::LiveEvent,
    view::{LoadUnit, LoggedSet, PainReport, Round, SessionStatus, SessionView},
    RoundStatus, SessionEvent,
};

/// What [`SessionView::apply`] did with an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The view changed to include it.
    Changed,
    /// Already in the view (its seq is not past the view's), or about
    /// another session: nothing changed.
    Stale,
    /// Not for this side (a draft, for the athlete): nothing changed. A
    /// server never sends these to the athlete; an old one might.
    NotShown,
}

/// A count from the wire as the view's type (out-of-range counts, which a
/// server never sends, become 0 rather than wrapping).
fn small(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

impl SessionView {
    /// Applies one event of this session, in seq order: the only way a
    /// page's view changes after its snapshot. Events at or before the
    /// view's `last_seq` are ignored, so a replay that overlaps the
    /// snapshot is harmless.
    pub fn apply(&mut self, live: &LiveEvent) -> Applied {
        if live.session_id != self.summary.id || live.seq <= self.summary.last_seq {
            return Applied::Stale;
        }
        if !live.event.visible_to(self.viewer) {
            return Applied::NotShown;
        }
        self.summary.last_seq = live.seq;
        self.now = self.now.max(live.at);
        match &live.event {
            SessionEvent::SessionStarted { .. } => {}
            SessionEvent::SessionJoined { .. } => self.summary.status = SessionStatus::Active,
            SessionEvent::RoundUpdated {
                round_id,
                number,
                status,
                revision,
                is_final,
                released_at,
                exercises,
                ..
            }
            | SessionEvent::RoundReleased {
                round_id,
                number,
                status,
                revision,
                is_final,
                released_at,
                exercises,
                ..
            } => {
                let round = self.round_entry(*round_id, *number);
                round.status = *status;
                round.revision = *revision;
                round.is_final = *is_final;
                round.released_at = *released_at;
                round.exercises = exercises.clone();
            }
            SessionEvent::RoundDeleted { round_id, .. } => {
                self.rounds.retain(|r| r.id != *round_id);
            }
            SessionEvent::SetLogged {
                round_id,
                exercise,
                set,
                reps,
                load,
                unit,
                rpe,
                name,
                target_sets,
                target_reps,
                target_load,
                rest_s,
                logged_at,
                ..
            } => {
                if let Some(round) = self.round_mut(*round_id) {
                    let logged = LoggedSet {
                        exercise: small(*exercise),
                        set: small(*set),
                        name: name.clone(),
                        target_sets: *target_sets,
                        target_reps: *target_reps,
                        target_load: *target_load,
                        unit: unit.as_deref().and_then(LoadUnit::parse),
                        rest_s: *rest_s,
                        reps: reps.map(small),
                        load: *load,
                        rpe: *rpe,
                        logged_at: *logged_at,
                        updated_at: None,
                    };
                    let key = (logged.exercise, logged.set);
                    round.sets.retain(|s| (s.exercise, s.set) != key);
                    let at = round.sets.partition_point(|s| (s.exercise, s.set) < key);
                    round.sets.insert(at, logged);
                }
            }
            SessionEvent::SetUpdated {
                round_id,
                exercise,
                set,
                reps,
                load,
                rpe,
                updated_at,
                ..
            } => {
                let key = (small(*exercise), small(*set));
                if let Some(logged) = self
                    .round_mut(*round_id)
                    .and_then(|r| r.sets.iter_mut().find(|s| (s.exercise, s.set) == key))
                {
                    logged.reps = reps.map(small);
                    logged.load = *load;
                    logged.rpe = *rpe;
                    logged.updated_at = Some(*updated_at);
                }
            }
            SessionEvent::PainReported {
                report_id,
                number,
                exercise,
                set,
                note,
                name,
                reported_at,
                ..
            } => {
                self.pain.retain(|p| p.id != *report_id);
                let at = self.pain.partition_point(|p| p.id < *report_id);
                self.pain.insert(
                    at,
                    PainReport {
                        id: *report_id,
                        round: *number,
                        exercise: small(*exercise),
                        name: name.clone(),
                        set: set.map(small),
                        note: note.clone().unwrap_or_default(),
                        reported_at: *reported_at,
                        acknowledged_at: None,
                    },
                );
            }
            SessionEvent::PainAcknowledged {
                report_id,
                acknowledged_at,
                ..
            } => {
                if let Some(report) = self.pain.iter_mut().find(|p| p.id == *report_id) {
                    report.acknowledged_at = Some(*acknowledged_at);
                }
            }
            SessionEvent::RoundCompleted {
                round_id,
                completed_at,
                feedback,
                ..
            } => {
                let open = self
                    .rounds
                    .iter()
                    .any(|r| r.id == *round_id && r.status != RoundStatus::Completed);
                if open {
                    self.summary.rounds_completed += 1;
                }
                if let Some(round) = self.round_mut(*round_id) {
                    round.status = RoundStatus::Completed;
                    round.completed_at = Some(*completed_at);
                    round.feedback = feedback.clone();
                }
            }
            SessionEvent::SessionCompleted { .. } => {
                self.summary.status = SessionStatus::Completed;
            }
            SessionEvent::SessionCancelled { by, reason } => {
                self.summary.status = SessionStatus::Cancelled;
                self.summary.cancelled_by = Some(*by);
                self.summary.cancel_reason = reason.clone();
            }
        }
        Applied::Changed
    }

    fn round_mut(&mut self, round_id: i64) -> Option<&mut Round> {
        self.rounds.iter_mut().find(|r| r.id == round_id)
    }

    /// The round `round_id`, inserted in number order (empty) if the view
    /// does not have it yet.
    fn round_entry(&mut self, round_id: i64, number: i64) -> &mut Round {
        let index = match self.rounds.iter().position(|r| r.id == round_id) {
            Some(index) => index,
            None => {
                let at = self.rounds.partition_point(|r| r.number < number);
                self.rounds.insert(
                    at,
                    Round {
                        id: round_id,
                        number,
                        status: RoundStatus::Draft,
                        is_final: false,
                        revision: 0,
                        released_at: None,
                        completed_at: None,
                        exercises: Vec::new(),
                        feedback: Vec::new(),
                        sets: Vec::new(),
                    },
                );
                at
            }
        };
        &mut self.rounds[index]
    }
}
