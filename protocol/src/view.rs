//! What a session looks like to one of its sides: the read model both pages
//! render ([`SessionView`]) and every shape in it (rounds, exercises, logged
//! sets, feedback, pain reports), with their formatting for people. The live
//! channel carries these shapes: a `snapshot` frame holds a whole
//! [`SessionView`], each event the part that changed, and
//! [`SessionView::apply`] (in [`crate::state`]) turns one into the next.
//! Only serde; no server, no browser.

use crate::{RoundStatus, Side};
use serde::{Deserialize, Serialize};

/// Where a training session is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// Started by the athlete; the trainer has not joined yet.
    Waiting,
    /// Both are in; rounds can be built, released and completed.
    Active,
    /// The final round was completed.
    Completed,
    /// Ended early by one side.
    Cancelled,
}

impl SessionStatus {
    /// Database value.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Waiting => "waiting",
            SessionStatus::Active => "active",
            SessionStatus::Completed => "completed",
            SessionStatus::Cancelled => "cancelled",
        }
    }
    /// Parses a database value.
    pub fn parse(value: &str) -> Option<SessionStatus> {
        Some(match value {
            "waiting" => SessionStatus::Waiting,
            "active" => SessionStatus::Active,
            "completed" => SessionStatus::Completed,
            "cancelled" => SessionStatus::Cancelled,
            _ => return None,
        })
    }
    /// Word shown to people.
    pub fn label(self) -> &'static str {
        match self {
            SessionStatus::Waiting => "Waiting for the trainer",
            SessionStatus::Active => "In progress",
            SessionStatus::Completed => "Completed",
            SessionStatus::Cancelled => "Cancelled",
        }
    }
    /// Completed or cancelled: nothing changes any more.
    pub fn has_ended(self) -> bool {
        matches!(self, SessionStatus::Completed | SessionStatus::Cancelled)
    }
}

/// The unit a load is given in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadUnit {
    /// Kilograms.
    Kg,
    /// Pounds.
    Lb,
    /// Bodyweight; a value means weight added to it.
    Bodyweight,
    /// Percent of the athlete's one-rep maximum.
    PercentOneRm,
}

impl LoadUnit {
    /// All units, in the order forms list them.
    pub const ALL: [LoadUnit; 4] = [
        LoadUnit::Kg,
        LoadUnit::Lb,
        LoadUnit::Bodyweight,
        LoadUnit::PercentOneRm,
    ];
    /// Database and form value.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadUnit::Kg => "kg",
            LoadUnit::Lb => "lb",
            LoadUnit::Bodyweight => "bodyweight",
            LoadUnit::PercentOneRm => "percent_1rm",
        }
    }
    /// Parses a database or form value.
    pub fn parse(value: &str) -> Option<LoadUnit> {
        LoadUnit::ALL
            .into_iter()
            .find(|u| u.as_str() == value.trim())
    }
    /// Word shown in the unit picker.
    pub fn label(self) -> &'static str {
        match self {
            LoadUnit::Kg => "kg",
            LoadUnit::Lb => "lb",
            LoadUnit::Bodyweight => "bodyweight",
            LoadUnit::PercentOneRm => "% of 1RM",
        }
    }
    /// A load in this unit, for reading: "80 kg", "BW + 10", "75% 1RM".
    pub fn show(self, value: Option<f64>) -> String {
        let number = value.map(format_number);
        match (self, number) {
            (LoadUnit::Bodyweight, None) => "bodyweight".into(),
            (LoadUnit::Bodyweight, Some(n)) => format!("bodyweight + {n}"),
            (LoadUnit::PercentOneRm, Some(n)) => format!("{n}% 1RM"),
            (unit, Some(n)) => format!("{n} {}", unit.as_str()),
            (_, None) => String::new(),
        }
    }
}

/// 80 rather than 80.0, 82.5 as is.
pub fn format_number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// Seconds for reading: "45 s", "2 min", "1 min 30 s".
pub fn format_seconds(seconds: u32) -> String {
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

/// One exercise as prescribed by the trainer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exercise {
    /// What to do: "Back squat".
    pub name: String,
    /// Number of sets.
    pub sets: Option<u32>,
    /// Reps per set.
    pub reps: Option<u32>,
    /// Load value, in `load_unit`.
    pub load: Option<f64>,
    /// Unit of `load`; set whenever `load` is, or for bodyweight.
    pub load_unit: Option<LoadUnit>,
    /// Time per set, seconds.
    pub duration_s: Option<u32>,
    /// Rest after each set, seconds.
    pub rest_s: Option<u32>,
    /// The trainer's notes.
    pub notes: String,
}

/// "3 × 8", "8 reps", "3 sets", or nothing: a prescription's or a
/// report's sets and reps.
pub fn sets_and_reps(sets: Option<u32>, reps: Option<u32>) -> Option<String> {
    match (sets, reps) {
        (Some(s), Some(r)) => Some(format!("{s} × {r}")),
        (None, Some(r)) => Some(format!("{r} reps")),
        (Some(s), None) => Some(format!("{s} sets")),
        (None, None) => None,
    }
}

impl Exercise {
    /// "3 × 8 · 80 kg · rest 2 min": the prescription on one line.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = sets_and_reps(self.sets, self.reps).into_iter().collect();
        if let Some(d) = self.duration_s {
            parts.push(format_seconds(d));
        }
        if let Some(unit) = self.load_unit {
            let load = unit.show(self.load);
            if !load.is_empty() {
                parts.push(load);
            }
        }
        if let Some(r) = self.rest_s {
            parts.push(format!("rest {}", format_seconds(r)));
        }
        parts.join(" · ")
    }
}

/// What the athlete reports for one exercise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// The exercise as it was prescribed when the feedback was given.
    pub prescription: Exercise,
    /// Sets done.
    pub sets_done: Option<u32>,
    /// Reps done (per set).
    pub reps_done: Option<u32>,
    /// Load used, in the prescription's unit.
    pub load_used: Option<f64>,
    /// Time held or worked per set, seconds (for exercises with a duration).
    #[serde(default)]
    pub duration_done_s: Option<u32>,
    /// Rate of perceived exertion, 0–10 in steps of 0.5.
    pub rpe: Option<f64>,
    /// Pain or discomfort.
    pub pain: bool,
    /// The athlete's notes.
    pub notes: String,
}

impl Feedback {
    /// What was done, as the trainer reads it: "3 × 8 · 60 kg", or "—".
    pub fn done(&self) -> String {
        let mut parts: Vec<String> = sets_and_reps(self.sets_done, self.reps_done)
            .into_iter()
            .collect();
        if let Some(seconds) = self.duration_done_s {
            parts.push(format_seconds(seconds));
        }
        if let Some(load) = self.load_used {
            let unit = self
                .prescription
                .load_unit
                .map(|u| u.show(Some(load)))
                .unwrap_or_else(|| format_number(load));
            parts.push(unit);
        }
        if parts.is_empty() {
            "—".into()
        } else {
            parts.join(" · ")
        }
    }
}

/// A round as either side sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Round {
    /// Database id.
    pub id: i64,
    /// 1, 2, … within the session.
    pub number: i64,
    /// Draft, released or completed.
    pub status: RoundStatus,
    /// Completing it completes the session.
    pub is_final: bool,
    /// Bumped on every edit.
    pub revision: i64,
    /// When it was released (ms since epoch).
    pub released_at: Option<i64>,
    /// When it was completed (ms since epoch).
    pub completed_at: Option<i64>,
    /// In order.
    pub exercises: Vec<Exercise>,
    /// One per exercise once completed, in the same order.
    pub feedback: Vec<Feedback>,
    /// The sets logged so far, by exercise then set.
    #[serde(default)]
    pub sets: Vec<LoggedSet>,
    /// The newest revision the athlete had on screen, and when (a
    /// receipt; `None` until they open it).
    #[serde(default)]
    pub opened: Option<Opened>,
}

/// A receipt for a round: the revision the athlete saw, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opened {
    /// The round's revision then.
    pub revision: i64,
    /// When (ms since the epoch).
    pub at: i64,
}

/// A session's header facts, for lists and for the session pages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// Database id.
    pub id: i64,
    /// Athlete's display name.
    pub athlete_name: String,
    /// Trainer's display name.
    pub trainer_name: String,
    /// Where it is.
    pub status: SessionStatus,
    /// Started (ms since epoch).
    pub created_at: i64,
    /// Who cancelled, if cancelled.
    pub cancelled_by: Option<Side>,
    /// Why, if they said.
    pub cancel_reason: Option<String>,
    /// Completed rounds so far.
    pub rounds_completed: i64,
    /// The seq of the session's last event: what this data reflects, and
    /// where a live connection resumes from.
    pub last_seq: i64,
}

impl SessionSummary {
    /// Who cancelled it and why, as `viewer` reads it: "Tina Trainer
    /// cancelled the session: “Gym closes early”." ("You cancelled …" for
    /// the viewer's own cancel). `None` unless it was cancelled.
    pub fn cancel_notice(&self, viewer: Side) -> Option<String> {
        if self.status != SessionStatus::Cancelled {
            return None;
        }
        let who = match self.cancelled_by {
            Some(side) if side == viewer => "You",
            Some(Side::Trainer) => &self.trainer_name,
            Some(Side::Athlete) => &self.athlete_name,
            None => "Someone",
        };
        let reason = self
            .cancel_reason
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| format!(": “{r}”"))
            .unwrap_or_default();
        Some(format!("{who} cancelled the session{reason}."))
    }
}

/// A whole session as one side sees it: the athlete never sees drafts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    /// Header facts.
    pub summary: SessionSummary,
    /// Which side the viewer is on.
    pub viewer: Side,
    /// Rounds in number order (drafts only for the trainer).
    pub rounds: Vec<Round>,
    /// The server's clock when this was read (ms since the epoch): how old
    /// a logged set is, without trusting the browser's clock.
    #[serde(default)]
    pub now: i64,
    /// Pain the athlete reported in this session, oldest first.
    #[serde(default)]
    pub pain: Vec<PainReport>,
    /// The session's thread: its newest messages ([`MESSAGES_SHOWN`] at
    /// most when read; the live channel adds each new one), oldest first.
    #[serde(default)]
    pub messages: Vec<Message>,
    /// How far each side has read the other's messages (read receipts).
    #[serde(default)]
    pub reads: Reads,
}

/// Each side's newest read receipt for the other side's messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reads {
    /// The athlete's (of the trainer's messages).
    pub athlete: Option<Read>,
    /// The trainer's (of the athlete's messages).
    pub trainer: Option<Read>,
}

impl Reads {
    /// `side`'s receipt.
    pub fn of(&self, side: Side) -> Option<Read> {
        match side {
            Side::Athlete => self.athlete,
            Side::Trainer => self.trainer,
        }
    }

    /// `side`'s receipt, to change.
    pub fn of_mut(&mut self, side: Side) -> &mut Option<Read> {
        match side {
            Side::Athlete => &mut self.athlete,
            Side::Trainer => &mut self.trainer,
        }
    }
}

/// A read receipt: the other side's messages up to this one were on the
/// reader's screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Read {
    /// The newest of them.
    pub message_id: i64,
    /// When (ms since the epoch).
    pub at: i64,
}

/// How many of a session's newest messages a snapshot carries.
pub const MESSAGES_SHOWN: usize = 50;

/// A message either side wrote in the session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Its id (ids grow with time within a session).
    pub id: i64,
    /// Who wrote it.
    pub by: Side,
    /// What they wrote.
    pub body: String,
    /// When (ms since the epoch, the server's clock).
    pub sent_at: i64,
}

impl SessionView {
    /// Messages of the other side the viewer has not read yet (of those
    /// in the view).
    pub fn unread(&self) -> usize {
        let read = self.reads.of(self.viewer).map_or(0, |r| r.message_id);
        self.messages
            .iter()
            .filter(|m| m.by != self.viewer && m.id > read)
            .count()
    }

    /// Pain reports the trainer has not acknowledged yet.
    pub fn unacknowledged_pain(&self) -> impl Iterator<Item = &PainReport> {
        self.pain.iter().filter(|p| p.acknowledged_at.is_none())
    }
}

impl SessionView {
    /// The round the athlete is doing now, if any.
    pub fn released_round(&self) -> Option<&Round> {
        self.rounds
            .iter()
            .find(|r| r.status == RoundStatus::Released)
    }
    /// The trainer's draft, if any.
    pub fn draft_round(&self) -> Option<&Round> {
        self.rounds.iter().find(|r| r.status == RoundStatus::Draft)
    }
    /// Completed rounds, newest last.
    pub fn completed_rounds(&self) -> impl DoubleEndedIterator<Item = &Round> {
        self.rounds
            .iter()
            .filter(|r| r.status == RoundStatus::Completed)
    }
}

/// One set the athlete logged, with the prescription's targets it answers
/// (copied when it was logged).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedSet {
    /// The exercise's position in the round (0 is the first).
    pub exercise: u32,
    /// The set's number (1 is the first).
    pub set: u32,
    /// The exercise's name when the set was logged.
    pub name: String,
    /// Sets prescribed then.
    pub target_sets: Option<u32>,
    /// Reps prescribed then.
    pub target_reps: Option<u32>,
    /// Load prescribed then, in `unit`.
    pub target_load: Option<f64>,
    /// The prescription's load unit.
    pub unit: Option<LoadUnit>,
    /// Rest prescribed after each set, seconds.
    pub rest_s: Option<u32>,
    /// Time per set prescribed then, seconds (a timed exercise).
    #[serde(default)]
    pub target_duration_s: Option<u32>,
    /// Reps done.
    pub reps: Option<u32>,
    /// Load used, in `unit`.
    pub load: Option<f64>,
    /// Time done, seconds.
    #[serde(default)]
    pub duration_s: Option<u32>,
    /// RPE, 0–10 in steps of 0.5.
    pub rpe: Option<f64>,
    /// When it was first logged (ms since the epoch, the server's clock).
    pub logged_at: i64,
    /// When it was last corrected, if it was.
    pub updated_at: Option<i64>,
}

impl LoggedSet {
    /// "8 × 60 kg · RPE 8", "30 s · RPE 7", or "done" when nothing was
    /// given.
    pub fn actual(&self) -> String {
        let mut parts = Vec::new();
        match (self.reps, self.load) {
            (Some(reps), Some(load)) => parts.push(format!(
                "{reps} × {}",
                self.unit
                    .map(|u| u.show(Some(load)))
                    .unwrap_or_else(|| format_number(load))
            )),
            (Some(reps), None) => parts.push(format!("{reps} reps")),
            (None, Some(load)) => parts.push(
                self.unit
                    .map(|u| u.show(Some(load)))
                    .unwrap_or_else(|| format_number(load)),
            ),
            (None, None) => {}
        }
        if let Some(seconds) = self.duration_s {
            parts.push(format_seconds(seconds));
        }
        if let Some(rpe) = self.rpe {
            parts.push(format!("RPE {}", format_number(rpe)));
        }
        if parts.is_empty() {
            "done".into()
        } else {
            parts.join(" · ")
        }
    }

    /// The last change's time: the correction's, else the log's.
    pub fn changed_at(&self) -> i64 {
        self.updated_at.unwrap_or(self.logged_at)
    }
}

/// Pain the athlete flagged in a round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PainReport {
    /// Its id (what the trainer acknowledges).
    pub id: i64,
    /// The round's number.
    pub round: i64,
    /// The exercise's position in the round (0 is the first).
    pub exercise: u32,
    /// The exercise's name when it was reported.
    pub name: String,
    /// The set, if the pain came in one.
    pub set: Option<u32>,
    /// What the athlete said ("" if nothing).
    pub note: String,
    /// When (ms since the epoch, the server's clock).
    pub reported_at: i64,
    /// When the trainer acknowledged it, if they did.
    pub acknowledged_at: Option<i64>,
}

impl PainReport {
    /// "Back squat, set 2: “Left knee”".
    pub fn describe(&self) -> String {
        match self.detail() {
            detail if detail.is_empty() => self.name.clone(),
            detail if self.set.is_some() => format!("{}, {detail}", self.name),
            detail => format!("{}: {detail}", self.name),
        }
    }

    /// Where and what without the exercise's name (a round's table has it
    /// on the row): "set 2: “Left knee”", "“Left knee”", "set 2", or "".
    pub fn detail(&self) -> String {
        let note = (!self.note.is_empty()).then(|| format!("“{}”", self.note));
        match (self.set, note) {
            (Some(set), Some(note)) => format!("set {set}: {note}"),
            (Some(set), None) => format!("set {set}"),
            (None, Some(note)) => note,
            (None, None) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(status: SessionStatus, by: Option<Side>, reason: Option<&str>) -> SessionSummary {
        SessionSummary {
            id: 1,
            athlete_name: "Andy Athlete".into(),
            trainer_name: "Tina Trainer".into(),
            status,
            created_at: 0,
            cancelled_by: by,
            cancel_reason: reason.map(Into::into),
            rounds_completed: 0,
            last_seq: 0,
        }
    }

    #[test]
    fn a_cancel_notice_names_the_person_and_says_you_to_them() {
        let cancelled = summary(
            SessionStatus::Cancelled,
            Some(Side::Trainer),
            Some("Gym closes"),
        );
        assert_eq!(
            cancelled.cancel_notice(Side::Athlete).as_deref(),
            Some("Tina Trainer cancelled the session: “Gym closes”.")
        );
        assert_eq!(
            cancelled.cancel_notice(Side::Trainer).as_deref(),
            Some("You cancelled the session: “Gym closes”.")
        );
        let no_reason = summary(SessionStatus::Cancelled, Some(Side::Athlete), Some(""));
        assert_eq!(
            no_reason.cancel_notice(Side::Trainer).as_deref(),
            Some("Andy Athlete cancelled the session.")
        );
        let active = summary(SessionStatus::Active, None, None);
        assert_eq!(active.cancel_notice(Side::Athlete), None);
    }
}
