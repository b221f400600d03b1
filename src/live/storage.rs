//! `localStorage`, where the browser has it (not on the server, not in a
//! private window that refuses it): failures are silent, the page works on
//! without persistence.

/// The stored text under `key`.
pub fn load(key: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        local()?.get_item(key).ok().flatten()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        None
    }
}

/// Stores `value` under `key`.
pub fn store(key: &str, value: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = local() {
        let _ = storage.set_item(key, value);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, value);
}

/// Removes `key`.
pub fn remove(key: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = local() {
        let _ = storage.remove_item(key);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = key;
}

#[cfg(feature = "hydrate")]
fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}
