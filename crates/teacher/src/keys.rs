//! API keys: kept in the OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on
//! Windows), never in the project, the settings, logs or exports. Where there is no keyring (a
//! headless machine, a container) an environment variable stands in:
//! `GRIMOIRE_TEACHER_<NAME>_KEY`, or the provider's usual one (`MISTRAL_API_KEY`, `OPENAI_API_KEY`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, Result};

/// The keyring service name every key is stored under (the teacher's name is the user).
pub const KEYRING_SERVICE: &str = "grimoire-teacher";

/// Where a teacher's key was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeySource {
    /// The OS keyring.
    Keyring,
    /// An environment variable.
    Environment {
        /// Its name.
        variable: String,
    },
    /// Nowhere.
    None,
}

/// A key lookup: the key, where it came from, and why the keyring could not be asked, if it could not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLookup {
    /// The key.
    pub key: Option<String>,
    /// Where it was found.
    pub source: KeySource,
    /// The keyring's problem, when it has one (the key may still have come from the environment).
    pub keyring_error: Option<String>,
}

/// The environment variable for a teacher's key: `GRIMOIRE_TEACHER_<NAME>_KEY`, the name upper-cased
/// with anything but letters and digits as `_`.
pub fn env_var(teacher: &str) -> String {
    let name: String = teacher
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("GRIMOIRE_TEACHER_{name}_KEY")
}

fn entry(teacher: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(KEYRING_SERVICE, teacher).map_err(|e| keyring_error(teacher, e))
}

fn keyring_error(teacher: &str, source: keyring::Error) -> Error {
    let var = env_var(teacher);
    let message = match &source {
        keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => format!(
            "no OS keyring is available here ({source}); on a headless machine or in a container set the key in the environment as {var} instead"
        ),
        _ => format!(
            "the OS keyring failed ({source}); you can set the key in the environment as {var} instead"
        ),
    };
    Error::Keyring { message, source }
}

/// Finds a teacher's key: the keyring first, then `GRIMOIRE_TEACHER_<NAME>_KEY`, then `fallback_var`
/// (the provider's usual variable). A keyring that cannot be asked is not an error here: the
/// environment may have the key, and a local server needs none.
pub fn find_key(teacher: &str, fallback_var: Option<&str>) -> KeyLookup {
    let mut keyring_error_text = None;
    match entry(teacher).and_then(|e| e.get_password().map_err(|err| keyring_error(teacher, err))) {
        Ok(key) if !key.is_empty() => {
            return KeyLookup {
                key: Some(key),
                source: KeySource::Keyring,
                keyring_error: None,
            };
        }
        Ok(_) => {}
        Err(Error::Keyring {
            source: keyring::Error::NoEntry,
            ..
        }) => {}
        Err(e) => keyring_error_text = Some(e.to_string()),
    }
    for var in std::iter::once(env_var(teacher)).chain(fallback_var.map(str::to_owned)) {
        if let Some(key) = std::env::var(&var).ok().filter(|k| !k.trim().is_empty()) {
            return KeyLookup {
                key: Some(key.trim().to_string()),
                source: KeySource::Environment { variable: var },
                keyring_error: keyring_error_text,
            };
        }
    }
    KeyLookup {
        key: None,
        source: KeySource::None,
        keyring_error: keyring_error_text,
    }
}

/// Stores a teacher's key in the keyring.
pub fn set_key(teacher: &str, key: &str) -> Result<()> {
    if key.trim().is_empty() {
        return Err(Error::Invalid("the key is empty".into()));
    }
    entry(teacher)?
        .set_password(key.trim())
        .map_err(|e| keyring_error(teacher, e))
}

/// Removes a teacher's key from the keyring (nothing to remove is fine).
pub fn delete_key(teacher: &str) -> Result<()> {
    match entry(teacher)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(keyring_error(teacher, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names() {
        assert_eq!(env_var("mistral"), "GRIMOIRE_TEACHER_MISTRAL_KEY");
        assert_eq!(env_var("local-vllm 2"), "GRIMOIRE_TEACHER_LOCAL_VLLM_2_KEY");
    }
}
