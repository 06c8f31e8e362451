//! Request and response bodies of the `/v1` API, as JSON.
//!
//! The node's off-chain worker speaks this API with the types of
//! [`tessera_primitives::trainer_api`], and the requests are those types: [`JobRequest`],
//! [`VerifyRequest`], [`AggregateRequest`] and [`FetchRequest`], re-exported here. They name
//! everything the trainer accepts, also what no worker sends (built-in datasets, the `cpu` and
//! `cuda` backends, a re-execution without a job id), and [`super::request`] reads them into
//! the trainer's own types. Where a report is exactly the chain's, it is the chain's type too
//! ([`RunState`], [`Stored`]). The rest are the trainer's own: what the worker never reads
//! ([`Health`], [`Cancelled`], ...), and reports that are supersets of the chain's:
//! [`JobStatus`], [`Commitments`] and [`Aggregate`] carry fields for people (a commitment's
//! mean loss, say) that the worker's types ignore when parsing them.
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
//! (`--memory-budget-mib`), and `422` `unsupported_backend`, `invalid_digest` or
//! `reference_only` for a backend this build lacks, a start state's digest that is not hex
//! or a re-execution on another backend than the reference ([`super::request::RequestError`]).
//! Work the trainer has no room for now is `503` with `Retry-After`:
//! `queue_full` when its queue is full, `memory_full` when its memory does not fit beside the
//! work admitted (see [`super::capacity`]). A fetch from a peer that cannot be reached or does not answer in
//! time is `502` `peer_unreachable`, with the transport's account in the trainer's log only.
//! A request the control API does not admit is `403` `host_not_allowed` or
//! `origin_not_allowed`, `401` `unauthorized` or `415` `json_required`; one the public listener
//! has no room for is `429` `rate_limited` or `503` `busy`, with `Retry-After`.

use crate::{hwinfo::HardwareReport, train::Commitment};
use serde::{Deserialize, Serialize};
use tessera_primitives::digest::H256;

pub use crate::{aggregate::Aggregate, store::GcReport};
pub use tessera_primitives::trainer_api::{
	AggregateRequest, FetchRequest, JobRequest, RunState, Stored, VerifyRequest,
};

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
	/// Work units of the run once done ([`TrainingSpec::work`](super::request::TrainingSpec::work)):
	/// what the chain pays for it.
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

/// Commitments made by a re-execution: a superset of the chain's
/// [`trainer_api::Reexecution`](tessera_primitives::trainer_api::Reexecution), as
/// [`JobStatus`] is of its report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Commitments {
	/// In step order.
	pub commitments: Vec<Commitment>,
	/// How far each state the request named to measure lies from the result, in its order
	/// ([`trainer_api::Reexecution::distances`](tessera_primitives::trainer_api::Reexecution::distances));
	/// absent when it named none.
	#[serde(default, skip_serializing_if = "Vec::is_empty")]
	pub distances: Vec<u32>,
}
