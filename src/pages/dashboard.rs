//! `/dashboard`: the logged-in home. Athletes start sessions and see theirs
//! by status; trainers see sessions waiting for them, active and past ones.

use crate::components::forms::{field_error, general_error};
use crate::components::{field::IdempotencyKey, live_indicator::LinkStatusBadge, when::When};
use crate::{
    api::sessions::{load_dashboard, JoinSession, StartSession},
    components::{field::field_id, require_user::RequireUser},
    live::use_dashboard_live,
    model::{Dashboard, Role, SessionSummary, Side, User},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};
use std::collections::BTreeMap;

/// The dashboard.
#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <Title text="Dashboard · spotter"/>
        <RequireUser children=|user| view! { <DashboardFor user/> }/>
    }
}

#[component]
fn DashboardFor(user: User) -> impl IntoView {
    let side = match user.role {
        Role::Athlete => Side::Athlete,
        Role::Trainer => Side::Trainer,
    };
    let live = use_dashboard_live(side);
    let data = Resource::new(move || live.changes.get(), |_| load_dashboard());
    let start = ServerAction::<StartSession>::new();
    let join = ServerAction::<JoinSession>::new();
    let query = use_query_map();
    // Set after a cancel (this user's, or the other side's while this user
    // watched): the notice comes from the stored session, not the address.
    let cancelled = move || {
        query
            .read()
            .get("cancelled")
            .and_then(|id| id.parse::<i64>().ok())
    };
    let intro = match user.role {
        Role::Trainer => {
            "Athletes start sessions with you; join one to build and release rounds live."
        }
        Role::Athlete => {
            "Start a session with your trainer; rounds appear here the moment they are released."
        }
    };
    let role = user.role;
    view! {
        <p class="live-indicator"><LinkStatusBadge live/></p>
        <section class="card">
            <h1>{format!("Hello, {}", user.display_name)}</h1>
            <p data-testid="dashboard-role">{format!("You are signed in as {}.", user.role.label().to_lowercase())}</p>
            <p>{intro}</p>
        </section>
        <Suspense fallback=|| view! { <p class="loading">"Loading your sessions…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(dashboard) => {
                        let notice = cancel_notice(&dashboard, cancelled(), side).map(|text| view! {
                            <p class="notice" role="status" data-testid="cancel-notice">{text}</p>
                        });
                        let lists = match role {
                            Role::Athlete => view! { <AthleteDashboard dashboard start/> }.into_any(),
                            Role::Trainer => view! { <TrainerDashboard dashboard join/> }.into_any(),
                        };
                        view! { {notice} {lists} }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// "Tina Trainer cancelled the session: “Gym closes”." for one of this
/// user's own cancelled sessions, from what is stored; nothing otherwise.
fn cancel_notice(dashboard: &Dashboard, session_id: Option<i64>, viewer: Side) -> Option<String> {
    dashboard
        .past
        .iter()
        .find(|s| Some(s.id) == session_id)?
        .cancel_notice(viewer)
}

#[component]
fn AthleteDashboard(dashboard: Dashboard, start: ServerAction<StartSession>) -> impl IntoView {
    let select_id = field_id("trainer_id");
    let trainer_error = field_error(start.into(), "trainer_id");
    let no_trainers = dashboard.trainers.is_empty();
    view! {
        <section class="card" data-testid="start-session">
            <h2>"Start a session"</h2>
            {if no_trainers {
                view! { <p>"No trainer has an account yet. Ask yours to register as a trainer."</p> }.into_any()
            } else {
                view! {
                    <ActionForm action=start>
                        <IdempotencyKey renew=crate::components::forms::successes(start.into())/>
                        <div class="field">
                            <label for=select_id.clone()>"Trainer"</label>
                            <select id=select_id name="trainer_id" aria-describedby="field-trainer_id-error">
                                <option value="">"Choose your trainer"</option>
                                {dashboard
                                    .trainers
                                    .iter()
                                    .map(|t| view! { <option value=t.id>{t.name.clone()}</option> })
                                    .collect_view()}
                            </select>
                            <p class="field-error" id="field-trainer_id-error" role="alert">{move || trainer_error.get()}</p>
                        </div>
                        <p class="form-error" role="alert">{move || general_error(start.into()).get()}</p>
                        <button type="submit" disabled=move || start.pending().get()>"Start session"</button>
                    </ActionForm>
                }
                .into_any()
            }}
        </section>
        <SessionList title="Waiting for your trainer" sessions=dashboard.waiting href=athlete_href testid="waiting" unread=dashboard.unread.clone()/>
        <SessionList title="In progress" sessions=dashboard.active href=athlete_href testid="active" unread=dashboard.unread/>
        <SessionList title="Past sessions" sessions=dashboard.past href=history_href testid="past"/>
    }
}

#[component]
fn TrainerDashboard(dashboard: Dashboard, join: ServerAction<JoinSession>) -> impl IntoView {
    let waiting_empty = dashboard.waiting.is_empty();
    view! {
        <section class="card" data-testid="waiting">
            <h2>"Waiting for you"</h2>
            {if waiting_empty {
                view! { <p class="empty">"No athlete is waiting."</p> }.into_any()
            } else {
                view! {
                    <ul class="sessions">
                        {dashboard
                            .waiting
                            .into_iter()
                            .map(|s| view! {
                                <li>
                                    <span>{format!("{} · started ", s.athlete_name)}<When ms=s.created_at/></span>
                                    {unread_badge(dashboard.unread.get(&s.id).copied())}
                                    <ActionForm action=join attr:class="inline">
                                        <IdempotencyKey renew=crate::components::forms::successes(join.into())/>
                                        <input type="hidden" name="session_id" value=s.id/>
                                        <button type="submit">{format!("Join {}", s.athlete_name)}</button>
                                    </ActionForm>
                                </li>
                            })
                            .collect_view()}
                    </ul>
                    <p class="form-error" role="alert">{move || general_error(join.into()).get()}</p>
                }
                .into_any()
            }}
        </section>
        <SessionList title="In progress" sessions=dashboard.active href=trainer_href testid="active" unread=dashboard.unread/>
        <SessionList title="Past sessions" sessions=dashboard.past href=history_href testid="past"/>
    }
}

/// "2 unread" after a session with messages its user has not read.
fn unread_badge(unread: Option<u32>) -> Option<impl IntoView> {
    unread.filter(|n| *n > 0).map(|n| {
        view! {
            <span class="unread" data-testid="unread">
                {format!("{n} unread message{}", if n == 1 { "" } else { "s" })}
            </span>
        }
    })
}

fn athlete_href(s: &SessionSummary) -> String {
    format!("/sessions/{}", s.id)
}

fn trainer_href(s: &SessionSummary) -> String {
    format!("/sessions/{}/trainer", s.id)
}

fn history_href(s: &SessionSummary) -> String {
    format!("/sessions/{}/history", s.id)
}

#[component]
fn SessionList(
    title: &'static str,
    sessions: Vec<SessionSummary>,
    href: fn(&SessionSummary) -> String,
    testid: &'static str,
    #[prop(optional)] unread: BTreeMap<i64, u32>,
) -> impl IntoView {
    view! {
        <section class="card" data-testid=testid>
            <h2>{title}</h2>
            {if sessions.is_empty() {
                view! { <p class="empty">"None."</p> }.into_any()
            } else {
                view! {
                    <ul class="sessions">
                        {sessions
                            .iter()
                            .map(|s| {
                                let who = format!("{} & {} · ", s.athlete_name, s.trainer_name);
                                let rest = format!(
                                    " · {} · {} round{} done",
                                    s.status.label(),
                                    s.rounds_completed,
                                    if s.rounds_completed == 1 { "" } else { "s" },
                                );
                                let (link, at) = (href(s), s.created_at);
                                let badge = unread_badge(unread.get(&s.id).copied());
                                // One flex item inside the link: its text keeps its
                                // spaces ("· 6:18 AM ·") and wraps as text.
                                view! { <li><A href=link><span>{who}<When ms=at/>{rest}</span></A>{badge}</li> }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
    }
}
