//! One model served through a queue on its own thread.
//!
//! The worker thread owns the [`Model`] (one copy of the base weights) and the adapters loaded
//! over it. Requests in progress are interleaved round-robin, each with its own KV cache and
//! adapter: every round, each one reads a prompt chunk or makes one token, so two replies (say the
//! base model's and a tuned one's) stream at once and cancelling one leaves the others running.
//! Candle's kernels inside it use a thread pool sized to the machine's physical cores
//! (`CANDLE_NUM_THREADS` / `RAYON_NUM_THREADS` override it). Requests from any number of callers
//! wait in the queue, and a process-wide lock keeps even two engines from computing at once, so
//! the cores are never oversubscribed (measured: oversubscribed decoding is 4–10× slower).
//!
//! Each request gets its own reply channel of [`Event`]s: `Chunk`s of text, then one `Done` or
//! `Error` (the shape mistral.rs uses), and a [`CancelToken`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::generate::{CancelToken, Completion, GenerateParams, Generation, fit_history};
use crate::lora::LoraAdapter;
use crate::model::{Model, ModelInfo};
use crate::template::Message;

/// Held while any engine computes.
static COMPUTE: Mutex<()> = Mutex::new(());

/// What a reply channel carries.
#[derive(Debug)]
pub enum Event {
    /// The next piece of text (whole UTF-8 characters).
    Chunk(String),
    /// Generation ended.
    Done(Completion),
    /// Generation failed.
    Error(Error),
}

/// A chat request.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    /// The conversation; the reply continues it.
    pub messages: Vec<Message>,
    /// Sampling and stopping.
    pub params: GenerateParams,
    /// Name of a loaded adapter to apply, or the base model.
    pub adapter: Option<String>,
    /// Text the reply begins with, which the model continues (`{"question": "` holds it to a
    /// JSON object); the reply's text is only what comes after it.
    pub prefix: String,
}

/// The caller's end of a request.
#[derive(Debug)]
pub struct Reply {
    /// Events of this request, in order.
    pub events: Receiver<Event>,
    /// Stops this request (also when it is still queued).
    pub cancel: CancelToken,
}

impl Reply {
    /// Waits for the end, passing each chunk to `on_text`.
    pub fn wait(self, on_text: &mut dyn FnMut(&str)) -> Result<Completion> {
        for event in self.events {
            match event {
                Event::Chunk(text) => on_text(&text),
                Event::Done(c) => return Ok(c),
                Event::Error(e) => return Err(e),
            }
        }
        Err(Error::EngineStopped)
    }
}

enum Job {
    Chat {
        request: ChatRequest,
        cancel: CancelToken,
        reply: Sender<Event>,
    },
    LoadAdapter {
        name: String,
        dir: PathBuf,
        reply: Sender<Result<()>>,
    },
    RemoveAdapter {
        name: String,
    },
}

/// A model on its own worker thread.
#[derive(Debug)]
pub struct Engine {
    jobs: Option<Sender<Job>>,
    worker: Option<JoinHandle<()>>,
    info: ModelInfo,
    adapters: Arc<Mutex<Vec<String>>>,
}

impl Engine {
    /// Starts the worker thread for `model`.
    pub fn start(model: Model) -> Result<Self> {
        let info = model.info.clone();
        let (tx, rx) = channel::<Job>();
        let adapters = Arc::new(Mutex::new(Vec::new()));
        let names = adapters.clone();
        let worker = std::thread::Builder::new()
            .name("grimoire-llm".into())
            .spawn(move || serve(model, rx, names))
            .map_err(|source| Error::Io {
                path: PathBuf::from("<engine thread>"),
                source,
            })?;
        Ok(Engine {
            jobs: Some(tx),
            worker: Some(worker),
            info,
            adapters,
        })
    }

    /// The model served.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Threads the kernels use: the machine's physical cores unless `CANDLE_NUM_THREADS` or
    /// `RAYON_NUM_THREADS` say otherwise.
    pub fn threads(&self) -> usize {
        candle_core::utils::get_num_threads()
    }

    /// Names of the loaded adapters.
    pub fn adapters(&self) -> Vec<String> {
        self.adapters.lock().map(|a| a.clone()).unwrap_or_default()
    }

    fn send(&self, job: Job) -> Result<()> {
        self.jobs
            .as_ref()
            .ok_or(Error::EngineStopped)?
            .send(job)
            .map_err(|_| Error::EngineStopped)
    }

    /// Queues a chat request; events arrive on the returned reply.
    pub fn chat(&self, request: ChatRequest) -> Result<Reply> {
        let (reply, events) = channel();
        let cancel = CancelToken::new();
        self.send(Job::Chat {
            request,
            cancel: cancel.clone(),
            reply,
        })?;
        Ok(Reply { events, cancel })
    }

    /// Loads a PEFT adapter folder under `name` (replacing one of the same name); waits for it.
    pub fn load_adapter(&self, name: &str, dir: &Path) -> Result<()> {
        let (reply, done) = channel();
        self.send(Job::LoadAdapter {
            name: name.to_owned(),
            dir: dir.to_owned(),
            reply,
        })?;
        done.recv().map_err(|_| Error::EngineStopped)?
    }

    /// Unloads an adapter.
    pub fn remove_adapter(&self, name: &str) -> Result<()> {
        self.send(Job::RemoveAdapter {
            name: name.to_owned(),
        })
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// A request being answered.
struct Active<'m> {
    generation: Generation<'m>,
    adapter: Option<Arc<LoraAdapter>>,
    dropped: usize,
    cancel: CancelToken,
    reply: Sender<Event>,
}

fn serve(model: Model, jobs: Receiver<Job>, names: Arc<Mutex<Vec<String>>>) {
    let model = &model;
    let mut adapters: HashMap<String, Arc<LoraAdapter>> = HashMap::new();
    let mut active: Vec<Active<'_>> = Vec::new();
    let mut open = true;
    loop {
        // Take every waiting job before the next round; sleep only when there is nothing to do.
        let job = if active.is_empty() {
            match jobs.recv() {
                Ok(job) => Some(job),
                Err(_) => return,
            }
        } else if open {
            match jobs.try_recv() {
                Ok(job) => Some(job),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => {
                    open = false;
                    None
                }
            }
        } else {
            None
        };
        if let Some(job) = job {
            accept(model, job, &mut adapters, &mut active, &names);
            continue;
        }
        // One round: every active request reads a prompt chunk or makes one token.
        let _guard = COMPUTE.lock().unwrap_or_else(|p| p.into_inner());
        active.retain_mut(|a| {
            let (reply, cancel) = (&a.reply, &a.cancel);
            let mut on_text = |t: &str| {
                if reply.send(Event::Chunk(t.to_owned())).is_err() {
                    // The caller hung up: stop working for nobody.
                    cancel.cancel();
                }
            };
            match a.generation.step(a.adapter.as_deref(), cancel, &mut on_text) {
                Ok(None) => true,
                Ok(Some(mut done)) => {
                    done.dropped_messages = a.dropped;
                    let _ = reply.send(Event::Done(done));
                    false
                }
                Err(e) => {
                    let _ = reply.send(Event::Error(e));
                    false
                }
            }
        });
    }
}

fn accept<'m>(
    model: &'m Model,
    job: Job,
    adapters: &mut HashMap<String, Arc<LoraAdapter>>,
    active: &mut Vec<Active<'m>>,
    names: &Mutex<Vec<String>>,
) {
    match job {
        Job::Chat {
            request,
            cancel,
            reply,
        } => {
            let adapter = match &request.adapter {
                None => None,
                Some(name) => match adapters.get(name) {
                    Some(a) => Some(a.clone()),
                    None => {
                        let e = Error::AdapterMismatch {
                            path: PathBuf::from(name),
                            problem: "no adapter of that name is loaded".into(),
                        };
                        let _ = reply.send(Event::Error(e));
                        return;
                    }
                },
            };
            let started = fit_history(model, &request.messages, request.params.max_tokens)
                .and_then(|(mut prompt, dropped)| {
                    if !request.prefix.is_empty() {
                        prompt.extend(model.tokenizer.encode(&request.prefix)?);
                    }
                    Generation::new(model, prompt, &request.params).map(|g| (g, dropped))
                });
            match started {
                Ok((generation, dropped)) => active.push(Active {
                    generation,
                    adapter,
                    dropped,
                    cancel,
                    reply,
                }),
                Err(e) => {
                    let _ = reply.send(Event::Error(e));
                }
            }
        }
        Job::LoadAdapter { name, dir, reply } => {
            let result = model.load_adapter(&dir).map(|a| {
                adapters.insert(name.clone(), Arc::new(a));
            });
            if result.is_ok()
                && let Ok(mut n) = names.lock()
                && !n.contains(&name)
            {
                n.push(name);
            }
            let _ = reply.send(result);
        }
        Job::RemoveAdapter { name } => {
            // Requests already using it keep their reference until they end.
            adapters.remove(&name);
            if let Ok(mut n) = names.lock() {
                n.retain(|x| x != &name);
            }
        }
    }
}
