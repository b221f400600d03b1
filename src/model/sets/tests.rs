//! The set rules' unit tests.

use super::*;
use crate::model::LoadUnit;

fn squat(sets: Option<u32>) -> Exercise {
    Exercise {
        name: "Back squat".into(),
        sets,
        reps: Some(5),
        load: Some(100.0),
        load_unit: Some(LoadUnit::Kg),
        duration_s: None,
        rest_s: Some(90),
        notes: String::new(),
    }
}

fn input(reps: &str, load: &str, rpe: &str) -> SetInput {
    SetInput {
        reps: reps.into(),
        load: load.into(),
        rpe: rpe.into(),
        ..SetInput::default()
    }
}

#[test]
fn set_numbers_stay_within_the_prescription() {
    let four = squat(Some(4));
    for set in [1, 4] {
        assert!(validate_set(&four, set, &input("5", "100", "8")).is_ok());
    }
    for set in [0, 5, -1, i64::MAX] {
        let error = validate_set(&four, set, &input("5", "", "")).unwrap_err();
        assert_eq!(error.field, "set");
        assert!(error.message.contains("from 1 to 4"), "{}", error.message);
    }
    // No sets prescribed: one set to log.
    let once = squat(None);
    assert!(validate_set(&once, 1, &SetInput::default()).is_ok());
    assert_eq!(
        validate_set(&once, 2, &SetInput::default())
            .unwrap_err()
            .field,
        "set"
    );
}

#[test]
fn values_are_checked_like_feedback_and_name_their_field() {
    let four = squat(Some(4));
    assert_eq!(
        validate_set(&four, 1, &input(" 8 ", "62,5", "7.5")).unwrap(),
        SetValues {
            reps: Some(8),
            load: Some(62.5),
            duration_s: None,
            rpe: Some(7.5)
        }
    );
    assert_eq!(
        validate_set(&four, 1, &SetInput::default()).unwrap(),
        SetValues {
            reps: None,
            load: None,
            duration_s: None,
            rpe: None
        }
    );
    for (typed, field) in [
        (input("eight", "", ""), "reps"),
        (input("1001", "", ""), "reps"),
        (input("-1", "", ""), "reps"),
        (input("", "60.1", ""), "load"),
        (input("", "1e9", ""), "load"),
        (input("", "NaN", ""), "load"),
        (input("", "", "7.3"), "rpe"),
        (input("", "", "11"), "rpe"),
    ] {
        assert_eq!(
            validate_set(&four, 1, &typed).unwrap_err().field,
            field,
            "{typed:?}"
        );
    }
}

#[test]
fn a_logged_set_reads_as_done() {
    let logged = LoggedSet {
        exercise: 0,
        set: 2,
        name: "Back squat".into(),
        target_sets: Some(4),
        target_reps: Some(5),
        target_load: Some(100.0),
        unit: Some(LoadUnit::Kg),
        rest_s: Some(90),
        target_duration_s: None,
        reps: Some(5),
        load: Some(102.5),
        duration_s: None,
        rpe: Some(8.0),
        logged_at: 1,
        updated_at: None,
    };
    assert_eq!(logged.actual(), "5 × 102.5 kg · RPE 8");
    let bare = LoggedSet {
        reps: None,
        load: None,
        rpe: None,
        ..logged
    };
    assert_eq!(bare.actual(), "done");
}

fn logged(exercise: u32, set: u32, reps: u32, load: f64, rpe: Option<f64>) -> LoggedSet {
    LoggedSet {
        exercise,
        set,
        name: String::new(),
        target_sets: Some(3),
        target_reps: Some(5),
        target_load: Some(100.0),
        unit: Some(LoadUnit::Kg),
        rest_s: None,
        target_duration_s: None,
        reps: Some(reps),
        load: Some(load),
        duration_s: None,
        rpe,
        logged_at: 0,
        updated_at: None,
    }
}

fn feedback(
    exercise: Exercise,
    sets: Option<u32>,
    rpe: Option<f64>,
    pain: bool,
) -> super::super::Feedback {
    super::super::Feedback {
        prescription: exercise,
        sets_done: sets,
        reps_done: sets.map(|_| 5),
        load_used: sets.map(|_| 100.0),
        duration_done_s: None,
        rpe,
        pain,
        notes: String::new(),
    }
}

fn round(number: i64, status: RoundStatus, exercises: Vec<Exercise>) -> Round {
    Round {
        id: number,
        number,
        status,
        is_final: false,
        revision: 1,
        released_at: None,
        completed_at: None,
        exercises,
        feedback: Vec::new(),
        sets: Vec::new(),
        opened: None,
    }
}

fn named(name: &str) -> Exercise {
    Exercise {
        name: name.into(),
        ..squat(Some(3))
    }
}

#[test]
fn the_builder_hint_is_the_newest_round_where_the_exercise_was_done() {
    // Round 1: squat and deadlift reported without sets (feedback
    // only), a row with nothing done.
    let mut one = round(
        1,
        RoundStatus::Completed,
        vec![named("Back squat"), named("Deadlift"), named("Row")],
    );
    one.feedback = vec![
        feedback(named("Back squat"), Some(3), Some(7.0), false),
        feedback(named("Deadlift"), Some(3), Some(8.0), true),
        feedback(named("Row"), None, None, false),
    ];
    // Round 2: squat with sets logged.
    let mut two = round(2, RoundStatus::Completed, vec![named("Back squat")]);
    two.feedback = vec![feedback(named("Back squat"), Some(2), Some(9.0), false)];
    two.sets = vec![
        logged(0, 1, 5, 100.0, Some(8.0)),
        logged(0, 2, 4, 102.5, None),
    ];
    // Round 3, open: a plank set so far, the squat not yet.
    let mut three = round(
        3,
        RoundStatus::Released,
        vec![named("Back squat"), named("Plank")],
    );
    three.sets = vec![logged(1, 1, 1, 0.0, None)];
    // A draft has nothing done.
    let four = round(4, RoundStatus::Draft, vec![named("Lunge")]);

    let hints = LastDone::from_rounds(&[four, one, three, two]);
    assert_eq!(
        hints.get("Back squat"),
        Some("Round 2: 5 × 100 kg · RPE 8, 4 × 102.5 kg")
    );
    assert_eq!(hints.get("  back SQUAT "), hints.get("Back squat"));
    assert_eq!(
        hints.get("Deadlift"),
        Some("Round 1: 3 × 5 · 100 kg · RPE 8 · ⚠ pain")
    );
    assert_eq!(hints.get("Plank"), Some("Round 3 so far: 1 × 0 kg"));
    assert_eq!(hints.get("Row"), None, "nothing was done");
    assert_eq!(hints.get("Lunge"), None, "a draft");
    assert_eq!(hints.get("Bench press"), None);
}

#[test]
fn the_set_to_do_now_is_the_first_not_done() {
    let round = [squat(Some(2)), squat(None), squat(Some(3))];
    let done = |logged: &'static [(usize, u32)]| move |e: usize, s: u32| logged.contains(&(e, s));
    assert_eq!(next_set(&round, done(&[])), Some((0, 1)));
    assert_eq!(next_set(&round, done(&[(0, 1)])), Some((0, 2)));
    // One set when none is prescribed.
    assert_eq!(next_set(&round, done(&[(0, 1), (0, 2)])), Some((1, 1)));
    // A set skipped comes back before the later ones.
    assert_eq!(next_set(&round, done(&[(0, 2), (1, 1)])), Some((0, 1)));
    assert_eq!(
        next_set(&round, done(&[(0, 1), (0, 2), (1, 1), (2, 1), (2, 3)])),
        Some((2, 2))
    );
    assert_eq!(
        next_set(
            &round,
            done(&[(0, 1), (0, 2), (1, 1), (2, 1), (2, 2), (2, 3)])
        ),
        None
    );
    assert_eq!(next_set(&[], done(&[])), None);
}

#[test]
fn a_set_is_prefilled_from_the_set_before_else_the_prescription() {
    let four = squat(Some(4));
    assert_eq!(SetInput::prefilled(&four, None), input("5", "100", ""));
    let before = SetInput::of(&logged(0, 1, 4, 102.5, Some(9.0)));
    assert_eq!(before, input("4", "102.5", "9"));
    assert_eq!(
        SetInput::prefilled(&four, Some(&before)),
        input("4", "102.5", ""),
        "the change carries on; RPE is not guessed"
    );
    let bare = Exercise {
        reps: None,
        load: None,
        load_unit: None,
        ..squat(None)
    };
    assert_eq!(SetInput::prefilled(&bare, None), SetInput::default());
}

#[test]
fn feedback_opens_with_what_was_logged() {
    let three = squat(Some(3));
    // Nothing logged: the prescription.
    assert_eq!(
        FeedbackPrefill::of(&three, &[]),
        FeedbackPrefill {
            sets_done: "3".into(),
            reps_done: "5".into(),
            load_used: "100".into(),
            duration_done_s: String::new()
        }
    );
    // Four sets of 4 × 102.5: as such, not "3 × 5 · 100".
    let sets: Vec<LoggedSet> = (1..=4).map(|n| logged(0, n, 4, 102.5, None)).collect();
    let refs = done_from(&sets, &[]);
    assert_eq!(
        FeedbackPrefill::of(&three, &refs),
        FeedbackPrefill {
            sets_done: "4".into(),
            reps_done: "4".into(),
            load_used: "102.5".into(),
            duration_done_s: String::new()
        }
    );
    // Sets that disagree: what most had; of a tie, the later set's.
    let sets = [logged(0, 2, 6, 100.0, None), logged(0, 1, 4, 102.5, None)];
    let refs = done_from(&sets, &[]);
    assert_eq!(
        FeedbackPrefill::of(&three, &refs),
        FeedbackPrefill {
            sets_done: "2".into(),
            reps_done: "6".into(),
            load_used: "100".into(),
            duration_done_s: String::new()
        }
    );
    let sets = [
        logged(0, 1, 5, 100.0, None),
        logged(0, 2, 5, 100.0, None),
        logged(0, 3, 3, 100.0, None),
    ];
    let refs = done_from(&sets, &[]);
    assert_eq!(FeedbackPrefill::of(&three, &refs).reps_done, "5");
}

/// The sets done of exercise 0 as the feedback reads them.
fn done_from(logged: &[LoggedSet], sent: &[SentHere]) -> Vec<(u32, SetInput)> {
    done_sets(logged, sent, 0)
}

fn sent(set: u32, reps: &str, load: &str) -> SentHere {
    SentHere {
        exercise: 0,
        set,
        values: SetInput {
            reps: reps.into(),
            load: load.into(),
            ..SetInput::default()
        },
    }
}

#[test]
fn feedback_counts_the_sets_sent_from_the_phone_before_they_land() {
    let three = squat(Some(3));
    // Set 1 landed; set 2 waits on the phone (no network): two sets done.
    let landed = [logged(0, 1, 5, 100.0, None)];
    let prefill = FeedbackPrefill::of(&three, &done_from(&landed, &[sent(2, "4", " 102.5")]));
    assert_eq!(
        (
            prefill.sets_done.as_str(),
            prefill.reps_done.as_str(),
            prefill.load_used.as_str()
        ),
        ("2", "4", "102.5"),
        "of a tie, the later set's (as typed, without spaces)"
    );
    // A correction sent from here wins over the value it corrects.
    let prefill = FeedbackPrefill::of(&three, &done_from(&landed, &[sent(1, "3", "100")]));
    assert_eq!(
        (prefill.sets_done.as_str(), prefill.reps_done.as_str()),
        ("1", "3")
    );
    // Another exercise's sets are its own.
    assert_eq!(
        done_sets(&[logged(1, 1, 5, 100.0, None)], &[sent(1, "5", "100")], 1).len(),
        1
    );
    assert!(done_sets(&[logged(1, 1, 5, 100.0, None)], &[], 0).is_empty());
    // A value left empty counts as not given (the set does).
    let prefill = FeedbackPrefill::of(&three, &done_from(&[], &[sent(1, "", "100")]));
    assert_eq!(
        (
            prefill.sets_done.as_str(),
            prefill.reps_done.as_str(),
            prefill.load_used.as_str()
        ),
        ("1", "", "100")
    );
}

fn plank() -> Exercise {
    Exercise {
        name: "Plank".into(),
        sets: Some(2),
        reps: None,
        load: None,
        load_unit: None,
        duration_s: Some(30),
        rest_s: Some(60),
        notes: String::new(),
    }
}

#[test]
fn a_timed_exercise_logs_its_time() {
    let plank = plank();
    assert_eq!(
        SetFields::of(&plank),
        SetFields {
            reps: false,
            load: false,
            time: true
        }
    );
    // A loaded carry asks for the load and the time; a squat for
    // reps and load.
    let carry = Exercise {
        load: Some(24.0),
        load_unit: Some(LoadUnit::Kg),
        ..plank.clone()
    };
    assert_eq!(
        SetFields::of(&carry),
        SetFields {
            reps: false,
            load: true,
            time: true
        }
    );
    assert_eq!(
        SetFields::of(&squat(Some(3))),
        SetFields {
            reps: true,
            load: true,
            time: false
        }
    );
    // Pre-filled with the target; checked and named like every field.
    let first = SetInput::prefilled(&plank, None);
    assert_eq!(first.duration_s, "30");
    assert_eq!(
        validate_set(&plank, 1, &first).unwrap().duration_s,
        Some(30)
    );
    for typed in ["thirty", "-1", "10801", "2.5"] {
        let input = SetInput {
            duration_s: typed.into(),
            ..SetInput::default()
        };
        let error = validate_set(&plank, 1, &input).unwrap_err();
        assert_eq!(error.field, "duration_s", "{typed}");
        assert!(error.message.starts_with("Time"), "{}", error.message);
    }
    // Shown as a time, not "done"; the feedback and the builder's hint
    // take it from the sets.
    let held = |set: u32, seconds: u32| LoggedSet {
        reps: None,
        load: None,
        duration_s: Some(seconds),
        target_duration_s: Some(30),
        ..logged(0, set, 0, 0.0, None)
    };
    let sets = [held(1, 30), held(2, 25)];
    assert_eq!(sets[0].actual(), "30 s");
    let refs = done_from(&sets, &[]);
    assert_eq!(FeedbackPrefill::of(&plank, &refs).duration_done_s, "25");
    assert_eq!(FeedbackPrefill::of(&plank, &[]).duration_done_s, "30");
    let mut one = round(1, RoundStatus::Released, vec![plank]);
    one.sets = sets.to_vec();
    assert_eq!(
        LastDone::from_rounds(&[one]).get("Plank"),
        Some("Round 1 so far: 30 s, 25 s")
    );
}
