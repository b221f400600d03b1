//! The event contract: every committed change of a session is one
//! [`SessionEvent`]. The server builds it (`server::training`), the event log
//! stores it (`kind` and `data` columns), the PostgreSQL listener and the
//! load generator decode it, and the browser decides from it what to fetch
//! again ([`SessionEvent::visible_to`]) and what to tell the other side
//! ([`SessionEvent::cancel_notice`]). `docs/live-protocol.md` documents it;
//! a test below checks that document's table against this enum.
//!
//! On the wire an event is `"kind": "<kebab-case name>", "data": {fields}`
//! (serde's adjacent tagging), exactly as before it was typed.

use crate::{
    view::{Exercise, Feedback},
    RoundStatus, Side,
};
use serde::{Deserialize, Serialize};

/// One committed change of a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "kebab-case")]
pub enum SessionEvent {
    /// The athlete started a session with a trainer.
    SessionStarted {
        /// Always the athlete.
        by: Side,
        /// The athlete's user id.
        athlete_id: i64,
        /// The trainer's user id.
        trainer_id: i64,
    },
    /// The trainer joined: the session is in progress.
    SessionJoined {
        /// Always the trainer.
        by: Side,
        /// The trainer's user id.
        trainer_id: i64,
    },
    /// A round was created or edited.
    RoundUpdated {
        /// Always the trainer.
        by: Side,
        /// The round's id.
        round_id: i64,
        /// Its number in the session (1, 2, …).
        number: i64,
        /// `draft` or `released`.
        status: RoundStatus,
        /// Its revision after the change.
        revision: i64,
        /// Whether completing it completes the session.
        is_final: bool,
        /// When it was released (ms since the epoch), if it was.
        #[serde(default)]
        released_at: Option<i64>,
        /// Its exercises as they now stand, in order.
        #[serde(default)]
        exercises: Vec<Exercise>,
    },
    /// A draft was released to the athlete.
    RoundReleased {
        /// Always the trainer.
        by: Side,
        /// The round's id.
        round_id: i64,
        /// Its number in the session.
        number: i64,
        /// `released`.
        status: RoundStatus,
        /// The revision the athlete gets.
        revision: i64,
        /// Whether completing it completes the session.
        is_final: bool,
        /// When it was released (ms since the epoch).
        #[serde(default)]
        released_at: Option<i64>,
        /// Its exercises, in order: what the athlete does.
        #[serde(default)]
        exercises: Vec<Exercise>,
    },
    /// A round that was not completed was deleted.
    RoundDeleted {
        /// Always the trainer.
        by: Side,
        /// The deleted round's id.
        round_id: i64,
        /// Its number.
        number: i64,
        /// What it was: `draft` or `released`.
        was: RoundStatus,
    },
    /// The athlete logged a set of the released round as done.
    SetLogged {
        /// Always the athlete.
        by: Side,
        /// The round's id.
        round_id: i64,
        /// Its number in the session.
        number: i64,
        /// The exercise's position in the round (0 is the first).
        exercise: i64,
        /// The set's number (1 is the first).
        set: i64,
        /// Reps done, if given.
        reps: Option<i64>,
        /// Load used, if given, in `unit`.
        load: Option<f64>,
        /// The prescription's load unit (`kg`, `lb`, `bodyweight`,
        /// `percent_1rm`), if it has one.
        unit: Option<String>,
        /// RPE, if given.
        rpe: Option<f64>,
        /// Time done, seconds, if given (a timed exercise).
        #[serde(default)]
        duration_s: Option<u32>,
        /// The exercise's name when the set was logged.
        #[serde(default)]
        name: String,
        /// Sets prescribed then.
        #[serde(default)]
        target_sets: Option<u32>,
        /// Reps prescribed then.
        #[serde(default)]
        target_reps: Option<u32>,
        /// Load prescribed then, in `unit`.
        #[serde(default)]
        target_load: Option<f64>,
        /// Rest prescribed after each set, seconds.
        #[serde(default)]
        rest_s: Option<u32>,
        /// Time per set prescribed then, seconds.
        #[serde(default)]
        target_duration_s: Option<u32>,
        /// When it was logged (ms since the epoch).
        #[serde(default)]
        logged_at: i64,
    },
    /// The athlete corrected a set they had logged (before finishing the
    /// round). Same fields as [`SessionEvent::SetLogged`], with the new values.
    SetUpdated {
        /// Always the athlete.
        by: Side,
        /// The round's id.
        round_id: i64,
        /// Its number in the session.
        number: i64,
        /// The exercise's position in the round (0 is the first).
        exercise: i64,
        /// The set's number (1 is the first).
        set: i64,
        /// Reps done, if given.
        reps: Option<i64>,
        /// Load used, if given, in `unit`.
        load: Option<f64>,
        /// The prescription's load unit, if it has one.
        unit: Option<String>,
        /// RPE, if given.
        rpe: Option<f64>,
        /// Time done, seconds, if given.
        #[serde(default)]
        duration_s: Option<u32>,
        /// When it was corrected (ms since the epoch).
        #[serde(default)]
        updated_at: i64,
    },
    /// The athlete flagged pain on an exercise (or one of its sets) of the
    /// released round: the trainer's page alerts until acknowledged.
    PainReported {
        /// Always the athlete.
        by: Side,
        /// The report's id (what the trainer acknowledges).
        report_id: i64,
        /// The round's id.
        round_id: i64,
        /// Its number in the session.
        number: i64,
        /// The exercise's position in the round (0 is the first).
        exercise: i64,
        /// The set's number, if the pain came in a set.
        set: Option<i64>,
        /// What the athlete said, if anything.
        note: Option<String>,
        /// The exercise's name when it was reported.
        #[serde(default)]
        name: String,
        /// When (ms since the epoch).
        #[serde(default)]
        reported_at: i64,
    },
    /// The trainer acknowledged a pain report: the athlete sees it was seen.
    PainAcknowledged {
        /// Always the trainer.
        by: Side,
        /// The report's id.
        report_id: i64,
        /// When (ms since the epoch).
        #[serde(default)]
        acknowledged_at: i64,
    },
    /// The athlete sent feedback for the released round.
    RoundCompleted {
        /// Always the athlete.
        by: Side,
        /// The round's id.
        round_id: i64,
        /// Its number.
        number: i64,
        /// Whether any exercise was marked as painful.
        pain: bool,
        /// Whether it was the final round.
        is_final: bool,
        /// When (ms since the epoch).
        #[serde(default)]
        completed_at: i64,
        /// The feedback, one per exercise in order.
        #[serde(default)]
        feedback: Vec<Feedback>,
    },
    /// The final round was completed, and with it the session.
    SessionCompleted {
        /// Always the athlete.
        by: Side,
        /// The final round's number.
        final_round: i64,
    },
    /// Either side cancelled the session.
    SessionCancelled {
        /// Who cancelled.
        by: Side,
        /// Why, if they said.
        reason: Option<String>,
    },
    /// Either side wrote a message in the session's thread.
    MessageSent {
        /// Who wrote it.
        by: Side,
        /// The message's id (ids grow with time within a session).
        message_id: i64,
        /// What they wrote (trimmed, 1 to 2,000 characters).
        body: String,
        /// When (ms since the epoch).
        sent_at: i64,
    },
    /// One side had the other side's messages on screen, up to this one
    /// (a read receipt: never for an earlier message than the last one).
    MessagesRead {
        /// Who read them.
        by: Side,
        /// The newest message of the other side they read.
        message_id: i64,
        /// When (ms since the epoch).
        read_at: i64,
    },
    /// The athlete had a released round on screen, at this revision (a
    /// receipt: never for an earlier revision than the last one).
    RoundOpened {
        /// Always the athlete.
        by: Side,
        /// The round's id.
        round_id: i64,
        /// Its number.
        number: i64,
        /// The revision they saw.
        revision: i64,
        /// When (ms since the epoch).
        opened_at: i64,
    },
}

impl SessionEvent {
    /// Every kind, in the order the protocol document lists them.
    pub const KINDS: [&'static str; 15] = [
        "session-started",
        "session-joined",
        "round-updated",
        "round-released",
        "round-deleted",
        "set-logged",
        "set-updated",
        "pain-reported",
        "pain-acknowledged",
        "round-completed",
        "session-completed",
        "session-cancelled",
        "message-sent",
        "messages-read",
        "round-opened",
    ];

    /// The `kind` on the wire and in the log.
    pub fn kind(&self) -> &'static str {
        match self {
            SessionEvent::SessionStarted { .. } => "session-started",
            SessionEvent::SessionJoined { .. } => "session-joined",
            SessionEvent::RoundUpdated { .. } => "round-updated",
            SessionEvent::RoundReleased { .. } => "round-released",
            SessionEvent::RoundDeleted { .. } => "round-deleted",
            SessionEvent::SetLogged { .. } => "set-logged",
            SessionEvent::SetUpdated { .. } => "set-updated",
            SessionEvent::PainReported { .. } => "pain-reported",
            SessionEvent::PainAcknowledged { .. } => "pain-acknowledged",
            SessionEvent::RoundCompleted { .. } => "round-completed",
            SessionEvent::SessionCompleted { .. } => "session-completed",
            SessionEvent::SessionCancelled { .. } => "session-cancelled",
            SessionEvent::MessageSent { .. } => "message-sent",
            SessionEvent::MessagesRead { .. } => "messages-read",
            SessionEvent::RoundOpened { .. } => "round-opened",
        }
    }

    /// Who caused it.
    pub fn by(&self) -> Side {
        match self {
            SessionEvent::SessionStarted { by, .. }
            | SessionEvent::SessionJoined { by, .. }
            | SessionEvent::RoundUpdated { by, .. }
            | SessionEvent::RoundReleased { by, .. }
            | SessionEvent::RoundDeleted { by, .. }
            | SessionEvent::SetLogged { by, .. }
            | SessionEvent::SetUpdated { by, .. }
            | SessionEvent::PainReported { by, .. }
            | SessionEvent::PainAcknowledged { by, .. }
            | SessionEvent::RoundCompleted { by, .. }
            | SessionEvent::SessionCompleted { by, .. }
            | SessionEvent::SessionCancelled { by, .. }
            | SessionEvent::MessageSent { by, .. }
            | SessionEvent::MessagesRead { by, .. }
            | SessionEvent::RoundOpened { by, .. } => *by,
        }
    }

    /// The `data` object, as stored in the log's `payload` column.
    pub fn data(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut tagged)) => {
                tagged.remove("data").unwrap_or(serde_json::Value::Null)
            }
            _ => serde_json::Value::Null,
        }
    }

    /// Reads an event back from its `kind` and `data` (the log's columns, a
    /// notification's fields).
    pub fn from_parts(kind: &str, data: serde_json::Value) -> Result<SessionEvent, String> {
        serde_json::from_value(serde_json::json!({ "kind": kind, "data": data }))
            .map_err(|e| format!("event {kind:?}: {e}"))
    }

    /// Whether `side`'s session page shows what this event changed, so it
    /// must fetch again. Drafts are the trainer's alone. A side's own
    /// changes count too: another tab or device of the same person must show
    /// them.
    pub fn visible_to(&self, side: Side) -> bool {
        match self {
            SessionEvent::RoundUpdated { status, .. } => status.visible_to(side),
            SessionEvent::RoundDeleted { was, .. } => was.visible_to(side),
            _ => true,
        }
    }

    /// For a cancel: who cancelled and why (the notice the other side sees
    /// on its dashboard).
    pub fn cancel_notice(&self) -> Option<(Side, Option<String>)> {
        match self {
            SessionEvent::SessionCancelled { by, reason } => Some((*by, reason.clone())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn exercise() -> Exercise {
        Exercise {
            name: "Back squat".into(),
            sets: Some(3),
            reps: Some(8),
            load: Some(60.0),
            load_unit: Some(crate::view::LoadUnit::Kg),
            duration_s: None,
            rest_s: Some(90),
            notes: String::new(),
        }
    }

    /// One of each kind.
    pub(crate) fn examples() -> Vec<SessionEvent> {
        use SessionEvent::*;
        let (round_id, number) = (7, 2);
        vec![
            SessionStarted {
                by: Side::Athlete,
                athlete_id: 1,
                trainer_id: 2,
            },
            SessionJoined {
                by: Side::Trainer,
                trainer_id: 2,
            },
            RoundUpdated {
                by: Side::Trainer,
                round_id,
                number,
                status: RoundStatus::Draft,
                revision: 3,
                is_final: false,
                released_at: None,
                exercises: vec![exercise()],
            },
            RoundReleased {
                by: Side::Trainer,
                round_id,
                number,
                status: RoundStatus::Released,
                revision: 3,
                is_final: true,
                released_at: Some(1_795_400_000_000),
                exercises: vec![exercise()],
            },
            RoundDeleted {
                by: Side::Trainer,
                round_id,
                number,
                was: RoundStatus::Released,
            },
            SetLogged {
                by: Side::Athlete,
                round_id,
                number,
                exercise: 0,
                set: 1,
                reps: Some(8),
                load: Some(62.5),
                unit: Some("kg".into()),
                rpe: Some(7.5),
                duration_s: None,
                name: "Back squat".into(),
                target_sets: Some(3),
                target_reps: Some(8),
                target_load: Some(60.0),
                rest_s: Some(90),
                target_duration_s: None,
                logged_at: 1_795_400_001_000,
            },
            SetUpdated {
                by: Side::Athlete,
                round_id,
                number,
                exercise: 0,
                set: 1,
                reps: Some(6),
                load: None,
                unit: None,
                rpe: None,
                duration_s: Some(30),
                updated_at: 1_795_400_002_000,
            },
            PainReported {
                by: Side::Athlete,
                report_id: 3,
                round_id,
                number,
                exercise: 0,
                set: Some(2),
                note: Some("Left knee".into()),
                name: "Back squat".into(),
                reported_at: 1_795_400_003_000,
            },
            PainAcknowledged {
                by: Side::Trainer,
                report_id: 3,
                acknowledged_at: 1_795_400_004_000,
            },
            RoundCompleted {
                by: Side::Athlete,
                round_id,
                number,
                pain: true,
                is_final: true,
                completed_at: 1_795_400_005_000,
                feedback: vec![Feedback {
                    prescription: exercise(),
                    sets_done: Some(3),
                    reps_done: Some(8),
                    load_used: Some(60.0),
                    duration_done_s: None,
                    rpe: Some(8.0),
                    pain: true,
                    notes: "Knee".into(),
                }],
            },
            SessionCompleted {
                by: Side::Athlete,
                final_round: 2,
            },
            SessionCancelled {
                by: Side::Trainer,
                reason: Some("Sick".into()),
            },
            MessageSent {
                by: Side::Trainer,
                message_id: 5,
                body: "Drop to 90 kg for the last set".into(),
                sent_at: 1_795_400_006_000,
            },
            MessagesRead {
                by: Side::Athlete,
                message_id: 5,
                read_at: 1_795_400_006_500,
            },
            RoundOpened {
                by: Side::Athlete,
                round_id,
                number,
                revision: 2,
                opened_at: 1_795_400_007_000,
            },
        ]
    }

    /// `docs/live-protocol.md`'s "Event kinds" table: kind → data fields
    /// (the backticked names in the second column, outside parentheses).
    fn documented() -> Vec<(String, BTreeSet<String>)> {
        let doc = include_str!("../../docs/live-protocol.md");
        let table = doc
            .split("### Event kinds")
            .nth(1)
            .expect("the protocol document has an \"Event kinds\" section");
        let mut rows = Vec::new();
        for line in table.lines().skip_while(|l| !l.starts_with('|')) {
            if !line.starts_with('|') {
                break;
            }
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let kind = cells[1].trim_matches('`');
            if kind == "kind" || kind.starts_with("---") {
                continue;
            }
            let mut fields = BTreeSet::new();
            let mut depth = 0;
            let mut name: Option<String> = None;
            for c in cells[2].chars() {
                match (c, &mut name) {
                    ('(', None) => depth += 1,
                    (')', None) => depth -= 1,
                    ('`', None) if depth == 0 => name = Some(String::new()),
                    ('`', Some(n)) => {
                        fields.insert(std::mem::take(n));
                        name = None;
                    }
                    (c, Some(n)) => n.push(c),
                    _ => {}
                }
            }
            rows.push((kind.to_string(), fields));
        }
        rows
    }

    #[test]
    fn the_protocol_document_lists_every_kind_with_its_fields() {
        let documented = documented();
        let kinds: Vec<&str> = documented.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds, SessionEvent::KINDS, "kinds in the document");
        let examples = examples();
        let example_kinds: Vec<&str> = examples.iter().map(SessionEvent::kind).collect();
        assert_eq!(example_kinds, SessionEvent::KINDS, "one example per kind");
        for (event, (kind, fields)) in examples.iter().zip(&documented) {
            let wire = serde_json::to_value(event).unwrap();
            assert_eq!(wire["kind"], kind.as_str(), "serde's name is kind()");
            let sent: BTreeSet<String> = wire["data"]
                .as_object()
                .expect("data is an object")
                .keys()
                .cloned()
                .collect();
            assert_eq!(&sent, fields, "fields of {kind}");
        }
    }

    #[test]
    fn an_event_reads_back_from_its_log_columns() {
        for event in examples() {
            let back = SessionEvent::from_parts(event.kind(), event.data()).unwrap();
            assert_eq!(back, event);
        }
        // The exact JSON the log held before events were typed.
        let old = serde_json::json!({"by": "trainer", "round_id": 4, "number": 1, "status": "draft", "revision": 1, "is_final": false});
        assert!(matches!(
            SessionEvent::from_parts("round-updated", old),
            Ok(SessionEvent::RoundUpdated { round_id: 4, .. })
        ));
        assert!(SessionEvent::from_parts("round-exploded", serde_json::json!({})).is_err());
    }

    #[test]
    fn cancels_carry_who_and_why() {
        let cancel = SessionEvent::SessionCancelled {
            by: Side::Trainer,
            reason: Some("Gym closes".into()),
        };
        assert_eq!(
            cancel.cancel_notice(),
            Some((Side::Trainer, Some("Gym closes".into())))
        );
        for other in examples()
            .iter()
            .filter(|e| e.kind() != "session-cancelled")
        {
            assert_eq!(other.cancel_notice(), None, "{}", other.kind());
        }
    }

    #[test]
    fn pages_refetch_on_every_change_they_show_but_athletes_never_for_drafts() {
        for event in examples() {
            assert!(event.visible_to(Side::Trainer), "{}", event.kind());
            let draft = matches!(
                event,
                SessionEvent::RoundUpdated {
                    status: RoundStatus::Draft,
                    ..
                }
            );
            assert_eq!(event.visible_to(Side::Athlete), !draft, "{}", event.kind());
        }
        let deleted_draft = SessionEvent::RoundDeleted {
            by: Side::Trainer,
            round_id: 1,
            number: 1,
            was: RoundStatus::Draft,
        };
        assert!(!deleted_draft.visible_to(Side::Athlete));
    }
}
