//! The one rule that turns a side's view of a session and the next event
//! into the next view: [`SessionView::apply`]. The browser's pages apply
//! every event the live channel brings with it (after a `snapshot` frame),
//! the load generator does the same to check what it followed, and the
//! server's tests check that a snapshot plus the events after it equals a
//! fresh snapshot. Pure: no clock, no I/O.

use crate::{
    live::LiveEvent,
    view::{
        LoadUnit, LoggedSet, Message, Opened, PainReport, Read, Round, SessionStatus, SessionView,
        MESSAGES_SHOWN,
    },
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
                duration_s,
                name,
                target_sets,
                target_reps,
                target_load,
                rest_s,
                target_duration_s,
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
                        target_duration_s: *target_duration_s,
                        reps: reps.map(small),
                        load: *load,
                        duration_s: *duration_s,
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
                duration_s,
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
                    logged.duration_s = *duration_s;
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
            SessionEvent::MessageSent {
                by,
                message_id,
                body,
                sent_at,
            } => {
                if !self.messages.iter().any(|m| m.id == *message_id) {
                    let at = self.messages.partition_point(|m| m.id < *message_id);
                    self.messages.insert(
                        at,
                        Message {
                            id: *message_id,
                            by: *by,
                            body: body.clone(),
                            sent_at: *sent_at,
                        },
                    );
                    // The view holds the newest, as a snapshot does.
                    let over = self.messages.len().saturating_sub(MESSAGES_SHOWN);
                    self.messages.drain(..over);
                }
            }
            SessionEvent::MessagesRead {
                by,
                message_id,
                read_at,
            } => {
                // Never backwards.
                let read = self.reads.of_mut(*by);
                if read.is_none_or(|r| r.message_id < *message_id) {
                    *read = Some(Read {
                        message_id: *message_id,
                        at: *read_at,
                    });
                }
            }
            SessionEvent::RoundOpened {
                round_id,
                revision,
                opened_at,
                ..
            } => {
                if let Some(round) = self.rounds.iter_mut().find(|r| r.id == *round_id) {
                    if round.opened.is_none_or(|o| o.revision < *revision) {
                        round.opened = Some(Opened {
                            revision: *revision,
                            at: *opened_at,
                        });
                    }
                }
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
                        opened: None,
                    },
                );
                at
            }
        };
        &mut self.rounds[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        view::{Exercise, SessionSummary},
        Side,
    };

    fn view(viewer: Side) -> SessionView {
        SessionView {
            summary: SessionSummary {
                id: 7,
                athlete_name: "Andy".into(),
                trainer_name: "Tina".into(),
                status: SessionStatus::Active,
                created_at: 1,
                cancelled_by: None,
                cancel_reason: None,
                rounds_completed: 0,
                last_seq: 2,
            },
            viewer,
            rounds: Vec::new(),
            now: 0,
            pain: Vec::new(),
            messages: Vec::new(),
            reads: Default::default(),
        }
    }

    fn squat() -> Exercise {
        Exercise {
            name: "Back squat".into(),
            sets: Some(3),
            reps: Some(5),
            load: Some(100.0),
            load_unit: Some(LoadUnit::Kg),
            duration_s: None,
            rest_s: Some(90),
            notes: String::new(),
        }
    }

    fn live(seq: i64, event: SessionEvent) -> LiveEvent {
        LiveEvent {
            seq,
            session_id: 7,
            at: 1000 + seq,
            event,
        }
    }

    fn round(status: RoundStatus, round_id: i64, number: i64) -> SessionEvent {
        let (by, revision, is_final, exercises) = (Side::Trainer, 1, false, vec![squat()]);
        match status {
            RoundStatus::Released => SessionEvent::RoundReleased {
                by,
                round_id,
                number,
                status,
                revision,
                is_final,
                released_at: Some(5),
                exercises,
            },
            _ => SessionEvent::RoundUpdated {
                by,
                round_id,
                number,
                status,
                revision,
                is_final,
                released_at: None,
                exercises,
            },
        }
    }

    fn set(seq: i64, number: i64, reps: i64) -> LiveEvent {
        live(
            seq,
            SessionEvent::SetLogged {
                by: Side::Athlete,
                round_id: 1,
                number: 1,
                exercise: 0,
                set: number,
                reps: Some(reps),
                load: Some(100.0),
                unit: Some("kg".into()),
                rpe: None,
                duration_s: None,
                name: "Back squat".into(),
                target_sets: Some(3),
                target_reps: Some(5),
                target_load: Some(100.0),
                rest_s: Some(90),
                target_duration_s: None,
                logged_at: 1000 + seq,
            },
        )
    }

    #[test]
    fn an_athlete_view_ignores_drafts_and_old_events_and_keeps_its_position() {
        let mut athlete = view(Side::Athlete);
        let draft = live(3, round(RoundStatus::Draft, 1, 1));
        assert_eq!(athlete.apply(&draft), Applied::NotShown);
        assert_eq!(athlete.summary.last_seq, 2, "a draft moves nothing");
        assert_eq!(
            athlete.apply(&live(2, round(RoundStatus::Released, 1, 1))),
            Applied::Stale
        );
        let mut other = live(4, round(RoundStatus::Released, 1, 1));
        other.session_id = 8;
        assert_eq!(athlete.apply(&other), Applied::Stale, "another session's");
        assert_eq!(
            athlete.apply(&live(4, round(RoundStatus::Released, 1, 1))),
            Applied::Changed
        );
        assert_eq!(athlete.rounds[0].exercises, vec![squat()]);
        assert_eq!(athlete.rounds[0].released_at, Some(5));
        assert_eq!((athlete.summary.last_seq, athlete.now), (4, 1004));
    }

    #[test]
    fn rounds_stay_in_number_order_and_sets_in_set_order() {
        let mut trainer = view(Side::Trainer);
        trainer.apply(&live(3, round(RoundStatus::Draft, 2, 2)));
        trainer.apply(&live(4, round(RoundStatus::Released, 1, 1)));
        let numbers: Vec<i64> = trainer.rounds.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [1, 2]);
        trainer.apply(&set(5, 2, 5));
        trainer.apply(&set(6, 1, 4));
        let sets: Vec<u32> = trainer.rounds[0].sets.iter().map(|s| s.set).collect();
        assert_eq!(sets, [1, 2]);
        trainer.apply(&live(
            7,
            SessionEvent::SetUpdated {
                by: Side::Athlete,
                round_id: 1,
                number: 1,
                exercise: 0,
                set: 1,
                reps: Some(3),
                load: None,
                unit: Some("kg".into()),
                rpe: Some(9.0),
                duration_s: Some(30),
                updated_at: 1007,
            },
        ));
        let first = &trainer.rounds[0].sets[0];
        assert_eq!(first.duration_s, Some(30));
        assert_eq!(
            (first.reps, first.load, first.rpe),
            (Some(3), None, Some(9.0))
        );
        assert_eq!((first.logged_at, first.updated_at), (1006, Some(1007)));
        assert_eq!(first.target_reps, Some(5), "the targets stay as logged");
    }

    #[test]
    fn a_completed_round_counts_once_and_a_cancel_says_who_and_why() {
        let mut athlete = view(Side::Athlete);
        athlete.apply(&live(3, round(RoundStatus::Released, 1, 1)));
        let completed = |seq| {
            live(
                seq,
                SessionEvent::RoundCompleted {
                    by: Side::Athlete,
                    round_id: 1,
                    number: 1,
                    pain: false,
                    is_final: false,
                    completed_at: 99,
                    feedback: Vec::new(),
                },
            )
        };
        athlete.apply(&completed(4));
        athlete.apply(&completed(5));
        assert_eq!(athlete.summary.rounds_completed, 1);
        assert_eq!(athlete.rounds[0].status, RoundStatus::Completed);
        athlete.apply(&live(
            6,
            SessionEvent::SessionCancelled {
                by: Side::Trainer,
                reason: Some("Gym closes".into()),
            },
        ));
        assert_eq!(athlete.summary.status, SessionStatus::Cancelled);
        assert_eq!(athlete.summary.cancelled_by, Some(Side::Trainer));
        assert_eq!(athlete.summary.cancel_reason.as_deref(), Some("Gym closes"));
    }

    #[test]
    fn pain_is_reported_in_id_order_and_acknowledged() {
        let mut trainer = view(Side::Trainer);
        let report = |seq, report_id| {
            live(
                seq,
                SessionEvent::PainReported {
                    by: Side::Athlete,
                    report_id,
                    round_id: 1,
                    number: 1,
                    exercise: 0,
                    set: None,
                    note: None,
                    name: "Back squat".into(),
                    reported_at: 50,
                },
            )
        };
        trainer.apply(&report(3, 9));
        trainer.apply(&report(4, 4));
        trainer.apply(&live(
            5,
            SessionEvent::PainAcknowledged {
                by: Side::Trainer,
                report_id: 9,
                acknowledged_at: 60,
            },
        ));
        let ids: Vec<(i64, Option<i64>)> = trainer
            .pain
            .iter()
            .map(|p| (p.id, p.acknowledged_at))
            .collect();
        assert_eq!(ids, [(4, None), (9, Some(60))]);
        assert_eq!(trainer.pain[0].note, "", "no note reads as empty");
    }

    #[test]
    fn messages_join_the_thread_in_id_order_once_and_only_the_newest_stay() {
        let mut athlete = view(Side::Athlete);
        let message = |seq, id| {
            live(
                seq,
                SessionEvent::MessageSent {
                    by: Side::Trainer,
                    message_id: id,
                    body: format!("message {id}"),
                    sent_at: 100 + id,
                },
            )
        };
        assert_eq!(athlete.apply(&message(3, 20)), Applied::Changed);
        assert_eq!(athlete.apply(&message(4, 10)), Applied::Changed);
        // The same message again (a replay past a reset): kept once.
        assert_eq!(athlete.apply(&message(5, 20)), Applied::Changed);
        let ids: Vec<i64> = athlete.messages.iter().map(|m| m.id).collect();
        assert_eq!(ids, [10, 20]);
        assert_eq!(athlete.messages[1].by, Side::Trainer);
        for n in 0..MESSAGES_SHOWN as i64 {
            athlete.apply(&message(6 + n, 100 + n));
        }
        assert_eq!(
            athlete.messages.len(),
            MESSAGES_SHOWN,
            "as a snapshot holds"
        );
        assert_eq!(athlete.messages[0].id, 100, "the oldest went first");
    }

    #[test]
    fn receipts_never_go_backwards_and_count_what_is_unread() {
        let mut trainer = view(Side::Trainer);
        let from_athlete = |seq, id| {
            live(
                seq,
                SessionEvent::MessageSent {
                    by: Side::Athlete,
                    message_id: id,
                    body: format!("message {id}"),
                    sent_at: 100 + id,
                },
            )
        };
        let read = |seq, by, id| {
            live(
                seq,
                SessionEvent::MessagesRead {
                    by,
                    message_id: id,
                    read_at: 1_000 + seq,
                },
            )
        };
        trainer.apply(&from_athlete(3, 10));
        trainer.apply(&from_athlete(4, 11));
        assert_eq!(trainer.unread(), 2);
        trainer.apply(&read(5, Side::Trainer, 10));
        assert_eq!(trainer.unread(), 1);
        // An older receipt arriving late changes nothing.
        trainer.apply(&read(6, Side::Trainer, 11));
        trainer.apply(&read(7, Side::Trainer, 10));
        assert_eq!(
            trainer.reads.trainer,
            Some(Read {
                message_id: 11,
                at: 1_006
            })
        );
        assert_eq!(trainer.unread(), 0);
        // The athlete's receipt is theirs: the trainer's count is its own.
        trainer.apply(&read(8, Side::Athlete, 3));
        assert_eq!(trainer.reads.athlete.map(|r| r.message_id), Some(3));

        trainer.apply(&live(9, round(RoundStatus::Released, 31, 1)));
        let opened = |seq, revision| {
            live(
                seq,
                SessionEvent::RoundOpened {
                    by: Side::Athlete,
                    round_id: 31,
                    number: 1,
                    revision,
                    opened_at: 2_000 + seq,
                },
            )
        };
        trainer.apply(&opened(10, 2));
        trainer.apply(&opened(11, 1));
        assert_eq!(
            trainer.rounds[0].opened,
            Some(Opened {
                revision: 2,
                at: 2_010
            }),
            "revision 1 after revision 2 changes nothing"
        );
        // A receipt for a round the view does not have is harmless.
        trainer.apply(&live(
            12,
            SessionEvent::RoundOpened {
                by: Side::Athlete,
                round_id: 99,
                number: 9,
                revision: 1,
                opened_at: 1,
            },
        ));
        assert_eq!(trainer.rounds.len(), 1);
    }
}
