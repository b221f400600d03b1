//! The HTML shell, the router and the layout every page shares.

use crate::{
    components::{auth::Auth, header::Header},
    pages::{not_found::NotFound, session_athlete::AthleteSessionPage},
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, Lazy, SsrMode,
};

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let nonce = leptos::nonce::use_nonce();
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (
        nonce.as_ref(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        if let Ok(policy) =
            axum::http::HeaderValue::from_str(&crate::server::edge::page_policy(nonce))
        {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // Without JavaScript nothing updates by itself: say so
                // instead of a link status that never changes.
                <noscript><style nonce=nonce>".needs-js { display: none !important; } .no-js-only { display: inline !important; }"</style></noscript>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The root component: meta tags and the router.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // True while a navigation waits for its page (the first visit to a
    // page loads that page's code).
    let (routing, set_routing) = signal(false);
    view! {
        <Title text="spotter"/>
        <Router set_is_routing=set_routing>
            <Layout routing/>
        </Router>
    }
}

#[component]
fn Layout(routing: ReadSignal<bool>) -> impl IntoView {
    Auth::provide();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <Show when=move || routing.get()>
            <p class="routing" role="status">"Loading…"</p>
        </Show>
        <Header/>
        <main id="main">
            <Routes fallback=|| view! { <NotFound/> }>
                // Every page waits for its data (the header's user too), so
                // the first HTML is whole: without JavaScript nothing is left
                // in a streamed <template> that only a script would move.
                //
                // Every page but the athlete's session page is its own
                // lazily loaded piece of the wasm (`routes`). The athlete's
                // page is in the main module: split out, its 21 pieces
                // cost a phone more (416 KB, 2.6-3.1 s on a slow link) than
                // one file with it inside (336 KB, 2.1 s; docs/BENCHMARKS.md,
                // "First load on a phone, split by page"), and a phone
                // opens little else.
                <Route path=path!("") view={Lazy::<routes::Home>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/login") view={Lazy::<routes::Login>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/register") view={Lazy::<routes::Register>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/dashboard") view={Lazy::<routes::Dashboard>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/sessions/:id") view=AthleteSessionPage ssr=SsrMode::Async/>
                <Route path=path!("/sessions/:id/trainer") view={Lazy::<routes::TrainerSession>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/sessions/:id/history") view={Lazy::<routes::History>::new()} ssr=SsrMode::Async/>
            </Routes>
        </main>
    }
}

/// One lazily loaded route per page (but the athlete's session page, see
/// `Layout`). `cargo leptos build --split` makes
/// each page's view (and whatever only it uses) a separate wasm module the
/// browser fetches when the route is first shown; hydration (`crate::hydrate`)
/// fetches the current page's first. Every browser build needs `--split`
/// (`watch` too): without it the JS imports a placeholder module that only
/// the split step replaces, and nothing hydrates. On the server these are
/// ordinary routes. The pages load their own data, so there is nothing for
/// `data()` to start early.
mod routes {
    use crate::pages::{
        dashboard::DashboardPage, history::HistoryPage, home::HomePage, login::LoginPage,
        register::RegisterPage, session_trainer::TrainerSessionPage,
    };
    use leptos::{prelude::*, wasm_split::SplitLoaderError};
    use leptos_router::LazyRoute;

    /// What leptos_router's `#[lazy_route]` writes, but with the load
    /// *fallible*: the `#[lazy]` it expands to panics when a page's part of
    /// the wasm cannot be fetched (a phone whose wifi just dropped), and a
    /// panic in wasm kills the app until a reload. Here a failed load shows
    /// [`PageUnavailable`] instead; the failure is not remembered, so the
    /// next visit to the page fetches its part again.
    ///
    /// `$part` names the page's wasm module: the split manifest lists the
    /// module's files under it, and the server adds them to the page's
    /// preloads when it renders that page (`prefetch_lazy_fn_on_server`).
    macro_rules! lazy_page {
        ($($route:ident => $page:ident in $part:ident),* $(,)?) => {$(
            pub struct $route;

            mod $part {
                use super::*;

                #[leptos::wasm_split::wasm_split(
                    $part,
                    wasm_split_path = ::leptos::wasm_split,
                    fallible,
                    preload(load)
                )]
                pub fn view(_this: super::$route) -> Result<AnyView, SplitLoaderError> {
                    Ok(view! { <$page/> }.into_any())
                }
            }

            impl LazyRoute for $route {
                fn data() -> Self {
                    Self
                }

                async fn view(this: Self) -> AnyView {
                    leptos::prefetch_lazy_fn_on_server(stringify!($part));
                    match $part::view(this).await {
                        Ok(page) => page,
                        Err(_) => view! { <PageUnavailable/> }.into_any(),
                    }
                }

                async fn preload() {
                    // A failed preload is retried by the visit itself.
                    let _ = $part::load().await;
                }
            }
        )*};
    }

    lazy_page! {
        Home => HomePage in page_home,
        Login => LoginPage in page_login,
        Register => RegisterPage in page_register,
        Dashboard => DashboardPage in page_dashboard,
        TrainerSession => TrainerSessionPage in page_trainer_session,
        History => HistoryPage in page_history,
    }

    /// Shown in place of a page whose code could not be fetched. The rest
    /// of the app keeps working (the header's links, going back); "Try
    /// again" loads the address from the server, and so does coming back
    /// online.
    #[component]
    fn PageUnavailable() -> impl IntoView {
        #[cfg(feature = "hydrate")]
        {
            let handle = window_event_listener(leptos::ev::online, |_| reload());
            on_cleanup(move || handle.remove());
        }
        view! {
            <section class="page-unavailable" role="alert" data-testid="page-unavailable">
                <h1>"This page could not load"</h1>
                <p>
                    "The connection dropped while this page was on its way. "
                    "It opens by itself when the connection is back, or try again."
                </p>
                <button type="button" on:click=|_| reload()>"Try again"</button>
            </section>
        }
    }

    /// A full load of the current address.
    fn reload() {
        #[cfg(feature = "hydrate")]
        {
            let _ = window().location().reload();
        }
    }
}
