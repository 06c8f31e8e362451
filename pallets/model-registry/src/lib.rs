//! # Model Registry Pallet
//!
//! The models trained on Tessera, their versions and lineage, the approver-gated proposals
//! that train them, and the registry of datasets they may be trained on. In Tessera's
//! runtime this is pallet index 53, its approvers the `pallet-membership` instance
//! `ModelApprovers` (index 54, managed by root; Alice on the dev chain); the figures in
//! parentheses below are that runtime's settings.
//!
//! ## Overview
//!
//! A model is registered with its root version (weights CID and digest) by an account, for
//! itself or for a DID it controls ([`Pallet::register_model`]`(owner_did, name,
//! architecture, metadata, weights, digest)`, holding [`Config::ModelDeposit`], 10 TSRA).
//! Its current version changes one way only: a training proposal
//! ([`Pallet::propose_training`]`(model, base_digest, architecture, dataset,
//! hyper_parameters, texts, trainer_build, backend, budget, redundancy, duration)`) names
//! the model, the digest of its current version (a stale one is refused), an approved
//! dataset and how to train; the approvers ([`Config::Approvers`]) vote
//! ([`Pallet::approve`], [`Pallet::reject`]), and with [`ApprovalThreshold`]
//! approvals the proposal becomes a proof-of-compute job ([`JobCreator`]) whose budget is
//! held from the proposer. Only the owner
//! proposes training its model unless the owner's [`TrainingPolicy`] lets anyone
//! ([`Pallet::set_training_policy`]`(model, Anyone)`; the genesis model is open to anyone),
//! checked again when the proposal passes, so an owner can withdraw consent until then
//! (`TrainingNotAllowed`). When that job is finalized, proof-of-compute tells this pallet
//! ([`JobOutcome`]) and the trained weights become the model's new version, announced by
//! [`Event::VersionActivated`] with the digests before and after, which trainers sync on.
//! A failed job leaves the model as it was. The replaced version keeps being served for
//! [`Config::MigrationWindow`] blocks, then counts as deprecated.
//!
//! Datasets enter ([`Pallet::propose_dataset`]`(cid, shards, licence, owner, consent)`, one
//! dataset per CID) and leave ([`Pallet::propose_dataset_removal`]) the registry the same
//! way: a proposal with a deposit, and the approvers' vote. A dataset is proposed only by a
//! controller of the DID that owns it. Every job, proposed here or posted directly, trains
//! on an approved dataset (or on inline texts alone) from a registered model version (or
//! from its seed): proof of compute asks this pallet through
//! [`TrainingInputs`](tessera_primitives::TrainingInputs) and refuses anything else.
//!
//! The threshold `M` of approvals out of the `N` approvers is on chain (1 at genesis): root
//! sets it ([`Config::ThresholdOrigin`], [`Pallet::set_approval_threshold`]), or the
//! approvers pass a proposal to change it ([`Pallet::propose_approval_threshold`]); it is
//! never above `N` (a smaller approver set lowers it,
//! [`ChangeMembers`](frame_support::traits::ChangeMembers)).
//!
//! Every proposal holds [`Config::ProposalDeposit`] (1 TSRA) from its proposer: returned
//! when it is approved, expires ([`Pallet::close`]) or its job ends, paid to
//! [`Config::RejectedDepositBeneficiary`] (the treasury) when the approvers reject it. A
//! proposal is rejected as soon as enough approvers voted against it that the threshold can
//! no longer be met.
//!
//! ## Interface
//!
//! ### For model owners
//! - [`Pallet::register_model`], [`Pallet::deprecate_version`],
//!   [`Pallet::set_training_policy`].
//!
//! ### For anyone
//! - [`Pallet::propose_training`], [`Pallet::propose_dataset`],
//!   [`Pallet::propose_dataset_removal`], [`Pallet::propose_approval_threshold`],
//!   [`Pallet::close`].
//!
//! ### For root
//! - [`Pallet::set_approval_threshold`].
//!
//! ### For approvers
//! - [`Pallet::approve`], [`Pallet::reject`].
//!
//! ### For other pallets
//! - [`JobOutcome`], implemented here for proof-of-compute to call.
//!
//! ### For clients
//! - The runtime API [`runtime_api::ModelApi`].

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod impls;
#[cfg(test)]
mod mock;
pub mod runtime_api;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use pallet::*;
pub use types::{
	Dataset, DatasetId, Model, ModelId, Name, Owner, Proposal, ProposalId, ProposalKind,
	ProposalStatus, TrainingPolicy, Version, VersionIndex, VersionStatus,
};
pub use weights::WeightInfo;

use polkadot_sdk::{
	frame_support::{self, traits::fungible},
	frame_system,
};
use tessera_primitives::{
	Cid, DatasetConsent, DidControl, DidId, JobCreator, JobId, TrainedWeights,
};

/// The balance type of the configured currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// A model as this runtime stores it.
pub type ModelOf<T> = Model<<T as frame_system::Config>::AccountId, BalanceOf<T>>;

/// A proposal as this runtime stores it.
pub type ProposalOf<T> = Proposal<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	frame_system::pallet_prelude::BlockNumberFor<T>,
>;

/// A version as this runtime stores it.
pub type VersionOf<T> = Version<frame_system::pallet_prelude::BlockNumberFor<T>>;

/// The approvals a proposal needs now ([`ApprovalThreshold`]), for other pallets that ask
/// the approvers for as many voices.
pub struct CurrentApprovalThreshold<T>(core::marker::PhantomData<T>);
impl<T: Config> frame_support::traits::Get<u32> for CurrentApprovalThreshold<T> {
	fn get() -> u32 {
		ApprovalThreshold::<T>::get()
	}
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::{
		pallet_prelude::*,
		traits::{fungible::MutateHold, SortedMembers},
	};
	use frame_system::pallet_prelude::*;
	use polkadot_sdk::sp_core::H256;
	use tessera_primitives::{Architecture, BackendClass, HyperParameters, InlineTexts};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the model registry.
	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency deposits are held in.
		type Currency: MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ fungible::Mutate<Self::AccountId>;

		/// The overarching hold reason, which includes this pallet's [`HoldReason`].
		type RuntimeHoldReason: From<HoldReason>;

		/// Held from whoever registers a model, for as long as the model exists.
		#[pallet::constant]
		type ModelDeposit: Get<BalanceOf<Self>>;

		/// Held from whoever makes a proposal, until it is decided.
		#[pallet::constant]
		type ProposalDeposit: Get<BalanceOf<Self>>;

		/// Receives the deposits of rejected proposals.
		type RejectedDepositBeneficiary: Get<Self::AccountId>;

		/// Who votes on proposals.
		type Approvers: SortedMembers<Self::AccountId>;

		/// Approvals a proposal needs until root or the approvers set another
		/// ([`ApprovalThreshold`]).
		#[pallet::constant]
		type DefaultApprovalThreshold: Get<u32>;

		/// Who sets the approval threshold directly; the approvers change it by proposal.
		type ThresholdOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// Blocks a proposal is open for votes.
		#[pallet::constant]
		type VotingPeriod: Get<BlockNumberFor<Self>>;

		/// Blocks a replaced version is still served for.
		#[pallet::constant]
		type MigrationWindow: Get<BlockNumberFor<Self>>;

		/// Versions a model may have; bounds the walk along a lineage.
		#[pallet::constant]
		type MaxVersions: Get<u32>;

		/// Starts the jobs approved training proposals become.
		type Jobs: JobCreator<Self::AccountId, BalanceOf<Self>, BlockNumberFor<Self>>;

		/// Tells who controls a DID, for models owned by DIDs.
		type Dids: DidControl<Self::AccountId>;

		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The deposit of a registered model.
		ModelDeposit,
		/// The deposit of an undecided proposal.
		ProposalDeposit,
	}

	/// The id the next model gets.
	#[pallet::storage]
	pub type NextModelId<T: Config> = StorageValue<_, ModelId, ValueQuery>;

	/// Registered models.
	///
	/// Hasher: ids are assigned in sequence, not chosen by users.
	#[pallet::storage]
	pub type Models<T: Config> = StorageMap<_, Twox64Concat, ModelId, ModelOf<T>>;

	/// Every version of every model.
	///
	/// Hasher: both keys are assigned in sequence, not chosen by users.
	#[pallet::storage]
	pub type Versions<T: Config> =
		StorageDoubleMap<_, Twox64Concat, ModelId, Twox64Concat, VersionIndex, VersionOf<T>>;

	/// The id the next proposal gets.
	#[pallet::storage]
	pub type NextProposalId<T: Config> = StorageValue<_, ProposalId, ValueQuery>;

	/// Proposals being voted on or whose job is running.
	///
	/// Hasher: ids are assigned in sequence, not chosen by users.
	#[pallet::storage]
	pub type Proposals<T: Config> = StorageMap<_, Twox64Concat, ProposalId, ProposalOf<T>>;

	/// The proposal whose job is training each model; one at a time, so that two jobs never
	/// race to replace the same version.
	///
	/// Hasher: ids are assigned in sequence, not chosen by users.
	#[pallet::storage]
	pub type TrainingOf<T: Config> = StorageMap<_, Twox64Concat, ModelId, ProposalId>;

	/// The proposal each running job came from.
	///
	/// Hasher: job ids are assigned in sequence by proof-of-compute.
	#[pallet::storage]
	pub type ProposalOfJob<T: Config> = StorageMap<_, Twox64Concat, JobId, ProposalId>;

	/// The id the next dataset gets.
	#[pallet::storage]
	pub type NextDatasetId<T: Config> = StorageValue<_, DatasetId, ValueQuery>;

	/// Approved datasets.
	///
	/// Hasher: ids are assigned in sequence, not chosen by users.
	#[pallet::storage]
	pub type Datasets<T: Config> = StorageMap<_, Twox64Concat, DatasetId, Dataset>;

	/// The approved dataset of each CID: what jobs may name as their dataset.
	///
	/// Hasher: CIDs are chosen by users, so a cryptographic hasher.
	#[pallet::storage]
	pub type DatasetOfCid<T: Config> = StorageMap<_, Blake2_128Concat, Cid, DatasetId>;

	/// The model version of each registered state (weights CID and digest), the first one
	/// that had it: what jobs may start from.
	///
	/// Hasher: CIDs and digests are chosen by users, so a cryptographic hasher.
	#[pallet::storage]
	pub type VersionOfState<T: Config> =
		StorageMap<_, Blake2_128Concat, TrainedWeights, (ModelId, VersionIndex)>;

	/// Approvals a proposal needs: at least one, and never more than there are approvers.
	#[pallet::storage]
	pub type ApprovalThreshold<T: Config> =
		StorageValue<_, u32, ValueQuery, T::DefaultApprovalThreshold>;

	/// Models and datasets a chain starts with.
	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Models with their root version: owner, name, architecture, metadata CID,
		/// weights CID, weights digest and who may propose training them.
		#[allow(clippy::type_complexity)]
		pub models:
			Vec<(Owner<T::AccountId>, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, H256, TrainingPolicy)>,
		/// Approved datasets: CID, shard count, licence, owner DID and who may train on it.
		pub datasets: Vec<(Vec<u8>, u32, Vec<u8>, DidId, DatasetConsent)>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			fn bounded<B: TryFrom<Vec<u8>>>(bytes: &[u8], what: &str) -> B {
				B::try_from(bytes.to_vec()).unwrap_or_else(|_| panic!("genesis {what} too long"))
			}
			for (owner, name, architecture, metadata, weights, digest, training) in &self.models {
				Pallet::<T>::insert_model(
					owner.clone(),
					bounded(name, "model name"),
					bounded(architecture, "architecture"),
					bounded(metadata, "metadata CID"),
					bounded(weights, "weights CID"),
					*digest,
					None,
					*training,
				);
			}
			for (cid, shards, licence, owner, consent) in &self.datasets {
				let dataset = Dataset {
					cid: bounded(cid, "dataset CID"),
					shards: *shards,
					licence: bounded(licence, "licence"),
					owner: *owner,
					consent: *consent,
				};
				Pallet::<T>::insert_dataset(dataset).expect("genesis datasets have distinct CIDs");
			}
		}
	}

	/// Events of the model registry.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A model was registered with its root version.
		ModelRegistered {
			/// The new model.
			model: ModelId,
			/// Who owns it.
			owner: Owner<T::AccountId>,
			/// The root version's digest.
			digest: H256,
		},
		/// A finalized job's weights became a model's current version; trainers sync on it.
		VersionActivated {
			/// The model.
			model: ModelId,
			/// The new current version.
			version: VersionIndex,
			/// The job that trained it.
			job: JobId,
			/// Where the new weights are.
			weights: Cid,
			/// The digest of the version it replaced.
			model_digest_before: H256,
			/// The digest of the new version.
			model_digest_after: H256,
		},
		/// A version was deprecated by the model's owner.
		VersionDeprecated {
			/// The model.
			model: ModelId,
			/// The deprecated version.
			version: VersionIndex,
		},
		/// A proposal was made.
		Proposed {
			/// The proposal.
			proposal: ProposalId,
			/// Who made it.
			proposer: T::AccountId,
			/// When voting ends.
			voting_ends: BlockNumberFor<T>,
		},
		/// An approver voted.
		Voted {
			/// The proposal.
			proposal: ProposalId,
			/// The approver.
			approver: T::AccountId,
			/// In favour or not.
			approve: bool,
			/// Approvals so far.
			ayes: u32,
			/// Rejections so far.
			nays: u32,
		},
		/// A training proposal was approved and its job started.
		TrainingStarted {
			/// The proposal.
			proposal: ProposalId,
			/// The model.
			model: ModelId,
			/// The job.
			job: JobId,
		},
		/// A training proposal's job ended without a result; the model is unchanged.
		TrainingFailed {
			/// The proposal.
			proposal: ProposalId,
			/// The model.
			model: ModelId,
			/// The job.
			job: JobId,
		},
		/// An approved proposal could not be carried out; its deposit was returned.
		ProposalFailed {
			/// The proposal.
			proposal: ProposalId,
			/// Why.
			error: DispatchError,
		},
		/// The approvers rejected a proposal; its deposit went to the beneficiary.
		ProposalRejected {
			/// The proposal.
			proposal: ProposalId,
		},
		/// A proposal's voting ended without a decision; its deposit was returned.
		ProposalExpired {
			/// The proposal.
			proposal: ProposalId,
		},
		/// A dataset entered the registry.
		DatasetApproved {
			/// Its id.
			dataset: DatasetId,
			/// Where the data is.
			cid: Cid,
			/// The DID whose consent governs it.
			owner: DidId,
		},
		/// A dataset left the registry.
		DatasetRemoved {
			/// Its id.
			dataset: DatasetId,
		},
		/// A model's owner decided who may propose training it.
		TrainingPolicySet {
			/// The model.
			model: ModelId,
			/// Who may propose training it.
			policy: TrainingPolicy,
		},
		/// Proposals now need this many approvals.
		ApprovalThresholdSet {
			/// Approvals a proposal needs.
			threshold: u32,
		},
	}

	/// Errors of the model registry.
	#[pallet::error]
	pub enum Error<T> {
		/// No model has this id.
		UnknownModel,
		/// The model has no such version.
		UnknownVersion,
		/// The signer neither is the owner nor controls the owning DID.
		NotOwner,
		/// The current version cannot be deprecated; train a new one instead.
		VersionIsCurrent,
		/// The version is deprecated already.
		AlreadyDeprecated,
		/// The model has as many versions as it may.
		TooManyVersions,
		/// The base digest is not the model's current digest.
		StaleBaseDigest,
		/// No approved dataset has this id.
		UnknownDataset,
		/// A job is training this model already.
		ModelBusy,
		/// Redundancy must be between 1 and 5.
		InvalidRedundancy,
		/// No open proposal has this id.
		UnknownProposal,
		/// The proposal is not being voted on.
		NotVoting,
		/// Voting on the proposal has ended.
		VotingEnded,
		/// Voting on the proposal has not ended yet.
		VotingOpen,
		/// The signer is not an approver.
		NotApprover,
		/// The approver voted on this proposal already.
		AlreadyVoted,
		/// More approvers voted than a proposal records.
		TooManyVotes,
		/// Only the model's owner may propose training it, as the owner decided.
		TrainingNotAllowed,
		/// An approved dataset has this CID already.
		DatasetExists,
		/// A threshold must be at least one and at most the number of approvers.
		InvalidThreshold,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(
				T::DefaultApprovalThreshold::get() > 0,
				"a proposal needs at least one approval"
			);
			assert!(
				T::DefaultApprovalThreshold::get() <= types::MAX_APPROVERS,
				"the threshold must be reachable within the recorded votes"
			);
			assert!(T::MaxVersions::get() > 0, "a model needs room for its root version");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(
			_: BlockNumberFor<T>,
		) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Registers a model with its root version, holding [`Config::ModelDeposit`].
		///
		/// Origin: signed. With `owner_did` the model belongs to that DID, which the signer
		/// must control; without, to the signer.
		///
		/// Emits [`Event::ModelRegistered`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register_model())]
		pub fn register_model(
			origin: OriginFor<T>,
			owner_did: Option<DidId>,
			name: Name,
			architecture: Name,
			metadata: Cid,
			weights: Cid,
			digest: H256,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_register_model(who, owner_did, name, architecture, metadata, weights, digest)
		}

		/// Deprecates a version that is not the current one.
		///
		/// Origin: signed by the owner, or by a controller of the owning DID.
		///
		/// Emits [`Event::VersionDeprecated`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::deprecate_version())]
		pub fn deprecate_version(
			origin: OriginFor<T>,
			model: ModelId,
			version: VersionIndex,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_deprecate_version(who, model, version)
		}

		/// Proposes to train a new version of `model` from its current one, whose digest
		/// must be `base_digest`, as the network `architecture`, on the approved `dataset`.
		/// If approved, the signer pays `budget` for a job run by `redundancy` nodes (1–5)
		/// within `duration` blocks. Holds [`Config::ProposalDeposit`].
		///
		/// Origin: signed by the model's owner (a controller of the owning DID), or by
		/// anyone if the model's [`TrainingPolicy`] allows it.
		///
		/// Emits [`Event::Proposed`].
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::propose_training())]
		pub fn propose_training(
			origin: OriginFor<T>,
			model: ModelId,
			base_digest: H256,
			architecture: Architecture,
			dataset: DatasetId,
			hyper_parameters: HyperParameters,
			texts: InlineTexts,
			trainer_build: H256,
			backend: BackendClass,
			budget: BalanceOf<T>,
			redundancy: u8,
			duration: BlockNumberFor<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let kind = Self::training_kind(
				&who,
				model,
				base_digest,
				architecture,
				dataset,
				hyper_parameters,
				texts,
				trainer_build,
				backend,
				budget,
				redundancy,
				duration,
			)?;
			Self::do_propose(who, kind)
		}

		/// Proposes to add a dataset to the registry, owned by the DID `owner`, whose
		/// consent governs its use: anyone may train on it, or only nodes linked to DIDs
		/// `owner` grants access ([`DatasetConsent`]). No other approved dataset may have
		/// its CID. Holds [`Config::ProposalDeposit`].
		///
		/// Origin: signed by a controller of `owner`.
		///
		/// Emits [`Event::Proposed`].
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::propose_dataset())]
		pub fn propose_dataset(
			origin: OriginFor<T>,
			cid: Cid,
			shards: u32,
			licence: Name,
			owner: DidId,
			consent: DatasetConsent,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(T::Dids::is_controller(&owner, &who), Error::<T>::NotOwner);
			ensure!(!DatasetOfCid::<T>::contains_key(&cid), Error::<T>::DatasetExists);
			let dataset = Dataset { cid, shards, licence, owner, consent };
			Self::do_propose(who, ProposalKind::AddDataset(dataset))
		}

		/// Proposes to take a dataset out of the registry. Holds
		/// [`Config::ProposalDeposit`].
		///
		/// Origin: signed.
		///
		/// Emits [`Event::Proposed`].
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::propose_dataset())]
		pub fn propose_dataset_removal(origin: OriginFor<T>, dataset: DatasetId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(Datasets::<T>::contains_key(dataset), Error::<T>::UnknownDataset);
			Self::do_propose(who, ProposalKind::RemoveDataset(dataset))
		}

		/// Votes for a proposal; with [`Config::ApprovalThreshold`] approvals it is carried
		/// out at once.
		///
		/// Origin: signed by an approver, once per proposal.
		///
		/// Emits [`Event::Voted`], then [`Event::TrainingStarted`],
		/// [`Event::DatasetApproved`], [`Event::DatasetRemoved`] or [`Event::ProposalFailed`]
		/// when the proposal passes.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::approve().saturating_add(T::Jobs::consent_check_weight()))]
		pub fn approve(origin: OriginFor<T>, proposal: ProposalId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_vote(who, proposal, true)
		}

		/// Votes against a proposal; once the threshold can no longer be met it is rejected
		/// and its deposit paid to [`Config::RejectedDepositBeneficiary`].
		///
		/// Origin: signed by an approver, once per proposal.
		///
		/// Emits [`Event::Voted`], and [`Event::ProposalRejected`] when it decides.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::reject())]
		pub fn reject(origin: OriginFor<T>, proposal: ProposalId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_vote(who, proposal, false)
		}

		/// Closes a proposal whose voting ended undecided and returns its deposit.
		///
		/// Origin: signed by anyone.
		///
		/// Emits [`Event::ProposalExpired`].
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::close())]
		pub fn close(origin: OriginFor<T>, proposal: ProposalId) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_close(proposal)
		}

		/// Decides who may propose training `model`: its owner only, or anyone.
		///
		/// Origin: signed by the owner, or by a controller of the owning DID.
		///
		/// Emits [`Event::TrainingPolicySet`].
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::set_training_policy())]
		pub fn set_training_policy(
			origin: OriginFor<T>,
			model: ModelId,
			policy: TrainingPolicy,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_set_training_policy(who, model, policy)
		}

		/// Sets the approvals a proposal needs, from 1 to the number of approvers. Open
		/// proposals are decided by the new threshold from their next vote.
		///
		/// Origin: [`Config::ThresholdOrigin`].
		///
		/// Emits [`Event::ApprovalThresholdSet`].
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::set_approval_threshold())]
		pub fn set_approval_threshold(origin: OriginFor<T>, threshold: u32) -> DispatchResult {
			T::ThresholdOrigin::ensure_origin(origin)?;
			Self::do_set_approval_threshold(threshold)
		}

		/// Proposes that proposals need `threshold` approvals from now on, for the approvers
		/// to decide by the current threshold. Holds [`Config::ProposalDeposit`].
		///
		/// Origin: signed.
		///
		/// Emits [`Event::Proposed`].
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::propose_approval_threshold())]
		pub fn propose_approval_threshold(origin: OriginFor<T>, threshold: u32) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_reachable(threshold)?;
			Self::do_propose(who, ProposalKind::SetApprovalThreshold(threshold))
		}
	}
}
