//! The NAB corpus on disk: `data/<category>/<name>.csv` (`timestamp,value`) and
//! `labels/combined_windows.json` (relative path → list of `[start, end]` timestamps).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

/// Why the corpus could not be read, naming the file and, for data, the line.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Data {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{path}: {reason}")]
    Labels { path: PathBuf, reason: String },
}

/// One labelled series of the corpus.
#[derive(Debug, Clone)]
pub struct NabFile {
    /// `category/name.csv`, the key of the label file.
    pub relative: String,
    /// Seconds since the epoch (the corpus' timestamps carry no zone; read as UTC).
    pub timestamps: Vec<i64>,
    pub values: Vec<f64>,
    /// Anomaly windows as inclusive row ranges.
    pub windows: Vec<(usize, usize)>,
    /// The original timestamp text, written back unchanged in the per-file results.
    pub timestamp_text: Vec<String>,
}

impl NabFile {
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `category` part of the relative path.
    pub fn category(&self) -> &str {
        self.relative.split('/').next().unwrap_or("")
    }

    /// File name part of the relative path.
    pub fn name(&self) -> &str {
        self.relative.rsplit('/').next().unwrap_or("")
    }
}

/// Reads every file of the corpus under `root`, sorted by relative path.
pub fn load_corpus(root: &Path) -> Result<Vec<NabFile>, CorpusError> {
    let labels_path = root.join("labels").join("combined_windows.json");
    let labels = read_labels(&labels_path)?;
    let data = root.join("data");
    let mut files = Vec::with_capacity(labels.len());
    for (relative, windows) in &labels {
        let path = data.join(relative);
        let text = std::fs::read_to_string(&path).map_err(|source| CorpusError::Io {
            path: path.clone(),
            source,
        })?;
        let mut file = parse_series(&path, relative, &text)?;
        file.windows = window_rows(&labels_path, &file, windows)?;
        files.push(file);
    }
    Ok(files)
}

fn read_labels(path: &Path) -> Result<BTreeMap<String, Vec<[String; 2]>>, CorpusError> {
    let text = std::fs::read_to_string(path).map_err(|source| CorpusError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| CorpusError::Labels {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Parses `timestamp,value` rows after a header line.
pub fn parse_series(path: &Path, relative: &str, text: &str) -> Result<NabFile, CorpusError> {
    let mut file = NabFile {
        relative: relative.to_string(),
        timestamps: Vec::new(),
        values: Vec::new(),
        windows: Vec::new(),
        timestamp_text: Vec::new(),
    };
    let bad = |line: usize, reason: String| CorpusError::Data {
        path: path.to_path_buf(),
        line,
        reason,
    };
    for (index, row) in text.lines().enumerate().skip(1) {
        let line = index + 1;
        if row.trim().is_empty() {
            continue;
        }
        let (stamp, value) = row
            .split_once(',')
            .ok_or_else(|| bad(line, format!("expected `timestamp,value`, found {row:?}")))?;
        let seconds =
            parse_timestamp(stamp).ok_or_else(|| bad(line, format!("bad timestamp {stamp:?}")))?;
        let value: f64 = value
            .trim()
            .parse()
            .map_err(|_| bad(line, format!("bad value {value:?}")))?;
        file.timestamps.push(seconds);
        file.values.push(value);
        file.timestamp_text.push(stamp.to_string());
    }
    Ok(file)
}

/// `YYYY-MM-DD HH:MM:SS` with optional fractional seconds, as seconds since the epoch.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    let whole = text.split('.').next().unwrap_or(text);
    NaiveDateTime::parse_from_str(whole, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

fn window_rows(
    labels_path: &Path,
    file: &NabFile,
    windows: &[[String; 2]],
) -> Result<Vec<(usize, usize)>, CorpusError> {
    let row_of = |text: &str| -> Result<usize, CorpusError> {
        let seconds = parse_timestamp(text).ok_or_else(|| CorpusError::Labels {
            path: labels_path.to_path_buf(),
            reason: format!("{}: bad window timestamp {text:?}", file.relative),
        })?;
        file.timestamps
            .iter()
            .position(|&t| t == seconds)
            .ok_or_else(|| CorpusError::Labels {
                path: labels_path.to_path_buf(),
                reason: format!("{}: window edge {text:?} is not a row", file.relative),
            })
    };
    windows
        .iter()
        .map(|[start, end]| Ok((row_of(start)?, row_of(end)?)))
        .collect()
}
