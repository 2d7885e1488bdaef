//! Where Grimoire keeps things on this machine, and the user's settings.
//!
//! `GRIMOIRE_DATA_DIR` and `GRIMOIRE_CONFIG_DIR` override the platform folders (tests and portable
//! installs use them).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Error, Result};

/// The folders Grimoire uses.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// Models, the sample project: `~/.local/share/grimoire` on Linux.
    pub data: PathBuf,
    /// `settings.json`: `~/.config/grimoire` on Linux.
    pub config: PathBuf,
}

impl Dirs {
    /// The folders from the environment or the platform's conventions.
    pub fn from_env() -> Self {
        let pick = |var: &str, base: Option<PathBuf>| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .or_else(|| base.map(|b| b.join("grimoire")))
                .unwrap_or_else(|| PathBuf::from(".grimoire"))
        };
        Self { data: pick("GRIMOIRE_DATA_DIR", dirs::data_dir()), config: pick("GRIMOIRE_CONFIG_DIR", dirs::config_dir()) }
    }

    /// The default model folder.
    pub fn default_model_dir(&self) -> PathBuf {
        self.data.join("models")
    }

    /// Where the sample project lives.
    pub fn sample_project(&self) -> PathBuf {
        self.data.join("projects").join("sample")
    }

    fn settings_file(&self) -> PathBuf {
        self.config.join("settings.json")
    }
}

/// The look of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Follow the desktop.
    #[default]
    System,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// The user's settings, kept in `settings.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Settings {
    /// Where models are looked for (the built-in model is installed here).
    pub model_dir: String,
    /// The look of the app.
    pub theme: Theme,
}

/// A project opened before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RecentProject {
    /// Its folder.
    pub path: String,
    /// Its name when last opened.
    pub name: String,
    /// When it was last opened.
    pub opened_at: String,
}

/// Everything in `settings.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct SettingsFile {
    #[serde(default)]
    pub model_dir: Option<String>,
    #[serde(default)]
    pub theme: Theme,
    #[serde(default)]
    pub recent_projects: Vec<RecentProject>,
    /// Set once the sample project has been created, so a deleted sample is not forced back.
    #[serde(default)]
    pub sample_created: bool,
    /// Teacher models (their keys are in the OS keyring).
    #[serde(default)]
    pub teachers: Vec<crate::teachers::TeacherConfig>,
    /// Edited prompt templates, every version.
    #[serde(default)]
    pub prompts: Vec<grimoire_teacher::PromptTemplate>,
}

const MAX_RECENT: usize = 10;

impl SettingsFile {
    pub(crate) fn load(dirs: &Dirs) -> Result<Self> {
        let path = dirs.settings_file();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| Error::Json { what: format!("settings file {}", path.display()), source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    pub(crate) fn save(&self, dirs: &Dirs) -> Result<()> {
        let path = dirs.settings_file();
        std::fs::create_dir_all(&dirs.config).map_err(|e| Error::io(&dirs.config, e))?;
        let json = serde_json::to_vec_pretty(self).map_err(|source| Error::Json { what: "settings".into(), source })?;
        write_atomic(&path, &json)
    }

    pub(crate) fn settings(&self, dirs: &Dirs) -> Settings {
        Settings {
            model_dir: self.model_dir.clone().unwrap_or_else(|| dirs.default_model_dir().display().to_string()),
            theme: self.theme,
        }
    }

    pub(crate) fn touch_recent(&mut self, path: &Path, name: &str) {
        let path = path.display().to_string();
        self.recent_projects.retain(|r| r.path != path);
        self.recent_projects.insert(0, RecentProject { path, name: name.to_string(), opened_at: grimoire_store::now() });
        self.recent_projects.truncate(MAX_RECENT);
    }
}

/// Writes a file so that a crash leaves either the old or the new content, never half of one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}
