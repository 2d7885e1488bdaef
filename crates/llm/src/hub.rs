//! Models from the Hugging Face hub, through `hf-hub` into its standard cache
//! (`~/.cache/huggingface/hub`, or `$HF_HOME`), with progress and resumable downloads.
//!
//! Files already in the cache are used without any network access, so a model downloaded once
//! keeps working offline.

use std::path::{Path, PathBuf};

use hf_hub::api::Progress;
use hf_hub::api::sync::ApiBuilder;
use hf_hub::{Cache, Repo, RepoType};

use crate::error::{Error, Result};

/// What to fetch from a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubModel {
    /// One GGUF file of a repository.
    Gguf {
        /// `owner/name`.
        repo: String,
        /// File name in the repository.
        file: String,
    },
    /// A Hugging Face model folder: config, tokenizer and every safetensors shard.
    Folder {
        /// `owner/name`.
        repo: String,
    },
}

/// Progress of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadProgress {
    /// File name in the repository.
    pub file: String,
    /// Bytes received so far (including a resumed part).
    pub downloaded: u64,
    /// Total bytes.
    pub total: u64,
}

const FOLDER_FILES: [&str; 4] = [
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "generation_config.json",
];

/// Returns the local path of `model` (a file, or the snapshot folder), downloading what the cache
/// lacks. `cache_dir` overrides the standard cache.
pub fn fetch(
    model: &HubModel,
    cache_dir: Option<&Path>,
    on_progress: &mut dyn FnMut(DownloadProgress),
) -> Result<PathBuf> {
    let cache = cache_dir.map_or_else(Cache::from_env, |d| Cache::new(d.to_owned()));
    if let Some(p) = cached(model, &cache) {
        return Ok(p);
    }
    let repo_id = match model {
        HubModel::Gguf { repo, .. } | HubModel::Folder { repo } => repo.clone(),
    };
    let fail = |file: &str, e: Box<dyn std::error::Error + Send + Sync>| Error::Download {
        repo: repo_id.clone(),
        file: file.to_owned(),
        source: e,
    };
    let api = ApiBuilder::from_cache(cache.clone())
        .with_progress(false)
        .build()
        .map_err(|e| fail("", e.into()))?;
    let repo = api.repo(Repo::new(repo_id.clone(), RepoType::Model));
    let mut get = |file: &str| -> Result<PathBuf> {
        if let Some(p) = cache
            .repo(Repo::new(repo_id.clone(), RepoType::Model))
            .get(file)
        {
            return Ok(p);
        }
        let progress = Reporter {
            file: file.to_owned(),
            downloaded: 0,
            total: 0,
            sink: &mut *on_progress,
        };
        repo.download_with_progress(file, progress)
            .map_err(|e| fail(file, e.into()))
    };
    match model {
        HubModel::Gguf { file, .. } => get(file),
        HubModel::Folder { .. } => {
            let info = repo.info().map_err(|e| fail("", e.into()))?;
            let listed: Vec<String> = info.siblings.into_iter().map(|s| s.rfilename).collect();
            let mut last = None;
            for file in listed
                .iter()
                .filter(|f| FOLDER_FILES.contains(&f.as_str()) || f.ends_with(".safetensors"))
            {
                last = Some(get(file)?);
            }
            let dir = last.as_deref().and_then(Path::parent).map(Path::to_owned);
            dir.ok_or_else(|| fail("", "the repository has no model files".into()))
        }
    }
}

/// The cached path of `model`, if everything it needs is already there.
pub fn cached(model: &HubModel, cache: &Cache) -> Option<PathBuf> {
    match model {
        HubModel::Gguf { repo, file } => cache
            .repo(Repo::new(repo.clone(), RepoType::Model))
            .get(file),
        HubModel::Folder { repo } => {
            let r = cache.repo(Repo::new(repo.clone(), RepoType::Model));
            let config = r.get("config.json")?;
            r.get("tokenizer.json")?;
            let dir = config.parent()?.to_owned();
            let has_weights = std::fs::read_dir(&dir)
                .ok()?
                .filter_map(|e| e.ok())
                .any(|e| e.path().extension().is_some_and(|x| x == "safetensors"));
            has_weights.then_some(dir)
        }
    }
}

struct Reporter<'a> {
    file: String,
    downloaded: u64,
    total: u64,
    sink: &'a mut dyn FnMut(DownloadProgress),
}

impl Reporter<'_> {
    fn report(&mut self) {
        (self.sink)(DownloadProgress {
            file: self.file.clone(),
            downloaded: self.downloaded,
            total: self.total,
        });
    }
}

impl Progress for Reporter<'_> {
    fn init(&mut self, size: usize, _filename: &str) {
        self.total = size as u64;
        self.report();
    }
    fn update(&mut self, size: usize) {
        self.downloaded += size as u64;
        self.report();
    }
    fn finish(&mut self) {
        self.downloaded = self.total;
        self.report();
    }
}
