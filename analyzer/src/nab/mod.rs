//! The Numenta Anomaly Benchmark: the corpus, its scoring, and a runner that puts any
//! detector through it (whole corpus, the held-out check, the per-file results).

pub mod corpus;
pub mod holdout;
pub mod run;
pub mod score;

pub use corpus::{load_corpus, CorpusError, NabFile};
pub use holdout::{held_out_check, tuning_grid, Candidate, HeldOut};
pub use run::{evaluate, score_corpus, score_file, write_results, Evaluation};
pub use score::{load_profiles, Profile, ProfileResult};
