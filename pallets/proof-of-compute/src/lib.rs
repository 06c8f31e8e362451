//! # Proof of compute
//!
//! Training jobs from posting to payment (SPEC §5). In Tessera's runtime this is pallet
//! index 55; the figures below in parentheses are that runtime's settings.
//!
//! - A requester posts a job with [`Pallet::create_job`] (or the model registry does,
//!   through [`tessera_primitives::JobCreator`]); the budget, at least [`Config::MinBudget`]
//!   (1 TSRA), is held until the job ends, beside a storage deposit (the `retention` module),
//!   and the deadline is at most [`Config::MaxJobDuration`] away (a week).
//!   [`Pallet::cancel_job`] withdraws it, in full, before assignment.
//!   A job names its network (`architecture`: an MLP's hidden widths, a CNN's two channel
//!   counts or a character transformer's context, width and layers), its data (a dataset
//!   CID, or texts carried inline) and, for fine-tuning, the training state it starts from
//!   (`base_weights`; empty means weights drawn from the seed). It trains on an approved
//!   dataset of the model registry (or inline texts alone) from a registered model version
//!   (or its seed), as [`Config::Inputs`] says; anything else is refused
//!   (`UnapprovedDataset`, `UnregisteredBase`).
//! - At the start of each block, the first [`Config::AssignmentsPerBlock`] (4) waiting jobs
//!   get `redundancy` (1 to [`Config::MaxRedundancy`], 5) active trainers, drawn with the
//!   relay chain's randomness from all active trainers, or from [`Config::CandidateSample`]
//!   (64) sampled from the node registry's index of active nodes by role (nodes that left
//!   never dilute it); candidates are filtered by activity, capabilities (a GPU job needs
//!   the GPU capability), backend class and the data owner's consent, and picked with
//!   probability proportional to their reputation score. A job nobody can take goes to the
//!   back of the queue. Data granted only to some DIDs goes only to nodes linked to a DID
//!   with a live grant whose privacy budget, if it has one, covers the job
//!   ([`Config::Consent`]); each such use is recorded in the grant (`AccessRecorded`, counted
//!   in its `accesses`). This rests on the DID
//!   pallet's grants and on node owners linking only DIDs they control.
//! - Consent is checked when a job is created (refused with `NoConsent` unless the owner
//!   DID is live and some live grant of the dataset admits the job: its grantee's DID live,
//!   and for a budgeted grant, a private job whose ε and δ what is left covers) and for
//!   every candidate of a draw, assignments and replacements alike: a grant revoked or
//!   expired stops new draws (a job without enough grantees waits in the queue and fails at
//!   its deadline), while checkpoints already running may finish.
//! - Every checkpoint, each replica first [`Pallet::commit`]s `commitment_hash(payload, node,
//!   salt)` (`blake2_256(payload ‖ node ‖ salt)`, [`tessera_primitives::commitment`]) and,
//!   once all replicas committed (or [`Config::RevealDelay`], 20 blocks, passed),
//!   [`Pallet::reveal`]s payload and salt, checkpoints in order and only while the job runs;
//!   both are authorized transactions signed by the
//!   node key, checked before the pool accepts them. Everything a node key signs names its
//!   kind and this chain's genesis hash ([`tessera_primitives::signing`]), so no signature
//!   counts as another kind of message or on another chain, and a panel commit names the
//!   draw it was made for. The same rule that opens a
//!   checkpoint's reveals closes its commits, so a replica that would copy a rival's
//!   revealed digests has nothing to copy until its own commit phase is over: a checkpoint
//!   it did not commit in time stays missing and unpaid, and it commits the next one still
//!   open.
//!   Panel verdicts are committed and revealed the same way, and a panel that does not
//!   settle is drawn again as a whole, so that nobody sits next to a verdict already shown.
//!   This rests on block order: a reveal is readable only from the block after it, and no
//!   commit of its checkpoint is accepted from the block it was accepted in.
//!   A commit or a reveal reads the job's hot record ([`Jobs`]: state, replicas' count,
//!   checkpoints and the [`Workload`](tessera_primitives::Workload) it is paid for, at most
//!   [`MAX_HOT_RECORD_LEN`] bytes), never its spec ([`JobSpecs`], with its texts up to 33 KB),
//!   so that what a commitment costs in a block's proof does not grow with the job.
//! - In the block after the last final reveal (or when the deadline passes), the final
//!   weights digests and state CIDs of the job's backend class are compared, together: a
//!   replica that pairs the right digest with a state of its own agrees with nobody. A
//!   majority (> 50% of the replicas) makes the job
//!   `Accepted` and opens a challenge window ([`Config::DefaultChallengeWindow`], 100
//!   blocks; root sets another with [`Pallet::set_challenge_window`], for results accepted
//!   afterwards); no majority, or a spot-check drawn for a
//!   replica, makes it `Disputed`. Anyone may [`Pallet::challenge`] an accepted job by
//!   bonding [`Config::ChallengeBond`] (10 TSRA).
//! - When the window closes unchallenged the job is `Finalized`: the majority is paid
//!   `work × rate × reputation multiplier` from the budget (the rate
//!   [`Config::RewardPerMillionWorkUnits`], 10 TSRA per million work units), the multiplier
//!   clamped to [0.1, 2.0] and the work what the job's spec says the checkpoints each
//!   replica revealed take (steps × batch × the architecture's work per sample,
//!   [`Workload::work_of_checkpoint`](tessera_primitives::Workload::work_of_checkpoint)), so
//!   that nothing a replica reports about its own effort (its own seconds, say) counts and a
//!   checkpoint it missed is not paid. When the
//!   budget cannot cover every reward, all are scaled by the same fraction, so that no
//!   replica is paid less for its place in the assignment. Minority replicas,
//!   non-revealers and mismatching reveals are slashed through the node registry and
//!   reported to reputation; the rest of the budget returns to the requester, and the model
//!   registry hears the result ([`Config::Outcome`]). Nothing is paid or slashed earlier. A
//!   job that fails (one nobody delivers fails at its deadline) refunds its requester.
//! - Every scheduled step (a deadline, a verification, a challenge window's end, a panel's
//!   deadline) is kept: a block whose list is full ([`Config::MaxDuePerBlock`]) moves it to
//!   the next block with room, and hooks stop at their weight budget, leaving the rest for
//!   the next block. Root can make a stuck job take its next step now
//!   ([`Pallet::force_next_step`]).
//!
//! Clients read jobs through [`runtime_api::ComputeApi`] (`job`, `assignments`,
//! `commitments`, `payouts`). End to end, `tests/e2e/proof-of-compute.test.mjs` posts a job,
//! sees it assigned and refunded; `tests/e2e/training.test.mjs` has a real trainer train a
//! job through the off-chain worker; `tests/e2e/model-training.test.mjs` takes a model from
//! an approved training proposal to its fine-tuned version, activated when the challenge
//! window closes (the end-to-end tests set a 10-block window on one-second blocks).
//!
//! A node's part — training through its trainer, sealing, committing and revealing, and a
//! validator's panel, availability and aggregation duties — is the off-chain worker's
//! ([`offchain`]). A run the trainer reports failed is dropped there
//! (`DELETE /v1/jobs/{id}`) and trained again; after the last failure the worker asks the
//! trainer no more about the job, and the replica answers on chain for what it did not
//! deliver: it never waits on a run that cannot finish. What the worker writes for a job
//! (sealed checkpoints, panel verdicts, sent aggregates) is entered in an index under
//! `tessera/proof-of-compute/remembered` in persistent offchain storage
//! ([`offchain::memory`]).
//!
//! A disputed job is settled by re-execution, one segment at a time (the `dispute` module):
//! bisection over the revealed per-checkpoint digests finds a segment that starts from a
//! state every remaining replica agrees on and ends where they (or a challenger's or
//! spot-check's claim) diverge; a panel of [`Config::PanelSize`] validators, never replicas
//! of the job, re-executes it with [`Pallet::panel_commit`] and [`Pallet::panel_reveal`]
//! from their off-chain workers; a majority of the panel settles it and proves wrong, and
//! slashes, exactly the replicas whose digest or state differs. When no divergence is left the job
//! is paid from what survived ([`JobState::Resolved`](tessera_primitives::JobState)) or
//! fails.
//!
//! A federated job ([`Pallet::create_federated_job`], the `rounds` module) runs its
//! checkpoints as rounds: each participant trains on its own data shard, drawn afresh every
//! round, from the previous round's aggregate; validators drawn by reputation take turns to
//! commit the federated average ([`Pallet::submit_aggregation`]), which the chain checks
//! against the round's updates by Merkle root and which anyone may challenge, to be
//! re-computed by a panel; anyone may also challenge one participant's update
//! ([`Pallet::challenge_update`]), which a panel trains again on the participant's shard. A
//! private federated job declares the noise its aggregates add
//! ([`tessera_primitives::DpParameters`]), each round drawing its participants with the
//! declared sampling rate; the chain states the ε it spends
//! ([`tessera_primitives::privacy::epsilon`]), takes it from its participants' grants, and
//! checks that every aggregate names the noise its round adds.
//!
//! The other modules, documented in their source (`cargo doc --document-private-items`), each
//! the one writer of its storage items but the job record:
//! - `lifecycle`: a job's creation, cancellation, draw of replicas, scheduled steps and end;
//! - `commitments`: commits and reveals, their tally, and the verdict on a job's result;
//! - `payment`: the work each node delivered, and the payout and refund at a job's end;
//! - `dispute` (the engine, and `dispute::results` for a replicated job's results) and
//!   `rounds` (federated training, and `rounds::disputes` for its aggregates and updates);
//! - `replacement` (replicas whose node stops), `availability` (data availability checks)
//!   and `retention` (the storage deposit and pruning);
//! - `interfaces`: what other pallets see of jobs; `invariants`: the try-state checks.
//!
//! ## Child pallets
//!
//! Beside this pallet, the crate holds child pallets, each its own `#[frame_support::pallet]`
//! with its storage, events, errors, calls, weights, benchmarks and tests, registered in the
//! runtime as a pallet of its own (after polkadot-sdk's `election-provider-multi-block`):
//!
//! - [`traps`] (`ProofOfComputeTraps`, index 56): trap jobs, re-runs of verified jobs that
//!   the model registry's approvers stock in a vault with sealed answers, posted by the chain
//!   as the treasury's jobs, and sprung by a quorum of the approvers' seals on the replicas
//!   that answered otherwise.
//!
//! A child sees jobs only through the trait this pallet implements for it ([`TrapJobs`]),
//! and this pallet reaches a child only through the hooks its `Config` names
//! ([`Config::Traps`], a [`TrapHooks`]; `()` for a runtime without traps): neither names the
//! other's storage ([`traits`]).

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

mod availability;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod commitments;
mod dispute;
mod interfaces;
#[cfg(any(feature = "try-runtime", feature = "invariants", test))]
mod invariants;
mod lifecycle;
pub mod migrations;
#[cfg(test)]
mod mock;
pub mod offchain;
mod payment;
mod replacement;
mod retention;
mod rounds;
pub mod runtime_api;
#[cfg(test)]
mod tests;
pub mod traits;
pub mod traps;
pub mod types;
pub mod weights;

pub use pallet::*;
pub use traits::{TrapHooks, TrapJob, TrapJobs};
pub use types::{
	Aggregation, AgreedResult, AvailabilityCheck, AvailabilityReport, Commit, Dispute,
	DisputeReason, FederatedJob, Federation, JobInfo, JobKind, PanelCommit, PanelReveal, Reveal,
	Segment, Verdict,
};
pub use weights::WeightInfo;

use polkadot_sdk::{
	frame_support::{self, traits::fungible},
	frame_system, sp_core,
};
use tessera_primitives::{
	dispatch_after_authorize, ConsentInspect, DpParameters, JobId, JobOutcome, JobSpec, NodeId,
	NodeInspect, NodeSignature, ReputationInspect, ReputationSink, SlashReason, Slasher,
	TrainedWeights, TrainingInputs,
};

const LOG_TARGET: &str = "runtime::proof-of-compute";

/// The balance type of the configured currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// What the benchmarks need from the runtime.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper {
	/// Registers an active trainer with [`Config::Nodes`], its node key in the keystore;
	/// `index` tells trainers apart.
	fn trainer(index: u32) -> (NodeId, tessera_primitives::NodePublic);
	/// Registers an active validator the same way.
	fn validator(index: u32) -> (NodeId, tessera_primitives::NodePublic);
	/// Links `node` to `did`, as its owner would.
	fn link_did(node: NodeId, did: tessera_primitives::DidId);
}

/// Deactivated nodes waiting for their jobs to be handed on, at most.
pub const MAX_DEACTIVATED_QUEUE: u32 = 256;

/// Open availability checks of one node's content at most.
pub const MAX_OPEN_CHECKS_PER_NODE: u32 = 4;

/// Blocks whose scheduled work one block does at most, when blocks without `on_poll` left
/// some undone.
pub const MAX_BLOCKS_CAUGHT_UP: u32 = 8;

/// Blocks after the one asked for that `Pallet::schedule` looks at for room, at most.
pub const MAX_SCHEDULE_PROBES: u32 = 1_024;

/// Bytes a job's hot record ([`Jobs`]) may take at most: every commit and reveal reads it, so
/// its size is in the proof of each (a spec with its texts would be 33 KB).
pub const MAX_HOT_RECORD_LEN: usize = 512;

/// A dispute as this runtime stores it.
pub type DisputeOf<T> = Dispute<BalanceOf<T>, frame_system::pallet_prelude::BlockNumberFor<T>>;

/// A federated job's rounds as this runtime stores them.
pub type FederationOf<T> = Federation<frame_system::pallet_prelude::BlockNumberFor<T>>;

/// What a finalized job paid, by node.
pub type Payout<T> = frame_support::BoundedVec<
	(NodeId, BalanceOf<T>),
	frame_support::traits::ConstU32<{ u8::MAX as u32 }>,
>;

/// A job's replicas, in assignment order. Bounded by the `u8` redundancy.
pub type Replicas =
	frame_support::BoundedVec<NodeId, frame_support::traits::ConstU32<{ u8::MAX as u32 }>>;

/// The most nodes that ever hold one job's seats: its replicas and each who took a seat over.
pub struct MostSeatHolders<T>(core::marker::PhantomData<T>);

impl<T: Config> frame_support::traits::Get<u32> for MostSeatHolders<T> {
	fn get() -> u32 {
		Pallet::<T>::most_contributors(T::MaxRedundancy::get())
	}
}

/// Who revealed a checkpoint of a job, and what each voted for ([`types::vote_of`]).
pub type Tally<T> = frame_support::BoundedVec<(NodeId, sp_core::H256), MostSeatHolders<T>>;

/// A job as this runtime stores it.
pub type JobInfoOf<T> = JobInfo<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	frame_system::pallet_prelude::BlockNumberFor<T>,
>;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::weights::WeightMeter;
	use frame_support::{
		pallet_prelude::*,
		traits::{fungible::MutateHold, Randomness},
	};
	use frame_system::{offchain::CreateAuthorizedTransaction, pallet_prelude::*};
	use polkadot_sdk::sp_runtime::{
		traits::{One, Saturating, Zero},
		Perbill,
	};

	/// Version 2: federations keep the randomness of the round before
	/// ([`crate::migrations::v1`]), and jobs name their kind ([`crate::migrations::v2`]).
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(2);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of proof of compute.
	///
	/// The runtime must include `frame_system::AuthorizeCall` in its transaction extensions:
	/// commits and reveals are authorized transactions, which the off-chain worker creates
	/// with [`CreateAuthorizedTransaction`].
	#[pallet::config]
	pub trait Config:
		polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>>
		+ CreateAuthorizedTransaction<Call<Self>>
	{
		/// The currency budgets and bonds are held in.
		type Currency: MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ fungible::Mutate<Self::AccountId>;

		/// The overarching hold reason, which includes this pallet's [`HoldReason`].
		type RuntimeHoldReason: From<HoldReason>;

		/// The node registry.
		type Nodes: NodeInspect<Self::AccountId, Balance = BalanceOf<Self>>;

		/// Takes stake for confirmed faults.
		type Slasher: Slasher<Self::AccountId, BalanceOf<Self>>;

		/// Where outcomes are reported.
		type Reputation: ReputationSink + ReputationInspect;

		/// Who hears how jobs end (the model registry).
		type Outcome: JobOutcome;

		/// The traps pallet ([`traps`]), told of each assignment and of each job pruned; `()`
		/// for a runtime without traps.
		type Traps: TrapHooks;

		/// What jobs may train on and start from (the model registry): every job names an
		/// approved dataset (or only inline texts) and starts from a registered model
		/// version (or from its seed).
		type Inputs: TrainingInputs;

		/// Data owners' consent grants (the DID pallet): a dataset granted only to some DIDs
		/// is trained only by nodes linked to a granted DID, and each use is recorded.
		type Consent: ConsentInspect;

		/// Randomness nobody can predict when a job is posted or a result revealed.
		type Randomness: Randomness<Self::Hash, BlockNumberFor<Self>>;

		/// The most replicas a job may ask for.
		#[pallet::constant]
		type MaxRedundancy: Get<u8>;

		/// The most times a job's seats may change hands (a replica or participant that
		/// stopped, a straggler); beyond it the job goes on with the replicas it has. Every
		/// node that worked on a job is paid when it ends, so this bounds that payout at
		/// `MaxRedundancy + MaxReplacements` nodes, which is what ending a job is charged for.
		#[pallet::constant]
		type MaxReplacements: Get<u32>;

		/// The most checkpoints a job may have.
		#[pallet::constant]
		type MaxCheckpoints: Get<u32>;

		/// Jobs waiting for assignment at most.
		#[pallet::constant]
		type MaxPendingJobs: Get<u32>;

		/// Jobs that may fall due in one block.
		#[pallet::constant]
		type MaxDuePerBlock: Get<u32>;

		/// Node ids examined when choosing one job's replicas.
		#[pallet::constant]
		type CandidateSample: Get<u32>;

		/// Pending jobs looked at per block at most, whether they find replicas or not.
		#[pallet::constant]
		type AssignmentsPerBlock: Get<u32>;

		/// The most blocks from a job's creation to its deadline: a job nobody can take
		/// waits in `Pending` (whose room is bounded) until its deadline, so the deadline
		/// bounds how long one can hold that room.
		#[pallet::constant]
		type MaxJobDuration: Get<BlockNumberFor<Self>>;

		/// The least budget a job may offer.
		#[pallet::constant]
		type MinBudget: Get<BalanceOf<Self>>;

		/// Paid per million work units delivered, before the reputation multiplier; a job's
		/// work is what its spec says it takes
		/// ([`Workload::work_of_checkpoint`](tessera_primitives::Workload::work_of_checkpoint)),
		/// never what a replica reports.
		#[pallet::constant]
		type RewardPerMillionWorkUnits: Get<BalanceOf<Self>>;

		/// Blocks after a checkpoint's first commit after which its commit phase closes and
		/// its reveals open even if some replica has not committed.
		#[pallet::constant]
		type RevealDelay: Get<BlockNumberFor<Self>>;

		/// Blocks an accepted result may be challenged, until [`Config::ForceOrigin`] sets
		/// another window ([`ChallengeWindow`]).
		#[pallet::constant]
		type DefaultChallengeWindow: Get<BlockNumberFor<Self>>;

		/// Who may tune the pallet's parameters.
		type ForceOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// What a challenger bonds: ten times the base reward. A challenger who wins gets it
		/// back and as much again, as a bounty from the stake the dispute slashed.
		#[pallet::constant]
		type ChallengeBond: Get<BalanceOf<Self>>;

		/// Validators that re-execute a disputed segment; more than half of them agreeing
		/// settles it.
		#[pallet::constant]
		type PanelSize: Get<u32>;

		/// Blocks a panel has to reveal its verdicts before its silent members are replaced.
		#[pallet::constant]
		type PanelWindow: Get<BlockNumberFor<Self>>;

		/// The share of its stake a panel member loses for a verdict it did not reveal in
		/// time: silence must cost more than answering.
		#[pallet::constant]
		type MissedVerdictSlash: Get<Perbill>;

		/// Aggregators drawn for one federated round before the job fails.
		#[pallet::constant]
		type MaxAggregatorDraws: Get<u8>;

		/// Paid from the job's budget to each panel member whose verdict settled a segment.
		#[pallet::constant]
		type PanelFee: Get<BalanceOf<Self>>;

		/// Where slashed stake goes (the node registry's default beneficiary), and so what
		/// pays a winning challenger's bounty.
		type Treasury: Get<Self::AccountId>;

		/// The share of revealed states whose availability is checked unasked.
		#[pallet::constant]
		type AvailabilitySample: Get<Perbill>;

		/// Blocks a validator has to fetch checked content.
		#[pallet::constant]
		type AvailabilityWindow: Get<BlockNumberFor<Self>>;

		/// What asking for an availability check holds from the asker: the node's, if the
		/// content is proven; returned if it is not.
		#[pallet::constant]
		type AvailabilityBond: Get<BalanceOf<Self>>;

		/// What the treasury pays a validator that proved content available.
		#[pallet::constant]
		type AvailabilityFee: Get<BalanceOf<Self>>;

		/// The storage deposit every job holds until it is pruned, besides its bytes.
		#[pallet::constant]
		type JobDepositBase: Get<BalanceOf<Self>>;

		/// The storage deposit per byte a job may make the chain store: its spec, and every
		/// replica's commit and reveal of every checkpoint.
		#[pallet::constant]
		type JobDepositPerByte: Get<BalanceOf<Self>>;

		/// Blocks after a job ends that nodes must still serve what they committed for it.
		#[pallet::constant]
		type Retention: Get<BlockNumberFor<Self>>;

		/// Blocks the participants of a federated round have to reveal their updates.
		#[pallet::constant]
		type RoundWindow: Get<BlockNumberFor<Self>>;

		/// The share of a federated job's participants whose updates let a round proceed
		/// at its deadline.
		#[pallet::constant]
		type RoundQuorum: Get<Perbill>;

		/// Blocks a round's aggregator has before the next one in turn may aggregate.
		#[pallet::constant]
		type AggregatorGrace: Get<BlockNumberFor<Self>>;

		/// Paid from the job's budget for an aggregation, times `1 + participants / 1 000`,
		/// at most twice.
		#[pallet::constant]
		type AggregatorFee: Get<BalanceOf<Self>>;

		/// Pool priority of commits and reveals.
		#[pallet::constant]
		type CommitmentPriority: Get<TransactionPriority>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;

		/// Registers trainers for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A job's budget, until the job ends.
		JobBudget,
		/// A challenger's bond, until the dispute is resolved.
		ChallengeBond,
		/// What a job's storage costs, until it is pruned.
		JobDeposit,
		/// The bond of an availability check someone asked for, until it closes.
		AvailabilityBond,
	}

	/// The id the next job gets.
	#[pallet::storage]
	pub type NextJobId<T> = StorageValue<_, JobId, ValueQuery>;

	/// Every job that has not been cleaned up: its hot record, which commits and reveals read.
	#[pallet::storage]
	pub type Jobs<T: Config> = StorageMap<_, Twox64Concat, JobId, JobInfoOf<T>>;

	/// What each job in [`Jobs`] trains: read where its data, texts, base weights or
	/// hyper-parameters are needed (drawing its nodes, re-executing it, the off-chain worker),
	/// never by a commitment. Stored and removed with the job.
	#[pallet::storage]
	pub type JobSpecs<T: Config> = StorageMap<_, Twox64Concat, JobId, JobSpec>;

	/// The replicas of each assigned job, in assignment order.
	#[pallet::storage]
	pub type Assignments<T: Config> = StorageMap<_, Twox64Concat, JobId, Replicas>;

	/// Jobs waiting for replicas, oldest first.
	#[pallet::storage]
	pub type Pending<T: Config> = StorageValue<_, BoundedVec<JobId, T::MaxPendingJobs>, ValueQuery>;

	/// The last block whose scheduled work ([`Due`], availability deadlines) was done.
	#[pallet::storage]
	pub type PolledUpTo<T: Config> = StorageValue<_, BlockNumberFor<T>>;

	/// Jobs to look at in a block: their deadline or challenge window ends there.
	#[pallet::storage]
	pub type Due<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<JobId, T::MaxDuePerBlock>,
		ValueQuery,
	>;

	/// The next checkpoint each replica of a job commits.
	#[pallet::storage]
	pub type NextCheckpoint<T> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, NodeId, u32, ValueQuery>;

	/// Commit hashes by job, replica and checkpoint.
	#[pallet::storage]
	pub type Commits<T> = StorageNMap<
		_,
		(NMapKey<Twox64Concat, JobId>, NMapKey<Twox64Concat, NodeId>, NMapKey<Twox64Concat, u32>),
		sp_core::H256,
	>;

	/// Per job and checkpoint: commits so far and the block of the first.
	#[pallet::storage]
	pub type CommitRounds<T: Config> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, u32, (u8, BlockNumberFor<T>)>;

	/// Revealed payloads by job, replica and checkpoint.
	#[pallet::storage]
	pub type Reveals<T> = StorageNMap<
		_,
		(NMapKey<Twox64Concat, JobId>, NMapKey<Twox64Concat, NodeId>, NMapKey<Twox64Concat, u32>),
		tessera_primitives::CommitmentPayload,
	>;

	/// Per job and checkpoint, who revealed it and what each voted for: a reveal counts the
	/// replicas that agree with it here, in one read whatever the job's redundancy, instead of
	/// reading each replica's reveal. A federated job's updates are not tallied: a round is
	/// checked against its aggregate.
	#[pallet::storage]
	pub type Tallies<T: Config> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, u32, Tally<T>, ValueQuery>;

	/// Open challenges: who bonded how much against which checkpoint.
	#[pallet::storage]
	pub type Challenges<T: Config> =
		StorageMap<_, Twox64Concat, JobId, (T::AccountId, u32, BalanceOf<T>)>;

	/// What each finalized job paid, by replica.
	#[pallet::storage]
	pub type Payouts<T: Config> = StorageMap<_, Twox64Concat, JobId, Payout<T>, ValueQuery>;

	/// Blocks an accepted result may be challenged; applies to results accepted from the
	/// block after it is set.
	#[pallet::storage]
	pub type ChallengeWindow<T: Config> =
		StorageValue<_, BlockNumberFor<T>, ValueQuery, T::DefaultChallengeWindow>;

	/// The id the next availability check gets.
	#[pallet::storage]
	pub type NextAvailabilityCheck<T> = StorageValue<_, u64, ValueQuery>;

	/// Open availability checks.
	#[pallet::storage]
	pub type AvailabilityChecks<T: Config> =
		StorageMap<_, Twox64Concat, u64, AvailabilityCheck<BlockNumberFor<T>>>;

	/// The open check of each (job, node, checkpoint), so that one content is checked once
	/// at a time.
	#[pallet::storage]
	pub type CheckOf<T> = StorageMap<_, Twox64Concat, (JobId, NodeId, u32), u64>;

	/// Reveals drawn for an unasked availability check ([`Config::AvailabilitySample`]),
	/// waiting for `on_poll` to draw their validators: at most one entry a reveal, removed
	/// when its check is opened, mostly in the block after the reveal.
	#[pallet::storage]
	pub type SampledReveals<T> = StorageMap<_, Twox64Concat, (JobId, NodeId, u32), ()>;

	/// Who asked for a check, and the bond they hold for it.
	#[pallet::storage]
	pub type AvailabilityBonds<T: Config> =
		StorageMap<_, Twox64Concat, u64, (T::AccountId, BalanceOf<T>)>;

	/// Open checks of each node's content: at most [`MAX_OPEN_CHECKS_PER_NODE`], so that
	/// nobody can keep a node's endpoint busy with checks.
	#[pallet::storage]
	pub type OpenChecks<T> = StorageMap<_, Twox64Concat, NodeId, u32, ValueQuery>;

	/// Content found missing: a node is at fault for one (job, checkpoint) once.
	#[pallet::storage]
	pub type LostContent<T> = StorageNMap<
		_,
		(NMapKey<Twox64Concat, JobId>, NMapKey<Twox64Concat, NodeId>, NMapKey<Twox64Concat, u32>),
		(),
	>;

	/// Jobs past their retention, whose storage `on_idle` removes as blocks have room.
	#[pallet::storage]
	pub type Prunable<T> = StorageMap<_, Twox64Concat, JobId, ()>;

	/// The checks each validator must fetch for: its off-chain worker finds them here.
	#[pallet::storage]
	pub type AvailabilityDuties<T> =
		StorageDoubleMap<_, Twox64Concat, NodeId, Twox64Concat, u64, (), OptionQuery>;

	/// Checks whose window closes in a block.
	#[pallet::storage]
	pub type AvailabilityDue<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<u64, T::MaxDuePerBlock>,
		ValueQuery,
	>;

	/// Disputed jobs and where their resolution stands.
	#[pallet::storage]
	pub type Disputes<T: Config> = StorageMap<_, Twox64Concat, JobId, DisputeOf<T>>;

	/// The panel re-executing each disputed job's current segment.
	#[pallet::storage]
	pub type Panels<T: Config> =
		StorageMap<_, Twox64Concat, JobId, BoundedVec<NodeId, T::PanelSize>, ValueQuery>;

	/// Panel members' commitments to their verdicts on the current segment.
	#[pallet::storage]
	pub type PanelCommits<T> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, NodeId, sp_core::H256>;

	/// Panel members' revealed verdicts on the current segment.
	#[pallet::storage]
	pub type PanelVerdicts<T> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, NodeId, Verdict>;

	/// The disputes each validator sits on a panel of: its off-chain worker finds its
	/// re-executions here.
	#[pallet::storage]
	pub type PanelDuties<T> =
		StorageDoubleMap<_, Twox64Concat, NodeId, Twox64Concat, JobId, (), OptionQuery>;

	/// Nodes deactivated since their jobs were last looked at: their unfinished replicas go
	/// to other trainers, a few jobs a block.
	#[pallet::storage]
	pub type Deactivated<T> =
		StorageValue<_, BoundedVec<NodeId, ConstU32<MAX_DEACTIVATED_QUEUE>>, ValueQuery>;

	/// The latest checkpoint of each job in training on which more than half of its
	/// redundancy revealed the same weights digest and state: where a replacement replica
	/// resumes.
	#[pallet::storage]
	pub type LastAgreed<T> = StorageMap<_, Twox64Concat, JobId, (u32, TrainedWeights)>;

	/// How many times each open job's seats changed hands, up to
	/// [`Config::MaxReplacements`]; removed when the job ends.
	#[pallet::storage]
	pub type Replacements<T> = StorageMap<_, Twox64Concat, JobId, u32, ValueQuery>;

	/// Replicas that took over from another mid-job: the checkpoint they start at and the
	/// agreed state they resume.
	#[pallet::storage]
	pub type ReplicaStarts<T> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, NodeId, (u32, TrainedWeights)>;

	/// Federated jobs and the round each is in.
	#[pallet::storage]
	pub type Federations<T: Config> =
		StorageMap<_, Twox64Concat, JobId, Federation<BlockNumberFor<T>>>;

	/// The aggregate of each round of a federated job.
	#[pallet::storage]
	pub type Aggregations<T> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, u32, Aggregation>;

	/// What each replica delivered so far (revealed checkpoints), or each participant of a
	/// federated job contributed to aggregates (rounds), and the work units that took, paid
	/// for when the job is finalized.
	#[pallet::storage]
	pub type Contributions<T> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, NodeId, (u32, u64), ValueQuery>;

	/// Participants' updates a panel upheld, by job: `(round, node)`. An upheld update can
	/// no longer be challenged, so no bond buys a second re-execution of it.
	#[pallet::storage]
	pub type UpheldUpdates<T> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, (u32, NodeId), (), OptionQuery>;

	/// The federated jobs each node may aggregate the current round of: its off-chain
	/// worker finds its aggregations here.
	#[pallet::storage]
	pub type AggregatorDuties<T> =
		StorageDoubleMap<_, Twox64Concat, NodeId, Twox64Concat, JobId, (), OptionQuery>;

	/// The aggregate each node committed that may still be challenged, by job: its round.
	/// Its author is paid the aggregation fee, and may leave, only once it can no longer be
	/// challenged (superseded by the next round's aggregate, upheld by a panel, or the job
	/// ended); a panel that proves it wrong takes the entry, and the fee with it.
	#[pallet::storage]
	pub type AggregatesAtStake<T> =
		StorageDoubleMap<_, Twox64Concat, NodeId, Twox64Concat, JobId, u32, OptionQuery>;

	/// The open jobs each node is a replica of: a node with any cannot leave, and its
	/// off-chain worker finds its work here.
	#[pallet::storage]
	pub type OpenJobs<T> =
		StorageDoubleMap<_, Twox64Concat, NodeId, Twox64Concat, JobId, (), OptionQuery>;

	/// What happened to jobs.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A job was posted and its budget held.
		JobCreated {
			/// The job.
			job: JobId,
			/// Who posted it.
			requester: T::AccountId,
			/// The budget held.
			budget: BalanceOf<T>,
			/// Replicas asked for.
			redundancy: u8,
		},
		/// [`Config::ForceOrigin`] set the challenge window.
		ChallengeWindowSet {
			/// Its length in blocks.
			blocks: BlockNumberFor<T>,
		},
		/// A job was withdrawn before assignment; its budget returned.
		JobCancelled {
			/// The job.
			job: JobId,
		},
		/// Replicas were chosen.
		JobAssigned {
			/// The job.
			job: JobId,
			/// The replicas, in assignment order.
			nodes: Replicas,
			/// The block they were chosen in.
			at: BlockNumberFor<T>,
		},
		/// A replica committed to a checkpoint.
		Committed {
			/// The job.
			job: JobId,
			/// The replica.
			node: NodeId,
			/// The checkpoint.
			checkpoint: u32,
		},
		/// A replica revealed a checkpoint.
		Revealed {
			/// The job.
			job: JobId,
			/// The replica.
			node: NodeId,
			/// The checkpoint.
			checkpoint: u32,
			/// The weights digest.
			weights_digest: sp_core::H256,
		},
		/// A majority agreed; the result may be challenged until `challenge_ends`.
		JobAccepted {
			/// The job.
			job: JobId,
			/// The weights digest.
			weights_digest: sp_core::H256,
			/// The block from which challenges are refused.
			challenge_ends: BlockNumberFor<T>,
		},
		/// The result must be settled by re-execution.
		JobDisputed {
			/// The job.
			job: JobId,
			/// Why.
			reason: DisputeReason,
		},
		/// Content a node committed is to be fetched by `validator` by `deadline`.
		AvailabilityChecked {
			/// The check.
			check: u64,
			/// The job.
			job: JobId,
			/// The node that committed it.
			node: NodeId,
			/// The checkpoint.
			checkpoint: u32,
			/// The validator.
			validator: NodeId,
			/// The last block a proof counts in.
			deadline: BlockNumberFor<T>,
		},
		/// The validator fetched the content and it matched its CID: the treasury paid it,
		/// and the asker's bond went to the node.
		AvailabilityProven {
			/// The check.
			check: u64,
			/// The validator.
			validator: NodeId,
			/// What it was paid.
			fee: BalanceOf<T>,
		},
		/// A validator could not get the content; another is drawn until
		/// [`types::AVAILABILITY_QUORUM`] validators agree it is missing.
		AvailabilityMissing {
			/// The check.
			check: u64,
			/// The validator.
			validator: NodeId,
		},
		/// A validator drawn for a check said nothing in time: it lost
		/// [`Config::MissedVerdictSlash`] of its stake, and another is drawn.
		AvailabilityReportMissed {
			/// The check.
			check: u64,
			/// The validator.
			validator: NodeId,
			/// Stake taken.
			slashed: BalanceOf<T>,
		},
		/// Too few validators reported on a check for it to decide: it closed without fault,
		/// and the asker's bond was returned.
		AvailabilityUndecided {
			/// The check.
			check: u64,
		},
		/// [`types::AVAILABILITY_QUORUM`] validators could not get the content: the node was
		/// slashed by its tier (a fault of its own class, never one of its three offences),
		/// lost a tenth of its score, and is not paid for the checkpoint.
		AvailabilityFailed {
			/// The check.
			check: u64,
			/// The node.
			node: NodeId,
			/// Stake taken.
			slashed: BalanceOf<T>,
		},
		/// [`Config::ForceOrigin`] made a job take, now, the step its due block would.
		NextStepForced {
			/// The job.
			job: JobId,
			/// Its state afterwards.
			state: tessera_primitives::JobState,
		},
		/// Bisection found the segment a panel re-executes.
		SegmentDisputed {
			/// The job.
			job: JobId,
			/// The checkpoint the segment ends at.
			checkpoint: u32,
			/// Steps completed where it starts.
			from_step: u64,
			/// Steps completed where it ends.
			to_step: u64,
			/// Checkpoints the bisection compared.
			probes: u32,
		},
		/// Validators were drawn to re-execute the current segment.
		PanelDrawn {
			/// The job.
			job: JobId,
			/// The panel.
			panel: BoundedVec<NodeId, T::PanelSize>,
			/// Verdicts must be revealed by this block.
			deadline: BlockNumberFor<T>,
		},
		/// A panel member committed to its verdict.
		VerdictCommitted {
			/// The job.
			job: JobId,
			/// The panel member.
			node: NodeId,
		},
		/// A panel member revealed its verdict.
		VerdictRevealed {
			/// The job.
			job: JobId,
			/// The panel member.
			node: NodeId,
			/// The weights digest it computed.
			weights_digest: sp_core::H256,
		},
		/// A panel member did not reveal its verdict in time: it was slashed and lost its seat.
		VerdictMissed {
			/// The job.
			job: JobId,
			/// The member.
			node: NodeId,
			/// Stake taken.
			slashed: BalanceOf<T>,
		},
		/// Too few validators could be seated for a panel to reach a majority; the dispute
		/// draws again at `retry_at`.
		NoPanel {
			/// The job.
			job: JobId,
			/// The block of the next draw.
			retry_at: BlockNumberFor<T>,
		},
		/// A majority of the panel agreed on the segment's result.
		SegmentSettled {
			/// The job.
			job: JobId,
			/// The checkpoint the segment ends at.
			checkpoint: u32,
			/// The agreed weights digest.
			weights_digest: sp_core::H256,
		},
		/// A panel member was paid for its verdict.
		PanelFeePaid {
			/// The job.
			job: JobId,
			/// The member.
			node: NodeId,
			/// The amount.
			amount: BalanceOf<T>,
		},
		/// Re-execution proved a replica, or the author of a federated round's aggregate,
		/// wrong; it was slashed.
		ReplicaConvicted {
			/// The job.
			job: JobId,
			/// The replica or aggregator.
			node: NodeId,
			/// Wrong, or forged: its digests contradict its own state.
			reason: SlashReason,
			/// Stake taken.
			amount: BalanceOf<T>,
		},
		/// The dispute ended; `segments` segments of `steps` steps in all were re-executed.
		DisputeResolved {
			/// The job.
			job: JobId,
			/// Whether the challenged work stood: a replica's result survived and the job is
			/// paid (else it failed), or a challenged aggregate stood (else the panel's
			/// replaced it).
			upheld: bool,
			/// Segments re-executed.
			segments: u32,
			/// Training steps re-executed.
			steps: u64,
		},
		/// The challenge proved the accepted result wrong: the bond returned, with a bounty.
		ChallengeWon {
			/// The job.
			job: JobId,
			/// The challenger.
			challenger: T::AccountId,
			/// The bounty paid on top of the bond.
			bounty: BalanceOf<T>,
		},
		/// The challenge failed: the bond went to the replicas and the panel.
		ChallengeLost {
			/// The job.
			job: JobId,
			/// The challenger.
			challenger: T::AccountId,
			/// The bond forfeited.
			bond: BalanceOf<T>,
		},
		/// Someone bonded against an accepted result.
		Challenged {
			/// The job.
			job: JobId,
			/// Who challenged.
			challenger: T::AccountId,
			/// The checkpoint.
			checkpoint: u32,
			/// The bond held.
			bond: BalanceOf<T>,
		},
		/// A replica's node stopped mid-job: it was slashed in proportion to the job's budget
		/// (paid to the requester) and, where an eligible trainer was found and the job's seats
		/// changed hands fewer than [`Config::MaxReplacements`] times, replaced by `by`, which
		/// starts at checkpoint `from`.
		ReplicaReplaced {
			/// The job.
			job: JobId,
			/// The replica that stopped.
			node: NodeId,
			/// Its replacement.
			by: Option<NodeId>,
			/// The checkpoint the replacement starts at.
			from: u32,
			/// Stake taken from the replica that stopped.
			slashed: BalanceOf<T>,
		},
		/// A federated job was posted: its checkpoints are rounds.
		FederatedJobCreated {
			/// The job.
			job: JobId,
			/// Rounds it runs.
			rounds: u32,
			/// Shards its dataset is split into.
			shards: u32,
			/// The ε it spends of each participant's grant, in thousandths, if private.
			epsilon_milli: Option<u32>,
		},
		/// A round of a federated job opened: its participants train on their shards.
		RoundOpened {
			/// The job.
			job: JobId,
			/// The round.
			round: u32,
			/// Updates must be revealed before this block.
			deadline: BlockNumberFor<T>,
		},
		/// A round stopped taking updates; its aggregators take turns averaging them.
		RoundClosed {
			/// The job.
			job: JobId,
			/// The round.
			round: u32,
			/// Updates the aggregate must average.
			participants: u32,
			/// Who may aggregate, in turn.
			aggregators: BoundedVec<NodeId, ConstU32<{ types::AGGREGATORS }>>,
		},
		/// A round's deadline passed with too few updates: it goes on, with its stragglers
		/// replaced, until `deadline`.
		RoundExtended {
			/// The job.
			job: JobId,
			/// The round.
			round: u32,
			/// Updates revealed so far.
			updates: u32,
			/// The new deadline.
			deadline: BlockNumberFor<T>,
		},
		/// A participant that did not deliver its update in time was replaced by `by`,
		/// which joins the earliest round still taking updates.
		ParticipantReplaced {
			/// The job.
			job: JobId,
			/// The straggler.
			node: NodeId,
			/// Its replacement, if an eligible trainer was found and the job's seats changed
			/// hands fewer than [`Config::MaxReplacements`] times.
			by: Option<NodeId>,
		},
		/// A round's aggregate was committed.
		RoundAggregated {
			/// The job.
			job: JobId,
			/// The round.
			round: u32,
			/// The aggregator.
			node: NodeId,
			/// The aggregate's weights digest.
			weights_digest: sp_core::H256,
			/// Updates it averaged.
			participants: u32,
		},
		/// An aggregator was paid its fee, once its aggregate could no longer be challenged.
		AggregatorPaid {
			/// The job.
			job: JobId,
			/// The aggregator.
			node: NodeId,
			/// The amount.
			amount: BalanceOf<T>,
		},
		/// A panel proved a round's aggregate wrong: the round is replaced by the panel's
		/// aggregate and the job trains on from it.
		RoundsRewound {
			/// The job.
			job: JobId,
			/// The round whose aggregate was replaced.
			round: u32,
			/// The aggregate the panel computed.
			weights_digest: sp_core::H256,
		},
		/// A panel proved a participant's update of `round` wrong: the round, and the next
		/// one if it had opened, are trained again without it, from the round's start.
		RoundRetrained {
			/// The job.
			job: JobId,
			/// The round trained again.
			round: u32,
		},
		/// A replica was paid.
		RewardPaid {
			/// The job.
			job: JobId,
			/// The replica.
			node: NodeId,
			/// The account paid.
			owner: T::AccountId,
			/// The amount.
			amount: BalanceOf<T>,
		},
		/// A replica was slashed for a result that disagreed with the majority or never came.
		ReplicaSlashed {
			/// The job.
			job: JobId,
			/// The replica.
			node: NodeId,
			/// The amount.
			amount: BalanceOf<T>,
		},
		/// A job past its retention left the chain's storage, and its deposit went back to
		/// the requester.
		JobPruned {
			/// The job.
			job: JobId,
			/// The deposit returned.
			deposit: BalanceOf<T>,
		},
		/// The job ended with its result paid for; `refunded` went back to the requester.
		JobFinalized {
			/// The job.
			job: JobId,
			/// What went back to the requester.
			refunded: BalanceOf<T>,
		},
		/// The job ended without a result; its budget went back to the requester.
		JobFailed {
			/// The job.
			job: JobId,
			/// What went back to the requester.
			refunded: BalanceOf<T>,
		},
	}

	/// Why a call was refused.
	#[pallet::error]
	pub enum Error<T> {
		/// Redundancy must be between 1 and `MaxRedundancy`.
		BadRedundancy,
		/// The budget is below `MinBudget`.
		BudgetTooLow,
		/// The deadline has passed or is now.
		DeadlineInPast,
		/// The deadline is further than `MaxJobDuration` blocks away.
		DeadlineTooFar,
		/// The job's checkpoint interval is zero or gives more than `MaxCheckpoints`.
		BadCheckpointing,
		/// The job's dataset is not an approved dataset of the model registry, and the job
		/// does not train on inline texts alone.
		UnapprovedDataset,
		/// The owner of the job's dataset grants access only to some DIDs, and no live grant
		/// admits the job (the owner's DID was revoked, every grant expired or went to a
		/// revoked DID, or no budgeted grant has the job's privacy left): nobody may train it.
		NoConsent,
		/// The job starts from a state that is no registered model's version.
		UnregisteredBase,
		/// Too many jobs wait for assignment.
		TooManyPending,
		/// No such job.
		UnknownJob,
		/// Only the requester may do this.
		NotRequester,
		/// The job is past the state this needs.
		WrongState,
		/// The challenge window has closed.
		ChallengeWindowClosed,
		/// A challenge window must last at least one block.
		ZeroChallengeWindow,
		/// The checkpoint does not exist.
		UnknownCheckpoint,
		/// Too many jobs fall due in one block; choose another deadline.
		TooManyDue,
		/// No dispute of this job awaits this verdict.
		NoSuchVerdict,
		/// Nothing was revealed for this job, node and checkpoint.
		NothingCommitted,
		/// The content is past its retention period.
		PastRetention,
		/// This content is being checked already.
		AlreadyChecking,
		/// This content was found missing already.
		AlreadyLost,
		/// The node has the most open checks it may have.
		TooManyChecks,
		/// No validator is there to fetch the content.
		NoValidator,
		/// A federated job needs at least one shard.
		NoShards,
		/// The job's privacy parameters are outside what the accountant covers (a noise
		/// multiplier below 0.1, a sampling rate or a δ of zero), give an ε too large to
		/// state, or the job starts from its seed, with no state to clip updates against.
		InvalidPrivacy,
		/// No round of this job awaits this aggregate from this node now.
		NoSuchAggregation,
		/// The aggregate names other noise than its round adds: none for a private job, some
		/// for one that declared no privacy, or other parameters or another seed than the
		/// job declared and the round drew.
		WrongNoise,
		/// A later round's aggregate was committed on top of this one: it can no longer be
		/// challenged.
		AggregateSuperseded,
		/// A dispute settled this round's aggregate already: it can no longer be challenged.
		AggregateSettled,
		/// The job is not a federated job: it has no participants' updates.
		NotFederated,
		/// The node's update is not one the round's aggregate averages, or the round's
		/// updates can no longer be challenged.
		UnknownUpdate,
		/// A panel upheld this update already: it can no longer be challenged.
		UpdateSettled,
		/// The job trains on GPUs, whose updates the reference backend does not reproduce to
		/// the bit, so a panel cannot judge one by re-execution.
		UpdateNotReproducible,
		/// The job's Adam or AdamW has a β of one or an ε of zero, with which a step is not
		/// defined.
		BadOptimizer,
	}

	#[pallet::extra_constants]
	impl<T: Config> Pallet<T> {
		/// The prefix of the persistent offchain storage key under which a node's off-chain
		/// worker reads the URL of its trainer's control API, for each node key: the key's
		/// public bytes follow. Operators and tools set it there (`offchain_localStorageSet`).
		#[pallet::constant_name(TrainerUrlPrefix)]
		fn trainer_url_prefix() -> alloc::vec::Vec<u8> {
			tessera_primitives::trainer_api::TRAINER_URL_PREFIX.to_vec()
		}

		/// The prefix, like [`Pallet::trainer_url_prefix`]'s, of the bearer token the worker
		/// sends that trainer.
		#[pallet::constant_name(TrainerTokenPrefix)]
		fn trainer_token_prefix() -> alloc::vec::Vec<u8> {
			tessera_primitives::trainer_api::TRAINER_TOKEN_PREFIX.to_vec()
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Prunes jobs past their retention with the weight blocks leave over.
		fn on_idle(_: BlockNumberFor<T>, remaining: Weight) -> Weight {
			Self::prune_idle(remaining)
		}

		/// A block's work runs after the inherents, not in `on_initialize`: every draw it
		/// makes (replicas, replacements, panels, aggregators, spot-checks, shards) needs the
		/// relay chain's randomness, which only the parachain inherent brings into the block;
		/// before it, the randomness source has only the parent hash, which the previous
		/// block's author chose. Blocks without `on_poll` (a multi-block migration) are
		/// caught up afterwards, so nothing scheduled for them is lost.
		///
		/// Work stops at the meter's budget, and never takes more than the share of the block
		/// normal transactions may not use (`scheduled_work_meter`): each unit is
		/// done only while the meter can pay the most it may weigh, and what a block cannot
		/// pay for waits for the next (a block's due list is finished before the next block's
		/// is begun).
		fn on_poll(now: BlockNumberFor<T>, block_meter: &mut WeightMeter) {
			let meter = &mut Self::scheduled_work_meter(block_meter);
			meter.consume(T::DbWeight::get().reads_writes(1, 1));
			let mut block =
				PolledUpTo::<T>::get().map_or(now, |last| last.saturating_add(One::one()));
			let mut caught_up = 0;
			while block <= now && caught_up < MAX_BLOCKS_CAUGHT_UP {
				if !Self::process_due(block, meter)
					|| !Self::expire_availability_checks(block, meter)
				{
					break;
				}
				PolledUpTo::<T>::put(block);
				block = block.saturating_add(One::one());
				caught_up += 1;
			}
			Self::assign_pending(now, meter);
			Self::replace_deactivated(meter);
			Self::open_sampled_checks(meter);
			block_meter.consume(meter.consumed());
		}

		fn offchain_worker(now: BlockNumberFor<T>) {
			let started = polkadot_sdk::sp_io::offchain::timestamp();
			// Availability checks first: theirs is the shortest deadline (a few blocks), and
			// a trainer slow to train or re-execute must not make an honest node miss it.
			Self::check_availability_offchain();
			Self::work_offchain(now);
			Self::judge_offchain(now);
			Self::aggregate_offchain(now);
			Self::forget_ended(now);
			// What an operator (and `scripts/scale.sh`) watches to see the worker keep up
			// with the blocks.
			let took = polkadot_sdk::sp_io::offchain::timestamp().diff(&started).millis();
			log::debug!(target: LOG_TARGET, "off-chain work of block {now:?} took {took} ms");
		}

		fn integrity_test() {
			// A panel of one would settle a dispute on one validator's word; `draw_panel`
			// seats at least a majority of `PanelSize`, so every seated panel has two or more.
			assert!(T::PanelSize::get() >= 2, "PanelSize must be at least 2");
			assert!(!T::MaxJobDuration::get().is_zero(), "MaxJobDuration must allow a block");
			assert!(T::AssignmentsPerBlock::get() >= 1, "AssignmentsPerBlock must be at least 1");
			// Every node that worked on a job is recorded in its payout.
			assert!(
				Pallet::<T>::most_contributors(T::MaxRedundancy::get()) <= u32::from(u8::MAX),
				"MaxRedundancy + MaxReplacements must fit a payout (255 nodes)"
			);
			assert!(
				JobInfoOf::<T>::max_encoded_len() <= MAX_HOT_RECORD_LEN,
				"a job's hot record must stay within MAX_HOT_RECORD_LEN bytes"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(
			_: BlockNumberFor<T>,
		) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call(weight(<T as Config>::WeightInfo))]
	impl<T: Config> Pallet<T> {
		/// Posts a training job and holds `budget` from the caller until it ends.
		///
		/// `redundancy` replicas (1–`MaxRedundancy`) train it; whatever they have not
		/// delivered by `deadline` counts as not delivered. A job on data its owner grants only
		/// to some DIDs is refused unless some live grant admits it; a job on other data is
		/// not charged for that check. Emits [`Event::JobCreated`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::create_job().saturating_add(T::Consent::some_grant_allows_weight()))]
		pub fn create_job(
			origin: OriginFor<T>,
			spec: JobSpec,
			budget: BalanceOf<T>,
			redundancy: u8,
			deadline: BlockNumberFor<T>,
		) -> DispatchResultWithPostInfo {
			let requester = ensure_signed(origin)?;
			let weight = Self::creation_weight(T::WeightInfo::create_job(), &spec);
			Self::do_create_job(
				requester,
				spec,
				budget,
				redundancy,
				deadline,
				JobKind::Replicated,
				None,
			)?;
			Ok(weight)
		}

		/// Withdraws a job that has no replicas yet and returns its whole budget.
		///
		/// Origin: the requester. Emits [`Event::JobCancelled`].
		#[pallet::call_index(1)]
		pub fn cancel_job(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_cancel_job(who, job)
		}

		/// Commits a replica to a checkpoint without showing it.
		///
		/// Origin: authorized; [`Pallet::authorize_commit`] checked the node key's signature
		/// over the commit for this chain ([`tessera_primitives::signing`]), the assignment
		/// and the checkpoint order before the pool took it. Emits [`Event::Committed`].
		#[pallet::call_index(2)]
		#[pallet::authorize(Pallet::<T>::authorize_commit)]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_commit())]
		#[pallet::weight(dispatch_after_authorize(
			T::WeightInfo::commit(),
			T::WeightInfo::authorize_commit(),
		))]
		pub fn commit(
			origin: OriginFor<T>,
			commit: Commit,
			signature: NodeSignature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			// Checked by `authorize_commit` before the call got here.
			let _ = signature;
			Self::do_commit(commit)
		}

		/// Opens a commit: the payload and the salt it was committed with.
		///
		/// Origin: authorized; [`Pallet::authorize_reveal`] checked the node key's signature
		/// over the reveal for this chain ([`tessera_primitives::signing`]), that the reveal
		/// is due and that it matches the commit. Emits [`Event::Revealed`], and verification's events after the final
		/// checkpoint's last reveal.
		#[pallet::call_index(3)]
		#[pallet::authorize(Pallet::<T>::authorize_reveal)]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_reveal())]
		// A sampled reveal also queues its availability check: one write.
		#[pallet::weight(dispatch_after_authorize(
			T::WeightInfo::reveal(),
			T::WeightInfo::authorize_reveal(),
		)
		.saturating_add(T::DbWeight::get().writes(1)))]
		pub fn reveal(
			origin: OriginFor<T>,
			reveal: Reveal,
			signature: NodeSignature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			let _ = signature;
			Self::do_reveal(reveal)
		}

		/// Disputes an accepted result at `checkpoint`, bonding `ChallengeBond`.
		///
		/// Emits [`Event::Challenged`] and [`Event::JobDisputed`].
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::challenge().saturating_add(T::Outcome::max_weight()))]
		pub fn challenge(origin: OriginFor<T>, job: JobId, checkpoint: u32) -> DispatchResult {
			let challenger = ensure_signed(origin)?;
			Self::do_challenge(challenger, job, checkpoint)
		}

		/// Sets how many blocks an accepted result may be challenged, for results accepted
		/// from now on; results already accepted keep their window.
		///
		/// Origin: [`Config::ForceOrigin`]. Emits [`Event::ChallengeWindowSet`].
		#[pallet::call_index(5)]
		pub fn set_challenge_window(
			origin: OriginFor<T>,
			blocks: BlockNumberFor<T>,
		) -> DispatchResult {
			T::ForceOrigin::ensure_origin(origin)?;
			ensure!(!blocks.is_zero(), Error::<T>::ZeroChallengeWindow);
			ChallengeWindow::<T>::put(blocks);
			Self::deposit_event(Event::ChallengeWindowSet { blocks });
			Ok(())
		}

		/// Asks for proof that `node` still serves the state it revealed at `checkpoint` of
		/// `job`, holding [`Config::AvailabilityBond`] from the caller: a validator drawn by
		/// randomness must fetch it from the node's endpoint, checked against the CID, within
		/// [`Config::AvailabilityWindow`] blocks. The bond goes to the node if the content is
		/// proven, and back to the caller otherwise.
		///
		/// Origin: signed, anyone. Emits [`Event::AvailabilityChecked`].
		#[pallet::call_index(6)]
		pub fn challenge_availability(
			origin: OriginFor<T>,
			job: JobId,
			node: NodeId,
			checkpoint: u32,
		) -> DispatchResult {
			let challenger = ensure_signed(origin)?;
			Self::do_challenge_availability(challenger, job, node, checkpoint)
		}

		/// A validator drawn for an availability check reports whether the node served the
		/// content (fetched, and matching its CID).
		///
		/// Origin: authorized; [`Pallet::authorize_report_availability`] checked that the
		/// check is open, that it is the validator's, and the validator's node-key signature
		/// over the report for this chain ([`tessera_primitives::signing`]). Emits
		/// [`Event::AvailabilityProven`], or [`Event::AvailabilityMissing`] and then
		/// [`Event::AvailabilityChecked`] for the next validator or
		/// [`Event::AvailabilityFailed`].
		#[pallet::call_index(7)]
		#[pallet::authorize(Pallet::<T>::authorize_report_availability)]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_report_availability())]
		#[pallet::weight(dispatch_after_authorize(
			T::WeightInfo::report_availability(),
			T::WeightInfo::authorize_report_availability(),
		))]
		pub fn report_availability(
			origin: OriginFor<T>,
			report: AvailabilityReport,
			signature: NodeSignature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			let _ = signature;
			Self::do_report_availability(report)
		}

		/// Posts a federated training job and holds `budget` from the caller until it ends.
		///
		/// `participants` trainers (1–`MaxRedundancy`) each train on their own of `shards`
		/// data shards, drawn afresh every round; the job's checkpoints are its rounds (its
		/// `steps / checkpoint_every`), each ending with an aggregator's federated average.
		/// With `privacy` the aggregates are differentially private: the chain computes the ε
		/// the job spends ([`tessera_primitives::privacy::epsilon`]), and the job is drawn
		/// only to nodes whose grant's privacy budget it fits.
		/// Emits [`Event::JobCreated`] and [`Event::FederatedJobCreated`].
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::create_federated_job().saturating_add(T::Consent::some_grant_allows_weight()))]
		pub fn create_federated_job(
			origin: OriginFor<T>,
			spec: JobSpec,
			budget: BalanceOf<T>,
			participants: u8,
			shards: u32,
			deadline: BlockNumberFor<T>,
			privacy: Option<DpParameters>,
		) -> DispatchResultWithPostInfo {
			let requester = ensure_signed(origin)?;
			let weight = Self::creation_weight(T::WeightInfo::create_federated_job(), &spec);
			let job = FederatedJob { participants, shards, privacy };
			Self::do_create_federated_job(requester, spec, budget, job, deadline)?;
			Ok(weight)
		}

		/// Commits the federated average of a round's updates: its CID and digest, the
		/// Merkle root of the averaged updates' CIDs and their number, and the noise it added
		/// (for a private job; [`Error::WrongNoise`] unless it is the round's). The aggregator
		/// is paid [`Config::AggregatorFee`] scaled by the participants, and the next round
		/// opens from the aggregate (or, after the last round, the job is accepted with it as
		/// result).
		///
		/// Origin: authorized; [`Pallet::authorize_submit_aggregation`] checked that the round
		/// awaits it, that it is the node's turn, the inputs, the noise and the node key's
		/// signature over the aggregate for this chain ([`tessera_primitives::signing`]).
		/// Emits [`Event::RoundAggregated`].
		#[pallet::call_index(9)]
		#[pallet::authorize(Pallet::<T>::authorize_submit_aggregation)]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_submit_aggregation())]
		#[pallet::weight(dispatch_after_authorize(
			T::WeightInfo::submit_aggregation(),
			T::WeightInfo::authorize_submit_aggregation(),
		))]
		pub fn submit_aggregation(
			origin: OriginFor<T>,
			aggregation: Aggregation,
			signature: NodeSignature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			let _ = signature;
			Self::do_submit_aggregation(aggregation)
		}

		/// Makes an open job take now the step its next due block would take (fail it at its
		/// deadline, verify it, finalize it, settle or redraw its panel): the way out for a
		/// job whose schedule was lost to a bug or a migration. Charged for the worst step,
		/// refunded to the step taken.
		///
		/// Origin: [`Config::ForceOrigin`]. Emits [`Event::NextStepForced`] besides the
		/// step's own events.
		#[pallet::call_index(10)]
		#[pallet::weight(Pallet::<T>::next_step_bound())]
		pub fn force_next_step(origin: OriginFor<T>, job: JobId) -> DispatchResultWithPostInfo {
			T::ForceOrigin::ensure_origin(origin)?;
			let info = Jobs::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
			ensure!(info.ended.is_none(), Error::<T>::WrongState);
			let weight = Self::take_next_step(job, frame_system::Pallet::<T>::block_number());
			let state = Jobs::<T>::get(job).map_or(info.state, |info| info.state);
			Self::deposit_event(Event::NextStepForced { job, state });
			Ok(Some(weight).into())
		}

		/// Commits a panel member to its verdict on the disputed segment without showing it.
		///
		/// Origin: authorized; [`Pallet::authorize_panel_commit`] checked the node key's
		/// signature over the commitment for this chain ([`tessera_primitives::signing`]), the
		/// seat, the segment and the panel's draw. Emits [`Event::VerdictCommitted`].
		#[pallet::call_index(11)]
		#[pallet::authorize(Pallet::<T>::authorize_panel_commit)]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_panel_commit())]
		#[pallet::weight(dispatch_after_authorize(
			T::WeightInfo::panel_commit(),
			T::WeightInfo::authorize_panel_commit(),
		))]
		pub fn panel_commit(
			origin: OriginFor<T>,
			commit: PanelCommit,
			signature: NodeSignature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			let _ = signature;
			Self::do_panel_commit(commit)
		}

		/// Opens a panel member's commitment. The reveal that makes a majority of the panel
		/// agree settles the segment: replicas it proves wrong are slashed, the agreeing
		/// members paid, and bisection moves to the next divergence or the dispute ends.
		/// Charged for the most a settlement does: ending the job, or undoing a federated
		/// job's rounds and opening one again ([`Pallet::challenge_update`]).
		///
		/// Origin: authorized; [`Pallet::authorize_panel_reveal`] checked the node key's
		/// signature over the reveal for this chain ([`tessera_primitives::signing`]), that
		/// reveals are due and that the reveal opens the commitment. Emits [`Event::VerdictRevealed`].
		#[pallet::call_index(12)]
		#[pallet::authorize(Pallet::<T>::authorize_panel_reveal)]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_panel_reveal())]
		#[pallet::weight(dispatch_after_authorize(
			T::WeightInfo::panel_reveal(),
			T::WeightInfo::authorize_panel_reveal(),
		)
			.saturating_add(Pallet::<T>::ending_weight(T::MaxRedundancy::get()))
			.saturating_add(T::WeightInfo::retrain_round())
			.saturating_add(T::Outcome::max_weight()))]
		pub fn panel_reveal(
			origin: OriginFor<T>,
			reveal: PanelReveal,
			signature: NodeSignature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			let _ = signature;
			Self::do_panel_reveal(reveal)
		}

		/// Disputes `node`'s update of `round` of federated job `job`, bonding
		/// `ChallengeBond`: a panel of validators trains the node's shard of the round again
		/// from the round's start. An update may be challenged once its round closed, while
		/// the round's aggregate is the latest (or is still awaited) and the job's result may
		/// still be challenged. A wrong update costs its author a slash, its seat and what
		/// it earned of the job, pays the challenger, and has its round trained again
		/// without it ([`Event::RoundRetrained`]); an honest one costs the challenger the
		/// bond, shared by the participant and the panel, and can no longer be challenged.
		///
		/// Origin: signed, anyone. Emits [`Event::Challenged`] and [`Event::JobDisputed`].
		#[pallet::call_index(13)]
		#[pallet::weight(T::WeightInfo::challenge_update().saturating_add(T::Outcome::max_weight()))]
		pub fn challenge_update(
			origin: OriginFor<T>,
			job: JobId,
			round: u32,
			node: NodeId,
		) -> DispatchResult {
			let challenger = ensure_signed(origin)?;
			Self::do_challenge_update(challenger, job, round, node)
		}
	}

	impl<T: Config> Pallet<T> {
		/// Checks a commit before the pool: the job runs, the node is one of its replicas,
		/// the checkpoint is the node's next (or, once that one's commit phase closed without
		/// it, a later one), its commit phase is still open, and the node key signed it. One
		/// `provides` tag per job, node and checkpoint.
		pub fn authorize_commit(
			_source: TransactionSource,
			commit: &Commit,
			signature: &NodeSignature,
		) -> TransactionValidityWithRefund {
			Self::check_commit(commit)?;
			Self::check_signature(commit.node, commit, signature)?;
			Self::validity("TesseraCommit", (commit.job, commit.node, commit.checkpoint))
		}

		/// Checks a reveal before the pool: it opens the node's commit for that checkpoint,
		/// every replica committed (or `RevealDelay` passed), and the node key signed it.
		pub fn authorize_reveal(
			_source: TransactionSource,
			reveal: &Reveal,
			signature: &NodeSignature,
		) -> TransactionValidityWithRefund {
			Self::check_reveal(reveal)?;
			let payload = &reveal.payload;
			Self::check_signature(payload.node, reveal, signature)?;
			Self::validity("TesseraReveal", (payload.job, payload.node, payload.checkpoint))
		}

		/// Checks a verdict commitment before the pool: the node sits on the job's panel,
		/// the checkpoint is the segment under re-execution, the node has not committed yet,
		/// the panel's commit phase is still open, and the node key signed it.
		pub fn authorize_panel_commit(
			_source: TransactionSource,
			commit: &PanelCommit,
			signature: &NodeSignature,
		) -> TransactionValidityWithRefund {
			Self::check_panel_commit(commit)?;
			Self::check_signature(commit.node, commit, signature)?;
			Self::validity("TesseraPanelCommit", (commit.job, commit.node, commit.checkpoint))
		}

		/// Checks a verdict reveal before the pool: it opens the node's commitment, every
		/// member committed (or `RevealDelay` passed), and the node key signed it.
		pub fn authorize_panel_reveal(
			_source: TransactionSource,
			reveal: &PanelReveal,
			signature: &NodeSignature,
		) -> TransactionValidityWithRefund {
			Self::check_panel_reveal(reveal)?;
			let verdict = &reveal.verdict;
			Self::check_signature(verdict.node, reveal, signature)?;
			Self::validity("TesseraPanelReveal", (verdict.job, verdict.node, verdict.checkpoint))
		}

		/// Checks an availability report before the pool: the check is open and the
		/// validator's, and its node key signed the report.
		pub fn authorize_report_availability(
			_source: TransactionSource,
			report: &AvailabilityReport,
			signature: &NodeSignature,
		) -> TransactionValidityWithRefund {
			Self::check_availability_report(report)?;
			Self::check_signature(report.validator, report, signature)?;
			Self::validity("TesseraAvailability", (report.check, report.validator, 0))
		}

		/// Checks an aggregate before the pool: its round awaits it from this node now, it
		/// names exactly the round's inputs, and the node key signed it.
		pub fn authorize_submit_aggregation(
			_source: TransactionSource,
			aggregation: &Aggregation,
			signature: &NodeSignature,
		) -> TransactionValidityWithRefund {
			Self::check_aggregation(aggregation)?;
			Self::check_signature(aggregation.node, aggregation, signature)?;
			Self::validity(
				"TesseraAggregation",
				(aggregation.job, aggregation.node, aggregation.round),
			)
		}

		/// `CommitmentPriority` scaled by the node's reputation score, so that under load the
		/// pool keeps the commitments of the nodes with the better record.
		fn validity(
			prefix: &'static str,
			tag: (JobId, NodeId, u32),
		) -> TransactionValidityWithRefund {
			let score = T::Reputation::score(tag.1);
			ValidTransaction::with_tag_prefix(prefix)
				.priority(score.mul_floor(T::CommitmentPriority::get()).max(1))
				.and_provides(tag)
				.longevity(64)
				.propagate(true)
				.build()
				.map(|validity| (validity, Weight::zero()))
		}
	}
}
