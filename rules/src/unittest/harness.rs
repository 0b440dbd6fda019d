//! A scratch store for one unit test: the input series loaded through the store's public
//! API, the rules' output written back to it, queries answered by the PromQL engine.

use std::sync::Arc;
use std::time::Duration;

use taishan_core::{
    AppendError, Labels, ManualClock, MetricBatch, Sample, SeriesSamples, TenantId,
};
use taishan_query::promqltest::script::{parse_labels, parse_script, Command};
use taishan_query::{Engine, QueryLimits};
use taishan_store::{Tsdb, TsdbOptions};

use super::spec::{InputSeries, PromqlTest};
use crate::group::SampleWriter;
use taishan_template::go_fmt::format_e_shortest;

pub(crate) struct Harness {
    _dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    db: Arc<Tsdb>,
    pub(crate) engine: Engine,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.db.close();
    }
}

impl Harness {
    /// A scratch store; subqueries without a step use `eval_every`, as in promtool.
    pub(crate) fn new(eval_every: Duration) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("  temporary directory: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("  runtime: {e}"))?;
        let db = Arc::new(
            Tsdb::open(TsdbOptions::scratch(dir.path().to_path_buf()))
                .map_err(|e| format!("  opening a scratch store: {e}"))?,
        );
        let engine = Engine::new(
            db.clone(),
            QueryLimits::default(),
            Arc::new(ManualClock::at(0)),
        )
        .with_default_subquery_step(eval_every);
        Ok(Self {
            _dir: dir,
            runtime,
            db,
            engine,
        })
    }

    /// Loads `input_series` with values `interval` apart from time 0.
    pub(crate) fn load(&self, input: &[InputSeries], interval: Duration) -> Result<(), String> {
        if input.is_empty() {
            return Ok(());
        }
        let mut script = format!("load {}ms\n", interval.as_millis().max(1));
        for s in input {
            script.push_str(&format!("  {} {}\n", s.series, s.values));
        }
        let commands = parse_script(&script).map_err(|e| {
            let which = input
                .get(e.line.saturating_sub(2))
                .map(|s| s.series.as_str())
                .unwrap_or("");
            format!("    input_series {which:?}: {}", e.message)
        })?;
        let mut batch = Vec::new();
        for c in commands {
            let Command::Load {
                interval_ms,
                series,
                ..
            } = c
            else {
                continue;
            };
            for s in series {
                let samples = s.samples(interval_ms);
                if !samples.is_empty() {
                    batch.push(SeriesSamples {
                        labels: s.labels,
                        samples,
                    });
                }
            }
        }
        // A series given twice keeps its last values, as in promtool.
        let mut merged: Vec<SeriesSamples> = Vec::new();
        for s in batch {
            match merged.iter_mut().find(|m| m.labels == s.labels) {
                Some(m) => *m = s,
                None => merged.push(s),
            }
        }
        let refused = self
            .write_batch(MetricBatch::new(TenantId::default(), merged))
            .map_err(|e| e.to_string())?;
        if refused > 0 {
            return Err(format!("    the store refused {refused} input samples"));
        }
        Ok(())
    }

    /// The scratch store.
    #[cfg(test)]
    pub(crate) fn db(&self) -> &Tsdb {
        &self.db
    }

    fn write_batch(&self, batch: MetricBatch) -> Result<usize, AppendError> {
        let outcome = self.runtime.block_on(self.db.append(batch))?;
        Ok(outcome.rejected_count())
    }

    /// Checks one `promql_expr_test`; the failure text when it does not hold.
    pub(super) fn check_expr(&self, t: &PromqlTest, at: Duration) -> Option<String> {
        let fail = |msg: String| {
            Some(format!(
                "    expr: {:?}, time: {}, err: {msg}",
                t.expr, t.eval_time
            ))
        };
        let out = match self
            .engine
            .instant(&TenantId::default(), &t.expr, at.as_millis() as i64)
        {
            Ok(o) => o,
            Err(e) => return fail(e.to_string()),
        };
        let mut got: Vec<(Labels, f64)> = match out.value {
            taishan_query::QueryValue::Vector(v) => {
                v.into_iter().map(|(l, s)| (l, s.value)).collect()
            }
            taishan_query::QueryValue::Scalar(s) => vec![(Labels::default(), s.value)],
            _ => return fail("rule result is not a vector or scalar".into()),
        };
        let mut expected = Vec::new();
        for s in &t.exp_samples {
            let labels = if s.labels.trim().is_empty() {
                Labels::default()
            } else {
                match parse_labels(&s.labels) {
                    Ok(l) => l,
                    Err(e) => return fail(format!("labels {:?}: {e}", s.labels)),
                }
            };
            expected.push((labels, s.value));
        }
        got.sort_by(|a, b| a.0.cmp(&b.0));
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        // Exact equality, as promtool compares (so NaN never matches).
        let same = got.len() == expected.len()
            && got
                .iter()
                .zip(&expected)
                .all(|(g, e)| g.0 == e.0 && g.1 == e.1);
        if same {
            return None;
        }
        let show = |v: &[(Labels, f64)]| {
            if v.is_empty() {
                return "nil".to_string();
            }
            v.iter()
                .map(|(l, x)| format!("{l} {}", format_e_shortest(*x).to_uppercase()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Some(format!(
            "    expr: {:?}, time: {},\n        exp: {}\n        got: {}",
            t.expr,
            t.eval_time,
            show(&expected),
            show(&got)
        ))
    }
}

impl SampleWriter for Harness {
    fn write(
        &self,
        tenant: &TenantId,
        series: Vec<(Labels, Sample)>,
    ) -> Result<usize, AppendError> {
        let batch = MetricBatch::from_samples(tenant.clone(), series);
        self.write_batch(batch)
    }
}
