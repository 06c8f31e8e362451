//! Traits through which Tessera's pallets use each other, wired in the runtime.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_runtime::{DispatchError, FixedU128, Perbill, Permill, Weight};
use scale_info::TypeInfo;

use crate::{
	Capabilities, DatasetConsent, DidId, JobId, JobSpec, NodeId, NodePublic, NodeRole, Outcome,
	TrainedWeights, TrustTier,
};

/// Read access to the node registry.
pub trait NodeInspect<AccountId> {
	/// The currency unit of stake.
	type Balance;

	/// Whether the node exists and gets new work.
	fn is_active(node: NodeId) -> bool;
	/// The account that registered the node and owns its stake.
	fn owner(node: NodeId) -> Option<AccountId>;
	/// Whether the node offers `role`.
	fn has_role(node: NodeId, role: NodeRole) -> bool;
	/// The capabilities the node declared.
	fn capabilities(node: NodeId) -> Option<Capabilities>;
	/// The key the node signs its heartbeats and commitments with.
	fn node_key(node: NodeId) -> Option<NodePublic>;
	/// The node whose key `key` is.
	fn node_of_key(key: &NodePublic) -> Option<NodeId>;
	/// The stake currently held for the node (zero for an unknown node).
	fn stake(node: NodeId) -> Self::Balance;
	/// How many active nodes offer `role`: what a sampler draws positions from, so that
	/// nodes that left (or never had the role) never dilute a draw.
	fn active_count(role: NodeRole) -> u32;
	/// The active node at `position` (below [`Self::active_count`]) among those offering
	/// `role`, in no particular order.
	fn active_at(role: NodeRole, position: u32) -> Option<NodeId>;
	/// Where the node serves the content it committed (a base URL), if it said.
	fn endpoint(node: NodeId) -> Option<alloc::vec::Vec<u8>>;
	/// The DID the node's owner linked it to: whose consent grants let it train on data.
	fn did(node: NodeId) -> Option<DidId>;
}

/// A confirmed fault, and so how much of a node's stake it costs.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum SlashReason {
	/// A result that re-execution or an unchallenged majority proved wrong.
	FailedVerification,
	/// Digests that no execution produces.
	ForgedResult,
	/// A wrong answer to a trap job; costs the whole stake and deactivates the node.
	TrapFailure,
	/// A job the node stopped working on; the caller sizes the share from the job budget.
	AbandonedJob(Perbill),
	/// Content behind a committed CID that a quorum of validators could not get from the
	/// node; the caller sizes the share from the node's reputation tier. A fault of its own
	/// class: it never counts as an offence, so that unreachable content cannot add up to
	/// the whole stake.
	DataUnavailable(Perbill),
	/// Too many heartbeat periods missed in a row.
	MissedHeartbeats,
	/// A duty of a validator's the node did not answer in time (a seat on a dispute panel,
	/// an availability check); the caller sizes the share. A liveness fault, like missed
	/// heartbeats: it never counts as an offence.
	MissedVerdict(Perbill),
}

/// Takes stake from a node for a confirmed fault. Never called on a vote alone.
pub trait Slasher<AccountId, Balance> {
	/// Slashes `node` for `reason` and pays what was taken to `beneficiary`, or to the
	/// implementation's default account when `None`. Returns the amount actually taken,
	/// which is never more than the node's held stake.
	fn slash(
		node: NodeId,
		reason: SlashReason,
		beneficiary: Option<AccountId>,
	) -> Result<Balance, DispatchError>;
}

/// How much unfinished work a node has, so that it cannot leave in the middle of it, and
/// what happens to that work when the node stops.
pub trait NodeWorkload {
	/// Whether the node has work it must not leave unfinished: a seat on a job that has not
	/// ended, or a duty such as a panel seat, an availability check or an aggregation.
	fn has_open_jobs(node: NodeId) -> bool;
	/// The node was deactivated (missed heartbeats, slashed, stake too low): its unfinished
	/// work must go to others. Called in the middle of the registry's own bookkeeping, so
	/// an implementation only takes note and acts later.
	fn node_deactivated(node: NodeId);
}

/// No pallet assigns work: every node is free to leave.
impl NodeWorkload for () {
	fn has_open_jobs(_: NodeId) -> bool {
		false
	}
	fn node_deactivated(_: NodeId) {}
}

/// Where other pallets report what nodes did, so that their reputation follows it.
///
/// The hooks never fail: a report about a node the reputation pallet has not seen yet starts
/// that node's record. Callers add the matching `*_weight` to the weight of the call or hook
/// that reports.
pub trait ReputationSink {
	/// Records one outcome of `node`'s work.
	fn report(node: NodeId, outcome: Outcome);
	/// Records that `node` was slashed for `reason`.
	fn slashed(node: NodeId, reason: SlashReason);
	/// Drops everything known about `node`, which has left the registry.
	fn forget(node: NodeId);
	/// The most weight one [`Self::report`] costs.
	fn report_weight() -> Weight;
	/// The most weight one [`Self::slashed`] costs.
	fn slashed_weight() -> Weight;
	/// The most weight one [`Self::forget`] costs.
	fn forget_weight() -> Weight;
}

/// Reputation is not kept.
impl ReputationSink for () {
	fn report(_: NodeId, _: Outcome) {}
	fn slashed(_: NodeId, _: SlashReason) {}
	fn forget(_: NodeId) {}
	fn report_weight() -> Weight {
		Weight::zero()
	}
	fn slashed_weight() -> Weight {
		Weight::zero()
	}
	fn forget_weight() -> Weight {
		Weight::zero()
	}
}

/// Read access to nodes' reputation, as of the current block.
pub trait ReputationInspect {
	/// The node's score, decayed to the current block; at most 100%.
	fn score(node: NodeId) -> Permill;
	/// The tier the node's score and history earn it.
	fn tier(node: NodeId) -> TrustTier;
	/// The share of the node's results that are spot-checked.
	fn spot_check_rate(node: NodeId) -> Permill;
	/// Draws whether `node`'s result for `job` is spot-checked, from randomness that was
	/// unknown when the result was committed to. The same arguments give the same answer
	/// within a block.
	fn should_spot_check(node: NodeId, job: JobId) -> bool;
	/// The factor the node's rewards are multiplied by.
	fn reward_multiplier(node: NodeId) -> FixedU128;
	/// The most weight one [`Self::should_spot_check`] costs.
	fn should_spot_check_weight() -> Weight;
}

/// Whether data may be used: consent that data owners give to other DIDs, per dataset.
pub trait ConsentInspect {
	/// Whether `grantor` currently lets `grantee` use the dataset with CID `dataset`: the
	/// grant exists, was not revoked, has not expired, and neither DID was revoked.
	fn is_allowed(dataset: &[u8], grantor: &DidId, grantee: &DidId) -> bool;
	/// Whether `did` exists and was not revoked.
	fn is_live(did: &DidId) -> bool;
	/// Whether a job spending `spend` (ε in thousandths, for δ) fits what is left of the
	/// privacy budget of `grantor`'s grant to `grantee`: always when the grant has no
	/// budget, never for a job that declares no privacy when it has one.
	fn within_budget(
		dataset: &[u8],
		grantor: &DidId,
		grantee: &DidId,
		spend: Option<(u32, Perbill)>,
	) -> bool;
	/// Whether some live grant of `grantor` on the dataset lets its grantee train a job
	/// spending `spend` ([`Self::is_allowed`] and [`Self::within_budget`] for one grantee):
	/// a job on granted data that no grant admits is refused when it is posted.
	fn some_grant_allows(dataset: &[u8], grantor: &DidId, spend: Option<(u32, Perbill)>) -> bool;
	/// The most weight one [`Self::some_grant_allows`] costs: every grant a DID may give,
	/// all on one dataset, read with their grantees.
	fn some_grant_allows_weight() -> Weight;
	/// Records in the grant's audit trail that `grantee` was given the dataset to train `job`
	/// on, if the grant allows it, and spends `epsilon_milli` of its privacy budget for it.
	fn record_use(
		job: JobId,
		dataset: &[u8],
		grantor: &DidId,
		grantee: &DidId,
		epsilon_milli: Option<u32>,
	);
	/// Creates live DIDs `grantor` and `grantee` and a grant between them, for benchmarks of
	/// draws that check consent.
	#[cfg(feature = "runtime-benchmarks")]
	fn grant_for_benchmarks(dataset: &[u8], grantor: &DidId, grantee: &DidId);
}

/// Who may act for a DID with a signed extrinsic.
pub trait DidControl<AccountId> {
	/// Whether `account` controls the live (not revoked) DID `did`.
	fn is_controller(did: &DidId, account: &AccountId) -> bool;
	/// Creates a live DID that `account` controls and pays the deposit of, for benchmarks
	/// of calls that act for a DID.
	#[cfg(feature = "runtime-benchmarks")]
	fn controlled_by(account: &AccountId) -> DidId;
}

/// What jobs may train on and start from (SPEC §6–§7): the datasets the approvers let into
/// the registry and the versions of registered models.
pub trait TrainingInputs {
	/// The DID that owns the approved dataset with CID `dataset`, and who may train on it;
	/// `None` if no approved dataset has that CID.
	fn dataset_terms(dataset: &[u8]) -> Option<(DidId, DatasetConsent)>;
	/// Whether `state` (weights CID and digest) is a version of a registered model.
	fn is_registered_version(state: &TrainedWeights) -> bool;
	/// The job whose result the registered version `state` is, if a job produced it: its
	/// replicas serve that state through the retention period, so a trainer that lacks it
	/// fetches it from them. `None` for versions registered with their weights (a model's
	/// first), whose content operators get with the model.
	fn producer(state: &TrainedWeights) -> Option<JobId>;
	/// Approves `dataset` (owned by `owner`, for grantees only) and registers `state` as a
	/// model's version, for benchmarks of calls that create and assign jobs.
	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmarks(dataset: &[u8], owner: &DidId, state: &TrainedWeights);
}

/// Turns an approved request into a proof-of-compute job.
pub trait JobCreator<AccountId, Balance, BlockNumber> {
	/// Creates a job that `requester` pays `budget` for, run by `redundancy` nodes before
	/// `deadline`; the budget is held from `requester`. Returns the job's id.
	fn create_job(
		requester: &AccountId,
		spec: JobSpec,
		budget: Balance,
		redundancy: u8,
		deadline: BlockNumber,
	) -> Result<JobId, DispatchError>;
	/// What [`Self::create_job`] may cost beyond its own benchmark, at its most: checking
	/// that some consent grant admits a job on data its owner grants only to some DIDs.
	fn consent_check_weight() -> Weight;
}

/// No pallet runs jobs: every request is refused.
impl<AccountId, Balance, BlockNumber> JobCreator<AccountId, Balance, BlockNumber> for () {
	fn create_job(
		_: &AccountId,
		_: JobSpec,
		_: Balance,
		_: u8,
		_: BlockNumber,
	) -> Result<JobId, DispatchError> {
		Err(DispatchError::Other("this runtime runs no jobs"))
	}
	fn consent_check_weight() -> Weight {
		Weight::zero()
	}
}

/// Hears how jobs end, so that what depends on them can follow.
pub trait JobOutcome {
	/// `job` was finalized: its result was verified and paid for.
	fn finalized(job: JobId, result: &TrainedWeights) -> Weight;
	/// `job` ended without a usable result: it failed, expired or lost its dispute.
	fn failed(job: JobId) -> Weight;
	/// The most [`Self::finalized`] or [`Self::failed`] may weigh: what a call or hook that
	/// may end a job charges for hearing it.
	fn max_weight() -> Weight;
}

/// Nobody waits for jobs.
impl JobOutcome for () {
	fn finalized(_: JobId, _: &TrainedWeights) -> Weight {
		Weight::zero()
	}
	fn failed(_: JobId) -> Weight {
		Weight::zero()
	}
	fn max_weight() -> Weight {
		Weight::zero()
	}
}
