//! A local Lambda: one function's real binary (its `main.rs`, as deployed
//! as `bootstrap`) run as a child process under an emulation of the Lambda
//! Runtime API (2018-06-01) on 127.0.0.1 — the same protocol
//! `lambda_runtime` speaks in AWS:
//!
//!   GET  /2018-06-01/runtime/invocation/next          the next event
//!   POST /2018-06-01/runtime/invocation/{id}/response its answer
//!   POST /2018-06-01/runtime/invocation/{id}/error    its failure
//!   POST /2018-06-01/runtime/init/error               start-up failed
//!
//! The process gets the environment Lambda gives (function name, memory,
//! log group, region, the template's variables resolved to the local
//! resources, credentials — here the function's local identity, so the
//! endpoint holds it to its policies) plus `AWS_ENDPOINT_URL`, the one
//! local difference. One instance, one invocation at a time (as one Lambda
//! execution environment); a second caller waits.
//!
//! Not emulated: several instances, freezing between invocations, the
//! extensions and telemetry APIs, response streaming.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, Mutex};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// What to run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Logical id in the template (also the function name).
    pub name: String,
    pub binary: PathBuf,
    /// The template's variables, resolved, and the local identity.
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub memory_mb: u64,
    /// Where the process's stdout and stderr go (its CloudWatch log).
    pub log: Option<PathBuf>,
}

/// How an invocation ended other than with a response.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The function reported an error (`/error`): Lambda's `Unhandled`.
    #[error("function error: {0}")]
    Function(Value),
    #[error("the function did not answer within its timeout of {0:?}")]
    Timeout(Duration),
    #[error("the function's process is gone: {0}")]
    Gone(String),
}

struct Job {
    id: String,
    payload: Bytes,
    deadline_ms: u64,
    reply: oneshot::Sender<Result<Bytes, Value>>,
}

struct Shared {
    name: String,
    jobs: Mutex<mpsc::Receiver<Job>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Result<Bytes, Value>>>>,
    /// Set on the first `/next`: the process finished its init.
    ready: Mutex<Option<oneshot::Sender<()>>>,
    init_error: Mutex<Option<Value>>,
}

pub struct LocalLambda {
    pub name: String,
    jobs: mpsc::Sender<Job>,
    timeout: Duration,
    /// Spawn → first `/runtime/invocation/next`: the cold init.
    pub init: Duration,
    /// One invocation at a time, as one execution environment.
    turn: Mutex<()>,
    child: tokio::process::Child,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for LocalLambda {
    fn drop(&mut self) {
        // The process goes with `kill_on_drop`; its Runtime API too.
        self.server.abort();
    }
}

impl std::fmt::Debug for LocalLambda {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLambda")
            .field("name", &self.name)
            .field("init", &self.init)
            .finish_non_exhaustive()
    }
}

impl LocalLambda {
    /// Starts the Runtime API and the process; returns once the process
    /// asks for its first event (its init is done), or fails if it exits or
    /// reports an init error first.
    pub async fn start(spec: Spec) -> Result<Arc<Self>, Error> {
        let (tx, rx) = mpsc::channel(64);
        let (ready_tx, ready_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            name: spec.name.clone(),
            jobs: Mutex::new(rx),
            pending: Mutex::new(HashMap::new()),
            ready: Mutex::new(Some(ready_tx)),
            init_error: Mutex::new(None),
        });
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let api = listener.local_addr()?;
        let server = tokio::spawn(serve(listener, shared.clone()));
        let mut cmd = tokio::process::Command::new(&spec.binary);
        cmd.env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                spec.memory_mb.to_string(),
            )
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", spec.name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
            .env("LAMBDA_TASK_ROOT", "/var/task")
            .env("_HANDLER", "bootstrap")
            .env("TZ", ":UTC")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        match &spec.log {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                cmd.stdout(file.try_clone()?).stderr(file);
            }
            None => {
                cmd.stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null());
            }
        }
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{}: cannot start {}: {e}", spec.name, spec.binary.display()))?;
        tokio::select! {
            r = ready_rx => r.map_err(|_| format!("{}: runtime API closed", spec.name))?,
            status = child.wait() => {
                let detail = shared.init_error.lock().await.clone();
                return Err(format!("{} exited during init ({status:?}): {detail:?}", spec.name).into());
            }
            _ = tokio::time::sleep(Duration::from_secs(10)) => {
                // Lambda's init phase is limited to 10 s.
                return Err(format!("{}: init took over 10 s", spec.name).into());
            }
        }
        let init = started.elapsed();
        Ok(Arc::new(Self {
            name: spec.name,
            jobs: tx,
            timeout: spec.timeout,
            init,
            turn: Mutex::new(()),
            child,
            server,
        }))
    }

    /// The process's peak resident memory so far, in KiB (Linux only).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Invokes the function with `payload` and waits for its answer.
    pub async fn invoke(&self, payload: &Value) -> Result<Value, InvokeError> {
        let bytes = self.invoke_raw(Bytes::from(payload.to_string())).await?;
        serde_json::from_slice(&bytes).or(Ok(Value::Null))
    }

    async fn invoke_raw(&self, payload: Bytes) -> Result<Bytes, InvokeError> {
        let _turn = self.turn.lock().await;
        let (reply, answer) = oneshot::channel();
        let deadline = std::time::SystemTime::now() + self.timeout;
        let deadline_ms = deadline
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let job = Job {
            id: evently_core::new_id().to_lowercase(),
            payload,
            deadline_ms,
            reply,
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| InvokeError::Gone(self.name.clone()))?;
        match tokio::time::timeout(self.timeout + Duration::from_secs(1), answer).await {
            Ok(Ok(Ok(body))) => Ok(body),
            Ok(Ok(Err(error))) => Err(InvokeError::Function(error)),
            Ok(Err(_)) => Err(InvokeError::Gone(self.name.clone())),
            Err(_) => Err(InvokeError::Timeout(self.timeout)),
        }
    }
}

type Resp = hyper::Response<Full<Bytes>>;

fn reply(status: u16, body: impl Into<Bytes>) -> Resp {
    let mut resp = hyper::Response::new(Full::new(body.into()));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    resp
}

async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<Incoming>| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(route(&shared, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn route(shared: &Shared, req: hyper::Request<Incoming>) -> Resp {
    const BASE: &str = "/2018-06-01/runtime/";
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(BASE) else {
        return reply(404, "not a runtime API path");
    };
    let method = req.method().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    match (method.as_str(), rest) {
        ("GET", "invocation/next") => {
            if let Some(ready) = shared.ready.lock().await.take() {
                let _ = ready.send(());
            }
            let job = shared.jobs.lock().await.recv().await;
            let Some(job) = job else {
                return reply(500, "shutting down");
            };
            shared
                .pending
                .lock()
                .await
                .insert(job.id.clone(), job.reply);
            let mut resp = reply(200, job.payload);
            let headers = resp.headers_mut();
            let arn = crate::iam::arn("lambda", &format!("function:{}", shared.name));
            for (k, v) in [
                ("lambda-runtime-aws-request-id", job.id),
                ("lambda-runtime-deadline-ms", job.deadline_ms.to_string()),
                ("lambda-runtime-invoked-function-arn", arn),
                (
                    "lambda-runtime-trace-id",
                    format!("Root=1-{}", evently_core::new_id().to_lowercase()),
                ),
                ("content-type", "application/json".into()),
            ] {
                if let Ok(v) = v.parse() {
                    headers.insert(k, v);
                }
            }
            resp
        }
        ("POST", "init/error") => {
            let detail = serde_json::from_slice(&body).unwrap_or(Value::Null);
            *shared.init_error.lock().await = Some(detail);
            reply(202, "{}")
        }
        ("POST", rest) => {
            let Some((id, outcome)) = rest
                .strip_prefix("invocation/")
                .and_then(|r| r.rsplit_once('/'))
            else {
                return reply(404, "unknown runtime API path");
            };
            let Some(waiter) = shared.pending.lock().await.remove(id) else {
                return reply(400, "unknown request id");
            };
            let _ = match outcome {
                "response" => waiter.send(Ok(body)),
                "error" => waiter.send(Err(serde_json::from_slice(&body).unwrap_or(Value::Null))),
                _ => return reply(404, "unknown runtime API path"),
            };
            reply(202, "{}")
        }
        _ => reply(404, "unknown runtime API path"),
    }
}

/// Starts the real binaries of `binaries` (by binary name) found in
/// `bin_dir`, each with the environment and identity the template gives
/// it in the stack `names` describes. Logs go to `log_dir/<binary>.log`.
pub async fn start_all(
    template: &crate::template::Template,
    names: &crate::iam::Names,
    identities: &crate::iam::Identities,
    bin_dir: &std::path::Path,
    binaries: &[&str],
    log_dir: Option<&std::path::Path>,
) -> Result<HashMap<String, Arc<LocalLambda>>, Error> {
    let logical: HashMap<&str, &str> = template
        .functions
        .iter()
        .map(|(l, b)| (b.as_str(), l.as_str()))
        .collect();
    let logical = &logical;
    let starts = binaries.iter().map(|binary| async move {
        let name = logical
            .get(binary)
            .ok_or(format!("template has no function {binary}"))?;
        let spec = Spec {
            name: (*name).to_owned(),
            binary: bin_dir.join(binary),
            env: crate::iam::environment(template, names, identities, binary)?,
            timeout: template.timeout_of(binary),
            memory_mb: template.memory_of(binary),
            log: log_dir.map(|d| d.join(format!("{binary}.log"))),
        };
        Ok::<_, Error>(((*binary).to_owned(), LocalLambda::start(spec).await?))
    });
    futures::future::try_join_all(starts)
        .await
        .map(|v| v.into_iter().collect())
}
