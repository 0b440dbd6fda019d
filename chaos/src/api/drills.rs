//! Drills run by `taishan up` itself: from the drills page, the API, or the schedule
//! (`chaos.schedule`, a recurring game day). One drill runs at a time; its report goes to
//! the history like a report of `taishan drill run`.
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /api/v1/chaos/drills` | the drills in `chaos.drills_dir` (problems at file:line), the one running with its progress |
//! | `POST /api/v1/chaos/drills/{name}/run` | start one: `{"by": "who", "duration": "45s"}` (duration optional); 409 while another runs |
//! | `POST /api/v1/chaos/drills/stop` | stop the running drill (its faults revert at once) |

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::drill::{parse_drill, run_drill, DrillSpec, RunOptions};
use crate::ScheduledDrill;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{json, Value};
use taishan_core::Clock;
use tokio_util::sync::CancellationToken;

use super::history::DrillHistory;
use super::http_platform::HttpPlatform;
use super::{answer, error};

/// Lines of progress kept for the page.
const PROGRESS_LINES: usize = 200;

struct Running {
    drill: String,
    by: String,
    started_ms: i64,
    progress: Arc<Mutex<Vec<String>>>,
    options: RunOptions,
}

/// The drills of a directory and the one running.
pub struct DrillDesk {
    dir: PathBuf,
    history: Arc<DrillHistory>,
    clock: Arc<dyn Clock>,
    /// This process's API address, known once it is bound.
    api: OnceLock<HttpPlatform>,
    running: Mutex<Option<Running>>,
}

impl DrillDesk {
    /// A desk over the drill files in `dir`.
    pub fn new(dir: &Path, history: Arc<DrillHistory>, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            dir: dir.to_path_buf(),
            history,
            clock,
            api: OnceLock::new(),
            running: Mutex::new(None),
        })
    }

    /// How the runner reaches the platform (this process's API, with its own
    /// credential).
    pub fn set_api(&self, platform: HttpPlatform) {
        let _ = self.api.set(platform);
    }

    /// Every drill file: its spec, or its problems.
    fn catalog(&self) -> Vec<(String, Result<DrillSpec, Vec<String>>)> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let shown = p.display().to_string();
                let read = std::fs::read_to_string(&p)
                    .map_err(|e| vec![format!("{shown}: {e}")])
                    .and_then(|text| {
                        parse_drill(&shown, &text)
                            .map_err(|ps| ps.iter().map(ToString::to_string).collect())
                    });
                (shown, read)
            })
            .collect()
    }

    fn find(&self, name: &str) -> Result<DrillSpec, (StatusCode, String)> {
        let found = self
            .catalog()
            .into_iter()
            .find(|(_, r)| r.as_ref().is_ok_and(|s| s.name == name));
        match found {
            Some((_, Ok(spec))) => Ok(spec),
            _ => Err((
                StatusCode::NOT_FOUND,
                format!("no valid drill named {name:?} in {}", self.dir.display()),
            )),
        }
    }

    /// Starts drill `name`; refused while another runs.
    pub fn start(
        self: &Arc<Self>,
        name: &str,
        duration: Option<Duration>,
        by: &str,
    ) -> Result<(), (StatusCode, String)> {
        let spec = self.find(name)?;
        let spec = match duration {
            Some(d) => spec.with_fault_duration(d),
            None => spec,
        };
        let Some(api) = self.api.get().cloned() else {
            return Err((StatusCode::SERVICE_UNAVAILABLE, "still starting".into()));
        };
        let progress = Arc::new(Mutex::new(Vec::new()));
        let lines = progress.clone();
        let options = RunOptions {
            progress: Arc::new(move |line: &str| {
                let mut l = lines.lock();
                if l.len() < PROGRESS_LINES {
                    l.push(line.to_string());
                }
            }),
            ..RunOptions::default()
        };
        {
            let mut running = self.running.lock();
            if let Some(r) = running.as_ref() {
                return Err((
                    StatusCode::CONFLICT,
                    format!(
                        "drill {} is running (started by {}); one at a time",
                        r.drill, r.by
                    ),
                ));
            }
            *running = Some(Running {
                drill: spec.name.clone(),
                by: by.to_string(),
                started_ms: self.clock.now_ms(),
                progress,
                options: options.clone(),
            });
        }
        tracing::warn!(drill = %spec.name, by, "drill started");
        let desk = self.clone();
        tokio::spawn(async move {
            let platform = api;
            let report = run_drill(&spec, &platform, desk.clock.as_ref(), &options).await;
            let verdict = format!("{:?}", report.verdict).to_lowercase();
            match serde_json::to_value(&report)
                .map_err(|e| e.to_string())
                .and_then(|v| desk.history.record(v))
            {
                Ok(id) => tracing::warn!(drill = %spec.name, verdict, id, "drill finished"),
                Err(e) => {
                    tracing::error!(drill = %spec.name, error = %e, "drill report not recorded")
                }
            }
            *desk.running.lock() = None;
        });
        Ok(())
    }

    /// Stops the running drill; whether one was running.
    pub fn stop(&self) -> bool {
        let running = self.running.lock();
        running
            .as_ref()
            .map(|r| r.options.stop.store(true, Ordering::Relaxed))
            .is_some()
    }

    fn status(&self) -> Value {
        let drills: Vec<Value> = self
            .catalog()
            .into_iter()
            .map(|(file, r)| match r {
                Ok(s) => json!({"file": file, "name": s.name, "description": s.description,
                    "faults": s.faults.len(), "expect": s.expect.alert}),
                Err(problems) => json!({"file": file, "problems": problems}),
            })
            .collect();
        let running = self.running.lock().as_ref().map(|r| {
            json!({"drill": r.drill, "by": r.by, "started_ms": r.started_ms,
                   "progress": r.progress.lock().clone()})
        });
        json!({"dir": self.dir.display().to_string(), "drills": drills, "running": running})
    }

    /// Runs the scheduled drills when their last run is older than their period, until
    /// `cancel`.
    pub async fn run_schedule(
        self: Arc<Self>,
        schedule: Vec<ScheduledDrill>,
        cancel: CancellationToken,
    ) {
        if schedule.is_empty() {
            return;
        }
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
            let now = self.clock.now_ms();
            for s in &schedule {
                let last = self.history.last_started_ms(&s.drill);
                if last.is_some_and(|t| now - t < s.every.as_millis() as i64) {
                    continue;
                }
                match self.start(&s.drill, s.duration, "schedule") {
                    Ok(()) => break,
                    Err((StatusCode::CONFLICT, _)) => break,
                    Err((_, e)) => {
                        tracing::warn!(drill = %s.drill, error = %e, "scheduled drill not started")
                    }
                }
            }
        }
    }
}

/// The routes over `desk`.
pub fn routes(desk: Arc<DrillDesk>) -> Router {
    Router::new()
        .route("/api/v1/chaos/drills", get(list))
        .route("/api/v1/chaos/drills/stop", post(stop))
        .route("/api/v1/chaos/drills/{name}/run", post(start))
        .with_state(desk)
}

async fn list(State(d): State<Arc<DrillDesk>>) -> Response {
    answer(StatusCode::OK, d.status())
}

async fn stop(State(d): State<Arc<DrillDesk>>) -> Response {
    answer(StatusCode::OK, json!({"stopped": d.stop()}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    by: String,
    #[serde(default, with = "humantime_serde")]
    duration: Option<Duration>,
}

async fn start(
    State(d): State<Arc<DrillDesk>>,
    UrlPath(name): UrlPath<String>,
    body: axum::body::Bytes,
) -> Response {
    let b: StartBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            let expected = r#"{"by": "who", "duration": "45s"}"#;
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body: {e}; expected {expected}"),
            );
        }
    };
    if b.by.trim().is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "\"by\" must name who runs the drill".into(),
        );
    }
    match d.start(&name, b.duration, &b.by) {
        Ok(()) => answer(StatusCode::ACCEPTED, json!({"drill": name})),
        Err((status, e)) => error(status, e),
    }
}
