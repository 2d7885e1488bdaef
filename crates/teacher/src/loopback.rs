//! A chat-completions (or any JSON API) server on loopback for tests and the bench: it speaks enough HTTP/1.1
//! (keep-alive, `Content-Length`) for reqwest, and answers each request as a handler says: a chat
//! completion, any status with any headers (429 with `Retry-After`), slowly, or by dropping the
//! connection mid-request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A request as the handler sees it.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// `GET`, `POST`...
    pub method: String,
    /// `/v1/chat/completions`...
    pub path: String,
    /// The `Authorization` header, if sent.
    pub authorization: Option<String>,
    /// The body as JSON (null when it is not JSON).
    pub body: serde_json::Value,
    /// The body as sent (a multipart upload is not JSON).
    pub raw: Vec<u8>,
    /// The `Content-Type` header, if sent.
    pub content_type: Option<String>,
    /// How many requests came before this one.
    pub number: usize,
}

impl Incoming {
    /// The text of the last message of a chat request.
    pub fn last_message(&self) -> &str {
        self.body
            .pointer("/messages")
            .and_then(|m| m.as_array())
            .and_then(|m| m.last())
            .and_then(|m| m.get("content"))
            .and_then(|c| c.as_str())
            .unwrap_or("")
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
    delay: Duration,
    drop: bool,
}

impl Reply {
    /// A chat completion whose message is `content`.
    pub fn chat(content: &str) -> Self {
        let completion_tokens = content.split_whitespace().count().max(1);
        let body = serde_json::json!({
            "id": "cmpl-loopback",
            "object": "chat.completion",
            "model": "loopback",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 100, "completion_tokens": completion_tokens, "total_tokens": 100 + completion_tokens }
        });
        Self::status(200, &body.to_string())
    }

    /// A model list.
    pub fn models(ids: &[&str]) -> Self {
        let data: Vec<_> = ids
            .iter()
            .map(|id| serde_json::json!({ "id": id, "object": "model" }))
            .collect();
        Self::status(
            200,
            &serde_json::json!({ "object": "list", "data": data }).to_string(),
        )
    }

    /// Any status with a body.
    pub fn status(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_string(),
            headers: Vec::new(),
            delay: Duration::ZERO,
            drop: false,
        }
    }

    /// Closes the connection without answering.
    pub fn drop_connection() -> Self {
        Self {
            drop: true,
            ..Self::status(0, "")
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Answers (or drops) only after `delay`.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Handler = Arc<dyn Fn(&Incoming) -> Reply + Send + Sync>;

/// A running server; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Starts a server on a free loopback port, on a thread of its own.
    pub fn start(
        handler: impl Fn(&Incoming) -> Reply + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        let handler: Handler = Arc::new(handler);
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("loopback".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(std_listener) else {
                        return;
                    };
                    tokio::select! {
                        _ = stopped => {}
                        _ = async {
                            while let Ok((stream, _)) = listener.accept().await {
                                let _ = stream.set_nodelay(true);
                                tokio::spawn(serve(stream, handler.clone(), counter.clone()));
                            }
                        } => {}
                    }
                });
            })?;
        Ok(Self {
            addr,
            requests,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The base URL to configure a provider with: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(stream: TcpStream, handler: Handler, counter: Arc<AtomicUsize>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut length = 0usize;
        let mut authorization = None;
        let mut content_type = None;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "authorization" => authorization = Some(value.trim().to_string()),
                    "content-type" => content_type = Some(value.trim().to_string()),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let number = counter.fetch_add(1, Ordering::SeqCst);
        let incoming = Incoming {
            method,
            path,
            authorization,
            body: serde_json::from_slice(&body).unwrap_or_default(),
            raw: body,
            content_type,
            number,
        };
        let reply = handler(&incoming);
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay).await;
        }
        if reply.drop {
            return;
        }
        let mut head = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            reply.status,
            if reply.status < 400 { "OK" } else { "Error" },
            reply.body.len()
        );
        for (name, value) in &reply.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(&reply.body);
        if reader.get_mut().write_all(head.as_bytes()).await.is_err() {
            return;
        }
    }
}
