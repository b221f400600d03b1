//! Server functions, one module per area. Each is the single entry point for
//! one mutation or query, callable from a form (with or without WASM) and
//! over HTTP at a fixed `/api/<endpoint>` path.

/// Declares mutations' server functions: each is `#[server]` at its
/// endpoint, through the page's client (`live::client::Deadline`, unless
/// another is named, as for receipts: `live::client::Quiet`), with every
/// argument optional in the form (`#[server(default)]`: a missing field is
/// empty, and the mutation says what it needs), and its body is one call,
/// `server::mutate`, with its own arguments: the struct `#[server]` makes
/// of them, named after `as`, for which `server::training` implements
/// `Mutation`. After `in`: the argument that names the session it changes,
/// or `new_session` (it starts one).
macro_rules! mutation {
    (@scope $self:ident new_session) => {
        $crate::server::training::Scope::NewSession
    };
    (@scope $self:ident $field:ident) => {
        $crate::server::training::Scope::Session($self.$field)
    };
    (@one [] $($rest:tt)*) => {
        mutation!(@one [$crate::live::client::Deadline] $($rest)*);
    };
    (@one [$client:path]
        [$(#[doc = $doc:literal])*] $endpoint:literal
        $name:ident($($arg:ident: $ty:ty),*) $answer:ty, $args:ident, $scope:ident
    ) => {
        $(#[doc = $doc])*
        #[leptos::server(endpoint = $endpoint, client = $client)]
        pub async fn $name(
            $(#[server(default)] $arg: $ty),*
        ) -> Result<$answer, $crate::error::AppError> {
            $crate::server::mutate($args { $($arg),* }).await
        }

        #[cfg(feature = "ssr")]
        impl $crate::server::training::Scoped for $args {
            fn scope(&self) -> $crate::server::training::Scope {
                mutation!(@scope self $scope)
            }
        }
    };
    ($(
        $(#[doc = $doc:literal])*
        #[server(endpoint = $endpoint:literal $(, client = $client:path)?)]
        pub async fn $name:ident($($arg:ident: $ty:ty),* $(,)?)
            -> $answer:ty as $args:ident in $scope:ident;
    )*) => {$(
        mutation!(@one [$($client)?]
            [$(#[doc = $doc])*] $endpoint
            $name($($arg: $ty),*) $answer, $args, $scope
        );
    )*};
}

pub mod auth;
pub mod messages;
pub mod pain;
pub mod rounds;
pub mod sessions;
pub mod sets;

/// For `server::edge`: which field of a server function's form could not be
/// read, and why. Leptos only says "error deserializing server function
/// arguments" (without the field); this decodes the same body the same way
/// (`serde_qs`, depth 5, not strict), tracking the path.
#[cfg(feature = "ssr")]
pub fn unreadable_field(path: &str, body: &[u8]) -> Option<crate::model::FieldError> {
    let (_, check) = lookup(path)?;
    check(body)
}

/// For `server::edge`'s metrics: the endpoint a path names, if it is a
/// server function's (so labels stay a fixed set, whatever paths clients
/// send).
#[cfg(feature = "ssr")]
pub fn endpoint(path: &str) -> Option<&'static str> {
    lookup(path).map(|(endpoint, _)| endpoint)
}

/// Reads a server function's form; the first field it cannot read.
#[cfg(feature = "ssr")]
type FormReader = fn(&[u8]) -> Option<crate::model::FieldError>;

/// Every server function's path and form reader (the endpoint itself is
/// written once, in its `#[server]` attribute).
#[cfg(feature = "ssr")]
const ENDPOINTS: &[(&str, FormReader)] = {
    use leptos::server_fn::ServerFn;
    macro_rules! readers {
        ($($f:ty),* $(,)?) => { &[$((<$f>::PATH, first_error::<$f>)),*] };
    }
    readers![
        auth::Register,
        auth::Login,
        auth::LoginFailed,
        auth::Logout,
        auth::CurrentUser,
        rounds::SaveRound,
        rounds::ReleaseRound,
        rounds::DeleteRound,
        rounds::CompleteRound,
        rounds::OpenRound,
        sets::LogSet,
        pain::ReportPain,
        pain::AcknowledgePain,
        messages::SendMessage,
        messages::ReadMessages,
        messages::OlderMessages,
        messages::WholeThread,
        sessions::LoadDashboard,
        sessions::LoadSession,
        sessions::ExerciseNames,
        sessions::StartSession,
        sessions::JoinSession,
        sessions::CancelSession,
    ]
};

#[cfg(feature = "ssr")]
fn lookup(path: &str) -> Option<(&'static str, FormReader)> {
    let (full, reader) = ENDPOINTS.iter().copied().find(|(p, _)| *p == path)?;
    Some((full.strip_prefix("/api/")?, reader))
}

#[cfg(feature = "ssr")]
fn first_error<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<crate::model::FieldError> {
    use crate::model::FieldError;
    let config = serde_qs::Config::new(5, false);
    let Ok(text) = std::str::from_utf8(body) else {
        return Some(FieldError::new(
            crate::error::UNREADABLE_FORM,
            "The form is not valid UTF-8 text",
        ));
    };
    let decoder = match serde_qs::Deserializer::with_config(&config, text.as_bytes()) {
        Ok(decoder) => decoder,
        Err(error) => return Some(FieldError::new(&key_at(text, &error), readable(&error))),
    };
    let error = serde_path_to_error::deserialize::<_, T>(decoder).err()?;
    let field = match error.path().to_string() {
        path if path == "." || path.is_empty() => key_at(text, error.inner()),
        path => path,
    };
    Some(FieldError::new(&field, readable(error.inner())))
}

/// The key a parse error points into (`serde_qs` gives a byte position), or
/// the first key with an index that is not a small number, or "form".
#[cfg(feature = "ssr")]
fn key_at(text: &str, error: &serde_qs::Error) -> String {
    let serde_qs::Error::Parse(_, position) = error else {
        return bad_index(text).unwrap_or_else(|| crate::error::UNREADABLE_FORM.into());
    };
    let start = text[..(*position).min(text.len())]
        .rfind('&')
        .map_or(0, |amp| amp + 1);
    let pair = &text[start..];
    let key = pair.split(['&', '=']).next().unwrap_or_default();
    let key = percent_decoded(key);
    if key.is_empty() {
        crate::error::UNREADABLE_FORM.into()
    } else {
        key
    }
}

#[cfg(feature = "ssr")]
fn bad_index(text: &str) -> Option<String> {
    form_urlencoded::parse(text.as_bytes()).find_map(|(key, _)| {
        let (base, rest) = key.split_once('[')?;
        let index = rest.split(']').next()?;
        let numeric = !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit());
        (numeric && index.parse::<u32>().is_err()).then(|| base.to_string())
    })
}

#[cfg(feature = "ssr")]
fn percent_decoded(key: &str) -> String {
    form_urlencoded::parse(key.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default()
}

/// A decoding error in words a person can act on.
#[cfg(feature = "ssr")]
fn readable(error: &serde_qs::Error) -> String {
    let text = error.to_string();
    if text.contains("invalid digit") || text.contains("invalid type") && text.contains("i64") {
        "Must be a whole number".into()
    } else if text.contains("number too large") || text.contains("too large") {
        "This number is too large".into()
    } else if text.contains("cannot parse integer from empty string") {
        "Must not be empty".into()
    } else if text.contains("sequence") || text.contains("multiple values") {
        "Given more than once".into()
    } else {
        format!("Could not be read: {text}")
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    /// A new server function without a reader would answer an undecodable
    /// form without naming the field, and go uncounted in the metrics.
    #[test]
    fn every_server_function_has_a_form_reader() {
        let paths: Vec<&str> = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path)
            .collect();
        assert!(paths.len() >= super::ENDPOINTS.len(), "{paths:?}");
        for path in paths {
            assert!(super::endpoint(path).is_some(), "{path} has no reader");
        }
    }
}
