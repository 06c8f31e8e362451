//! What proof of compute and its child pallets know of each other. A child pallet sees jobs
//! only through the trait the parent implements for it ([`TrapJobs`]), and the parent
//! reaches a child only through the hooks its `Config` names ([`Config::Traps`]), so that
//! neither reads or writes the other's storage.
//!
//! [`Config::Traps`]: crate::Config::Traps

use alloc::vec::Vec;
use polkadot_sdk::{
	frame_support::weights::Weight,
	sp_core::H256,
	sp_runtime::{DispatchError, DispatchResult},
};
use tessera_primitives::{CommitmentPayload, JobId, JobState, NodeId, TrainedWeights};

/// What a trap needs to know of a job, read at once.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TrapJob {
	/// Where the job stands: a trap springs only on an accepted job.
	pub state: JobState,
	/// Its checkpoints: a trap's answer is the last one's weights digest.
	pub checkpoints: u32,
	/// The state and weights digest its replicas' majority agreed on, once they did.
	pub agreed: Option<TrainedWeights>,
	/// Whether its replicas' results are bit for bit the same wherever they are computed (a
	/// reference-backend job's), so that a sealed digest can judge them; a GPU job's differ
	/// by rounding from device to device.
	pub reproducible: bool,
}

/// What a trap task would train, as proof of compute would post it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TrapRun {
	/// The seed the re-run job trained with itself.
	pub source_seed: u64,
	/// The hash (blake2-256) of the spec the trap trains: the re-run job's, with the task's
	/// seed in its place. Two tasks of the same hash train the same bits.
	pub spec_hash: H256,
}

/// What proof of compute offers the traps pallet ([`crate::traps`]): a view of a job, its
/// replicas' reveals, the posting of a trap job, and the one way a trap changes a job,
/// settling it as sprung.
pub trait TrapJobs<AccountId, BlockNumber> {
	/// The job `job`, if it exists.
	fn job(job: JobId) -> Option<TrapJob>;

	/// Whether `job` may be re-run as a trap: it exists, its replicas' majority was accepted
	/// (it is accepted or finalized), it runs on the reference backend, and it is no
	/// federated job.
	fn rerunnable(job: JobId) -> bool;

	/// What a trap of `task` would train; `None` once its re-run job is gone.
	fn trap_run(task: crate::traps::TrapTask) -> Option<TrapRun>;

	/// Posts `task` as a job of the treasury's, through the path every job takes: the
	/// re-run job's spec with the task's seed, its budget, redundancy and duration (counted
	/// from now). Nothing of a refused job stays behind.
	fn post_trap(task: crate::traps::TrapTask) -> Result<JobId, DispatchError>;

	/// What [`TrapJobs::post_trap`] may weigh at most.
	fn posting_weight() -> Weight;

	/// The replicas of `job` in assignment order, each with what it revealed for
	/// `checkpoint`, if it did.
	fn reveals(job: JobId, checkpoint: u32) -> Vec<(NodeId, Option<CommitmentPayload>)>;

	/// The most blocks a job may take from its creation to its deadline: what bounds how long
	/// a trap job posted with a seal may take to be accepted.
	fn max_job_duration() -> BlockNumber;

	/// Settles the accepted `job` as a sprung trap whose answer is `answer`: convicts the
	/// `caught` replicas (their whole stake, for a trap failure) and pays the others as a
	/// finalized job would, from the budget the treasury put up; what is left of it goes back
	/// to the treasury. The result reaches no model.
	fn settle_sprung_trap(job: JobId, answer: TrainedWeights, caught: &[NodeId]) -> DispatchResult;

	/// What [`TrapJobs::settle_sprung_trap`] may weigh at most: a finalization that pays the
	/// most nodes a job may have. The traps pallet's own benchmark springs a trap on a job of
	/// the most replicas, none replaced, so it charges this on top.
	fn settlement_weight() -> Weight;

	/// Posts, assigns and accepts a job of the most replicas for `requester` (funded here),
	/// every replica revealing the same final digest, for the traps pallet's benchmarks.
	#[cfg(feature = "runtime-benchmarks")]
	fn accepted_job(requester: AccountId)
		-> Result<JobId, polkadot_sdk::sp_runtime::DispatchError>;
}

/// What proof of compute tells the traps pallet, which keeps a tally of assignments and
/// confirmations by job. A runtime without traps names `()`.
pub trait TrapHooks {
	/// `job` got its replicas: one more assignment that the trap rate counts.
	fn on_assigned(job: JobId);

	/// `job` is being pruned: removes up to `limit` of what is kept for it, and says whether
	/// nothing is left. Proof of compute calls it again, a step a block, until it is.
	fn on_pruned(job: JobId, limit: u32) -> bool;
}

impl TrapHooks for () {
	fn on_assigned(_: JobId) {}

	fn on_pruned(_: JobId, _: u32) -> bool {
		true
	}
}
