//! Request and response bodies of the `/v1` API, as JSON.
//!
//! The node's off-chain worker speaks this API with the types of
//! [`tessera_primitives::trainer_api`]. Where the trainer's body is exactly the chain's, it is
//! the chain's type, re-exported here ([`Round`], [`RunState`], [`FetchRequest`], [`Stored`]).
//! The trainer's own types are the rest: what the worker never sends or reads ([`Health`],
//! [`Cancelled`], ...), and the requests, which accept more than the worker sends (built-in
//! datasets, the `cpu` and `cuda` backends, a re-execution without a job id). Its reports are
//! supersets of the chain's: [`JobStatus`], [`Commitments`] and [`Aggregate`] carry fields for
//! people (a commitment's mean loss, say) that the worker's types ignore when parsing them.
//!
//! The control API serves every route below, to requests [`super::access`] admits; the public
//! listener ([`super::public`]) serves `GET` (and `HEAD`) `/v1/blobs/{cid}` only.
//!
//! | Method and path              | Request                 | Response                     |
//! |------------------------------|-------------------------|------------------------------|
//! | `GET /v1/health`             |                         | [`Health`]                   |
//! | `GET /v1/hwinfo`             |                         | [`Hardware`]                 |
//! | `POST /v1/jobs`              | [`JobRequest`]          | `202` [`JobStatus`] (new), `200` (known), `409` (same id, other job) |
//! | `GET /v1/jobs/{id}`          | `?from=&limit=` ([`PageQuery`], optional) | [`JobStatus`] (of a federated job: its latest round); with a query, a [`Page`] of its commitments |
//! | `DELETE /v1/jobs/{id}`       |                         | [`Cancelled`]: runs stopped and reports dropped |
//! | `POST /v1/verify`            | [`VerifyRequest`]       | [`Commitments`] (`202`: none yet) |
//! | `POST /v1/aggregate`         | [`AggregateRequest`]    | [`Aggregate`]                |
//! | `PUT /v1/blobs`              | raw bytes               | [`Stored`]                   |
//! | `GET /v1/blobs/{cid}`        |                         | raw bytes, checked against the CID |
//! | `POST /v1/blobs/{cid}/fetch` | [`FetchRequest`]        | [`Stored`]                   |
//! | `POST /v1/gc`                |                         | [`GcReport`]                 |
//!
//! A blob stored by `PUT` or a fetch is pinned, and on disk, when its [`Stored`] answers:
//! `POST /v1/gc` keeps it until it is unpinned.
//!
//! JSON bodies are limited to 1 MiB and blobs to [`super::MAX_BLOB_BYTES`]. Errors are
//! [`super::ErrorBody`] with a 4xx status for anything the request got wrong: `422`
//! `over_limit`, naming the bound, for a job or re-execution that would cost more than one of
//! [`crate::limits`] allows, or more memory than its share of the whole budget
//! (`--memory-budget-mib`). Work the trainer has no room for now is `503` with `Retry-After`:
//! `queue_full` when its queue is full, `memory_full` when its memory does not fit beside the
//! work admitted (see [`super::capacity`]). A fetch from a peer that cannot be reached or does not answer in
//! time is `502` `peer_unreachable`, with the transport's account in the trainer's log only.
//! A request the control API does not admit is `403` `host_not_allowed` or
//! `origin_not_allowed`, `401` `unauthorized` or `415` `json_required`; one the public listener
//! has no room for is `429` `rate_limited` or `503` `busy`, with `Retry-After`.

use crate::{
	aggregate::{Privacy, Update},
	backend::Backend,
	hwinfo::HardwareReport,
	model::Architecture,
	train::{Commitment, HyperParameters},
};
use serde::{Deserialize, Serialize};
use tessera_primitives::digest::H256;

pub use crate::{aggregate::Aggregate, data::DatasetRef, state::StartState, store::GcReport};
pub use tessera_primitives::trainer_api::{FetchRequest, Round, RunState, Stored};

/// The trainer's version and API version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
	/// The trainer's crate version.
	pub version: String,
	/// The API version in the paths (`v1`).
	pub api: String,
}

/// The hardware report and its hash.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hardware {
	/// What `hwinfo` reports.
	pub report: HardwareReport,
	/// Its BLAKE2b-256: the node's `hw_hash`.
	pub hw_hash: H256,
}

/// What to train: everything that decides the commitments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingSpec {
	/// The network.
	pub architecture: Architecture,
	/// The data.
	pub dataset: DatasetRef,
	/// Optimiser settings, steps, commit interval and seed.
	pub hyper_parameters: HyperParameters,
	/// Where to train; `reference` for anything a chain will compare.
	pub backend: Backend,
	/// The training state to start from (a fine-tuning job's base model, with the digest
	/// the model registry holds for it); without it the initial weights are drawn from the
	/// seed.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub base_state: Option<StartState>,
	/// Where to resume instead: a committed state of this very job, for a replica that took
	/// over from another mid-job.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub resume: Option<Resume>,
	/// For a round of a federated job: the round, and the shard of the data to train on, in
	/// the order of the data. A shard that does not exist (`shard >= shards`) is refused with
	/// `invalid_round`, one with no samples with `empty_shard`.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub round: Option<Round>,
}

impl TrainingSpec {
	/// The work units a run of this spec trains, by the rule the chain pays by
	/// ([`tessera_primitives::job::work_of_steps`]): its steps from where it starts (its
	/// `resume` step, else 0) × batch size × the architecture's work per sample; `None` for a
	/// network or batch the chain cannot name.
	pub fn work(&self) -> Option<u64> {
		let hyper = &self.hyper_parameters;
		let start = self.resume.as_ref().map_or(0, |resume| resume.step);
		let batch_size = u32::try_from(hyper.batch_size).ok()?;
		let per_sample = self.architecture.work_per_sample()?;
		Some(tessera_primitives::job::work_of_steps(start..hyper.steps, batch_size, per_sample))
	}
}

/// A committed state and the step it was committed at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
	/// The state, and the digest agreed for it.
	#[serde(flatten)]
	pub state: StartState,
	/// Steps completed in it.
	pub step: u64,
}

/// Start (or look up) a training job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRequest {
	/// The chain's job id: asking twice for the same id never trains twice. Each round of a
	/// federated job (and a round started again from another state) is a run of its own.
	pub job: u64,
	/// What to train.
	#[serde(flatten)]
	pub spec: TrainingSpec,
}

/// A job's progress and its commitments so far: a superset of the chain's
/// [`trainer_api::JobStatus`](tessera_primitives::trainer_api::JobStatus), with the steps done
/// and to do, and each [`Commitment`]'s CID of its gradients and mean loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
	/// The chain's job id.
	pub job: u64,
	/// Where it is; `failed` comes with `error`.
	pub state: RunState,
	/// Steps completed.
	pub step: u64,
	/// Steps in the job.
	pub steps: u64,
	/// Commitments made so far, in step order, from the first checkpoint after where the job
	/// started (its `resume` step, else 0).
	pub commitments: Vec<Commitment>,
	/// Why it failed.
	pub error: Option<String>,
	/// Work units of the run once done ([`TrainingSpec::work`]): what the chain pays for it.
	pub work: Option<u64>,
	/// Where `commitments` lie among all of the job's, when a page of them was asked for
	/// (`GET /v1/jobs/{id}?from=&limit=`); absent, and `commitments` all of them, otherwise.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub page: Option<Page>,
}

/// The query of `GET /v1/jobs/{id}` asking for a page of the commitments: those from index
/// `from` (0 when absent), at most `limit` of them (at most, and when absent,
/// [`super::MAX_PAGE`]). Without either, the report holds every commitment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageQuery {
	/// The index of the first commitment, from 0.
	pub from: Option<usize>,
	/// How many commitments at most.
	pub limit: Option<usize>,
}

/// Where a page of a job's commitments lies among all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
	/// The index of the page's first commitment.
	pub from: usize,
	/// The job's commitments so far, on every page.
	pub total: usize,
	/// The `from` of the next page, if there are commitments after this one.
	pub next: Option<usize>,
}

/// What `DELETE /v1/jobs/{id}` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancelled {
	/// The job.
	pub job: u64,
	/// Runs stopped (each before its next step; a run waiting for its turn never starts).
	pub cancelled: usize,
	/// Finished runs whose reports were dropped.
	pub evicted: usize,
}

/// Re-execute a segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifyRequest {
	/// The job's training spec.
	#[serde(flatten)]
	pub spec: TrainingSpec,
	/// The committed state the segment starts from, and the digest every replica named for
	/// it; absent for the job's own start (`base_state`, or the seed), which `from_step`
	/// must then be 0 for.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub start_state: Option<StartState>,
	/// Steps completed in that state.
	pub from_step: u64,
	/// The step to re-execute up to.
	pub to_step: u64,
}

/// Commitments made by a re-execution: a superset of the chain's
/// [`trainer_api::Reexecution`](tessera_primitives::trainer_api::Reexecution), as
/// [`JobStatus`] is of its report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Commitments {
	/// In step order.
	pub commitments: Vec<Commitment>,
}

/// Average a round of updates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AggregateRequest {
	/// The network every update is a state of.
	pub architecture: Architecture,
	/// The data the round trains on (it fixes the input and output sizes).
	pub dataset: DatasetRef,
	/// The state the round started from; required with `privacy`.
	pub base_state_cid: Option<String>,
	/// The contributions.
	pub updates: Vec<Update>,
	/// Differential privacy, if wanted.
	pub privacy: Option<Privacy>,
}
