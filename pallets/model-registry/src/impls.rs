//! The logic behind the calls, what happens when jobs end, and the reads of the runtime API.

use crate::{
	pallet::*, types::MAX_APPROVERS, BalanceOf, Dataset, DatasetId, Model, ModelId, ModelOf, Name,
	Owner, Proposal, ProposalId, ProposalKind, ProposalOf, ProposalStatus, TrainingPolicy, Version,
	VersionIndex, VersionOf, VersionStatus, WeightInfo,
};
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_support::{
		ensure,
		pallet_prelude::*,
		traits::{
			fungible::MutateHold,
			tokens::{Fortitude, Precision, Restriction},
			ChangeMembers, SortedMembers,
		},
	},
	frame_system::{self, pallet_prelude::*},
	sp_core::H256,
	sp_runtime::{traits::Saturating, DispatchError},
};
use tessera_primitives::{
	Architecture, BackendClass, Cid, DatasetConsent, DidControl, DidId, HyperParameters,
	InlineTexts, JobCreator, JobId, JobOutcome, JobSpec, TrainedWeights, TrainingInputs,
};

impl<T: Config> Pallet<T> {
	/// Stores a model with its root version and returns its id.
	#[allow(clippy::too_many_arguments)]
	pub(crate) fn insert_model(
		owner: Owner<T::AccountId>,
		name: Name,
		architecture: Name,
		metadata: Cid,
		weights: Cid,
		digest: H256,
		deposit: Option<(T::AccountId, BalanceOf<T>)>,
		training: TrainingPolicy,
	) -> ModelId {
		let model = NextModelId::<T>::mutate(|next| {
			let id = *next;
			*next = next.saturating_add(1);
			id
		});
		let now = frame_system::Pallet::<T>::block_number();
		Self::index_state(&weights, digest, model, 0);
		Versions::<T>::insert(
			model,
			0,
			Version {
				weights,
				digest,
				parent: None,
				produced_by_job: None,
				status: VersionStatus::Active,
				since: now,
			},
		);
		Models::<T>::insert(
			model,
			Model {
				owner: owner.clone(),
				name,
				architecture,
				metadata,
				current: 0,
				versions: 1,
				deposit,
				training,
			},
		);
		Self::deposit_event(Event::ModelRegistered { model, owner, digest });
		model
	}

	/// Records that jobs may start from `weights` with `digest`, version `version` of
	/// `model`, unless an earlier version had the same state.
	fn index_state(weights: &Cid, digest: H256, model: ModelId, version: VersionIndex) {
		let state = TrainedWeights { weights: weights.clone(), digest };
		if !VersionOfState::<T>::contains_key(&state) {
			VersionOfState::<T>::insert(state, (model, version));
		}
	}

	/// Stores an approved dataset and returns its id; its CID must be new to the registry.
	pub(crate) fn insert_dataset(dataset: Dataset) -> Result<DatasetId, Error<T>> {
		ensure!(!DatasetOfCid::<T>::contains_key(&dataset.cid), Error::<T>::DatasetExists);
		let id = NextDatasetId::<T>::mutate(|next| {
			let id = *next;
			*next = next.saturating_add(1);
			id
		});
		DatasetOfCid::<T>::insert(&dataset.cid, id);
		Self::deposit_event(Event::DatasetApproved {
			dataset: id,
			cid: dataset.cid.clone(),
			owner: dataset.owner,
		});
		Datasets::<T>::insert(id, dataset);
		Ok(id)
	}

	pub(crate) fn do_register_model(
		who: T::AccountId,
		owner_did: Option<DidId>,
		name: Name,
		architecture: Name,
		metadata: Cid,
		weights: Cid,
		digest: H256,
	) -> DispatchResult {
		let owner = match owner_did {
			Some(did) => {
				ensure!(T::Dids::is_controller(&did, &who), Error::<T>::NotOwner);
				Owner::Did(did)
			}
			None => Owner::Account(who.clone()),
		};
		let deposit = T::ModelDeposit::get();
		T::Currency::hold(&HoldReason::ModelDeposit.into(), &who, deposit)?;
		Self::insert_model(
			owner,
			name,
			architecture,
			metadata,
			weights,
			digest,
			Some((who, deposit)),
			TrainingPolicy::OwnerOnly,
		);
		Ok(())
	}

	fn owns(who: &T::AccountId, model: &ModelOf<T>) -> bool {
		match &model.owner {
			Owner::Account(account) => account == who,
			Owner::Did(did) => T::Dids::is_controller(did, who),
		}
	}

	fn ensure_owner(who: &T::AccountId, model: &ModelOf<T>) -> DispatchResult {
		ensure!(Self::owns(who, model), Error::<T>::NotOwner);
		Ok(())
	}

	/// Whether the model's owner lets `who` propose training it.
	fn ensure_may_train(who: &T::AccountId, model: &ModelOf<T>) -> DispatchResult {
		let allowed = model.training == TrainingPolicy::Anyone || Self::owns(who, model);
		ensure!(allowed, Error::<T>::TrainingNotAllowed);
		Ok(())
	}

	pub(crate) fn do_set_training_policy(
		who: T::AccountId,
		model: ModelId,
		policy: TrainingPolicy,
	) -> DispatchResult {
		Models::<T>::try_mutate(model, |record| {
			let record = record.as_mut().ok_or(Error::<T>::UnknownModel)?;
			Self::ensure_owner(&who, record)?;
			record.training = policy;
			Ok::<_, DispatchError>(())
		})?;
		Self::deposit_event(Event::TrainingPolicySet { model, policy });
		Ok(())
	}

	/// The number of approvers, as many as a proposal can record at most.
	fn approver_count() -> u32 {
		(T::Approvers::count() as u32).min(MAX_APPROVERS)
	}

	/// Whether `threshold` approvals can be reached by the approvers there are.
	pub(crate) fn ensure_reachable(threshold: u32) -> DispatchResult {
		ensure!((1..=Self::approver_count()).contains(&threshold), Error::<T>::InvalidThreshold);
		Ok(())
	}

	pub(crate) fn do_set_approval_threshold(threshold: u32) -> DispatchResult {
		Self::ensure_reachable(threshold)?;
		ApprovalThreshold::<T>::put(threshold);
		Self::deposit_event(Event::ApprovalThresholdSet { threshold });
		Ok(())
	}

	pub(crate) fn do_deprecate_version(
		who: T::AccountId,
		model: ModelId,
		version: VersionIndex,
	) -> DispatchResult {
		let record = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
		Self::ensure_owner(&who, &record)?;
		ensure!(record.current != version, Error::<T>::VersionIsCurrent);
		Versions::<T>::try_mutate(model, version, |entry| {
			let entry = entry.as_mut().ok_or(Error::<T>::UnknownVersion)?;
			ensure!(entry.status != VersionStatus::Deprecated, Error::<T>::AlreadyDeprecated);
			entry.status = VersionStatus::Deprecated;
			Ok::<_, DispatchError>(())
		})?;
		Self::deposit_event(Event::VersionDeprecated { model, version });
		Ok(())
	}

	/// Checks a training request against the model's current state and builds the job it
	/// becomes, with the current version's weights as its base.
	#[allow(clippy::too_many_arguments)]
	pub(crate) fn training_kind(
		proposer: &T::AccountId,
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
	) -> Result<ProposalKind<BalanceOf<T>, BlockNumberFor<T>>, DispatchError> {
		ensure!((1..=5).contains(&redundancy), Error::<T>::InvalidRedundancy);
		let record = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
		Self::ensure_may_train(proposer, &record)?;
		ensure!(record.versions < T::MaxVersions::get(), Error::<T>::TooManyVersions);
		let base = Versions::<T>::get(model, record.current).ok_or(Error::<T>::UnknownVersion)?;
		ensure!(base.digest == base_digest, Error::<T>::StaleBaseDigest);
		let data = Datasets::<T>::get(dataset).ok_or(Error::<T>::UnknownDataset)?;
		let spec = JobSpec {
			architecture,
			base_weights: base.weights,
			base_digest,
			dataset: data.cid,
			hyper_parameters,
			texts,
			trainer_build,
			backend,
		};
		Ok(ProposalKind::Training {
			model,
			base: record.current,
			dataset,
			spec,
			budget,
			redundancy,
			duration,
		})
	}

	pub(crate) fn do_propose(
		proposer: T::AccountId,
		kind: ProposalKind<BalanceOf<T>, BlockNumberFor<T>>,
	) -> DispatchResult {
		let deposit = T::ProposalDeposit::get();
		T::Currency::hold(&HoldReason::ProposalDeposit.into(), &proposer, deposit)?;
		let proposal = NextProposalId::<T>::mutate(|next| {
			let id = *next;
			*next = next.saturating_add(1);
			id
		});
		let voting_ends =
			frame_system::Pallet::<T>::block_number().saturating_add(T::VotingPeriod::get());
		Proposals::<T>::insert(
			proposal,
			Proposal {
				proposer: proposer.clone(),
				deposit,
				kind,
				ayes: Default::default(),
				nays: Default::default(),
				voting_ends,
				status: ProposalStatus::Voting,
			},
		);
		Self::deposit_event(Event::Proposed { proposal, proposer, voting_ends });
		Ok(())
	}

	pub(crate) fn do_vote(approver: T::AccountId, id: ProposalId, approve: bool) -> DispatchResult {
		ensure!(T::Approvers::contains(&approver), Error::<T>::NotApprover);
		let mut proposal = Proposals::<T>::get(id).ok_or(Error::<T>::UnknownProposal)?;
		ensure!(proposal.status == ProposalStatus::Voting, Error::<T>::NotVoting);
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now < proposal.voting_ends, Error::<T>::VotingEnded);
		ensure!(
			!proposal.ayes.contains(&approver) && !proposal.nays.contains(&approver),
			Error::<T>::AlreadyVoted
		);
		let side = if approve { &mut proposal.ayes } else { &mut proposal.nays };
		side.try_push(approver.clone()).map_err(|_| Error::<T>::TooManyVotes)?;
		let ayes = proposal.ayes.len() as u32;
		let nays = proposal.nays.len() as u32;
		Self::deposit_event(Event::Voted { proposal: id, approver, approve, ayes, nays });

		let threshold = ApprovalThreshold::<T>::get();
		let approvers = Self::approver_count();
		if ayes >= threshold {
			Self::enact(id, proposal);
		} else if approvers.saturating_sub(nays) < threshold {
			Self::slash_deposit(&proposal);
			Proposals::<T>::remove(id);
			Self::deposit_event(Event::ProposalRejected { proposal: id });
		} else {
			Proposals::<T>::insert(id, proposal);
		}
		Ok(())
	}

	/// Carries out an approved proposal. A proposal that can no longer be carried out — its
	/// base was replaced, its dataset removed, the requester cannot pay — fails and gets its
	/// deposit back; the vote itself still stands.
	fn enact(id: ProposalId, mut proposal: ProposalOf<T>) {
		let failure = match &proposal.kind {
			ProposalKind::Training { model, base, dataset, spec, budget, redundancy, duration } => {
				let started = Self::start_training(
					&proposal.proposer,
					*model,
					*base,
					*dataset,
					spec,
					*budget,
					*redundancy,
					*duration,
				);
				match started {
					Ok(job) => {
						TrainingOf::<T>::insert(model, id);
						ProposalOfJob::<T>::insert(job, id);
						Self::deposit_event(Event::TrainingStarted {
							proposal: id,
							model: *model,
							job,
						});
						proposal.status = ProposalStatus::Training(job);
						Proposals::<T>::insert(id, proposal);
						return;
					}
					Err(error) => Some(error),
				}
			}
			ProposalKind::AddDataset(dataset) => {
				Self::insert_dataset(dataset.clone()).err().map(Into::into)
			}
			ProposalKind::RemoveDataset(dataset) => match Datasets::<T>::take(dataset) {
				Some(removed) => {
					DatasetOfCid::<T>::remove(&removed.cid);
					Self::deposit_event(Event::DatasetRemoved { dataset: *dataset });
					None
				}
				None => Some(Error::<T>::UnknownDataset.into()),
			},
			ProposalKind::SetApprovalThreshold(threshold) => {
				Self::do_set_approval_threshold(*threshold).err()
			}
		};
		Self::settle(id, &proposal);
		if let Some(error) = failure {
			Self::deposit_event(Event::ProposalFailed { proposal: id, error });
		}
	}

	#[allow(clippy::too_many_arguments)]
	fn start_training(
		requester: &T::AccountId,
		model: ModelId,
		base: VersionIndex,
		dataset: DatasetId,
		spec: &JobSpec,
		budget: BalanceOf<T>,
		redundancy: u8,
		duration: BlockNumberFor<T>,
	) -> Result<JobId, DispatchError> {
		ensure!(!TrainingOf::<T>::contains_key(model), Error::<T>::ModelBusy);
		let record = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
		// The owner may have withdrawn its consent while the approvers voted.
		Self::ensure_may_train(requester, &record)?;
		ensure!(record.current == base, Error::<T>::StaleBaseDigest);
		ensure!(Datasets::<T>::contains_key(dataset), Error::<T>::UnknownDataset);
		let deadline = frame_system::Pallet::<T>::block_number().saturating_add(duration);
		T::Jobs::create_job(requester, spec.clone(), budget, redundancy, deadline)
	}

	/// Returns a decided proposal's deposit and forgets the proposal.
	fn settle(id: ProposalId, proposal: &ProposalOf<T>) {
		let _ = T::Currency::release(
			&HoldReason::ProposalDeposit.into(),
			&proposal.proposer,
			proposal.deposit,
			Precision::BestEffort,
		);
		Proposals::<T>::remove(id);
	}

	fn slash_deposit(proposal: &ProposalOf<T>) {
		let _ = T::Currency::transfer_on_hold(
			&HoldReason::ProposalDeposit.into(),
			&proposal.proposer,
			&T::RejectedDepositBeneficiary::get(),
			proposal.deposit,
			Precision::BestEffort,
			Restriction::Free,
			Fortitude::Force,
		);
	}

	pub(crate) fn do_close(id: ProposalId) -> DispatchResult {
		let proposal = Proposals::<T>::get(id).ok_or(Error::<T>::UnknownProposal)?;
		ensure!(proposal.status == ProposalStatus::Voting, Error::<T>::NotVoting);
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now >= proposal.voting_ends, Error::<T>::VotingOpen);
		Self::settle(id, &proposal);
		Self::deposit_event(Event::ProposalExpired { proposal: id });
		Ok(())
	}

	/// The training proposal that `job` came from, removed from the job index.
	fn take_training(job: JobId) -> Option<(ProposalId, ProposalOf<T>, ModelId, VersionIndex)> {
		let id = ProposalOfJob::<T>::take(job)?;
		let proposal = Proposals::<T>::get(id)?;
		let ProposalKind::Training { model, base, .. } = proposal.kind else { return None };
		TrainingOf::<T>::remove(model);
		Some((id, proposal, model, base))
	}

	/// Makes a finalized job's weights the model's current version.
	pub(crate) fn activate(job: JobId, result: &TrainedWeights) {
		let Some((id, proposal, model, base)) = Self::take_training(job) else { return };
		Self::settle(id, &proposal);
		let Some(mut record) = Models::<T>::get(model) else { return };
		let now = frame_system::Pallet::<T>::block_number();
		let before =
			Versions::<T>::get(model, base).map(|version| version.digest).unwrap_or_default();
		let until = now.saturating_add(T::MigrationWindow::get());
		Versions::<T>::mutate(model, base, |version| {
			if let Some(version) = version {
				version.status = VersionStatus::Migrating { until };
			}
		});
		let version = record.versions;
		Self::index_state(&result.weights, result.digest, model, version);
		Versions::<T>::insert(
			model,
			version,
			Version {
				weights: result.weights.clone(),
				digest: result.digest,
				parent: Some(base),
				produced_by_job: Some(job),
				status: VersionStatus::Active,
				since: now,
			},
		);
		record.current = version;
		record.versions = record.versions.saturating_add(1);
		Models::<T>::insert(model, record);
		Self::deposit_event(Event::VersionActivated {
			model,
			version,
			job,
			weights: result.weights.clone(),
			model_digest_before: before,
			model_digest_after: result.digest,
		});
	}

	/// Ends a training proposal whose job produced nothing; the model stays as it was.
	pub(crate) fn abandon(job: JobId) {
		let Some((id, proposal, model, _)) = Self::take_training(job) else { return };
		Self::settle(id, &proposal);
		Self::deposit_event(Event::TrainingFailed { proposal: id, model, job });
	}

	/// A version's status at `now`: a migrating version counts as deprecated once its
	/// window has passed.
	pub fn status_at(
		status: VersionStatus<BlockNumberFor<T>>,
		now: BlockNumberFor<T>,
	) -> VersionStatus<BlockNumberFor<T>> {
		match status {
			VersionStatus::Migrating { until } if now >= until => VersionStatus::Deprecated,
			status => status,
		}
	}

	/// The versions of `model`, oldest first, with their status as of now.
	pub fn versions_of(model: ModelId) -> Vec<(VersionIndex, VersionOf<T>)> {
		let now = frame_system::Pallet::<T>::block_number();
		let mut versions: Vec<_> = Versions::<T>::iter_prefix(model)
			.map(|(index, mut version)| {
				version.status = Self::status_at(version.status, now);
				(index, version)
			})
			.collect();
		versions.sort_by_key(|(index, _)| *index);
		versions
	}

	/// `version` of `model` and its ancestors back to the root, newest first. Bounded by
	/// [`Config::MaxVersions`].
	pub fn lineage(model: ModelId, version: VersionIndex) -> Vec<VersionIndex> {
		let mut lineage = Vec::new();
		let mut next = Versions::<T>::get(model, version).map(|_| version);
		while let Some(index) = next {
			if lineage.len() as u32 >= T::MaxVersions::get() {
				break;
			}
			lineage.push(index);
			next = Versions::<T>::get(model, index).and_then(|entry| entry.parent);
		}
		lineage
	}

	/// Checks the pallet's storage.
	///
	/// # Invariants
	///
	/// - Every model has versions `0..versions`, exactly one of them active — the current
	///   one — and every other version's parent is an older version.
	/// - A model is training at most one proposal, which is in `Training` with the job
	///   indexed to it; every indexed job points at such a proposal.
	/// - The held deposits of each account equal its models' and open proposals' deposits.
	/// - The approval threshold is at least one and no more than the approvers (or one, while
	///   there are none).
	/// - Every approved dataset is indexed by its CID and every index entry is a dataset's;
	///   every version's state is indexed, to a version with that state.
	#[cfg(any(test, feature = "try-runtime", feature = "invariants"))]
	pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		use polkadot_sdk::frame_support::traits::fungible::InspectHold;

		let mut model_deposits: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (model, record) in Models::<T>::iter() {
			let versions: Vec<_> = Versions::<T>::iter_prefix(model).collect();
			ensure!(versions.len() as u32 == record.versions, "version count differs");
			for (index, version) in &versions {
				ensure!(*index < record.versions, "a version beyond the count");
				let active = version.status == VersionStatus::Active;
				ensure!(active == (*index == record.current), "active is not current");
				ensure!(version.parent.map_or(*index == 0, |parent| parent < *index), "bad parent");
			}
			if let Some((account, amount)) = record.deposit {
				model_deposits.entry(account).or_default().saturating_accrue(amount);
			}
		}
		let mut proposal_deposits: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (id, proposal) in Proposals::<T>::iter() {
			proposal_deposits
				.entry(proposal.proposer.clone())
				.or_default()
				.saturating_accrue(proposal.deposit);
			if let ProposalStatus::Training(job) = proposal.status {
				ensure!(ProposalOfJob::<T>::get(job) == Some(id), "a training job not indexed");
				let ProposalKind::Training { model, .. } = proposal.kind else {
					return Err("a dataset proposal in training".into());
				};
				ensure!(TrainingOf::<T>::get(model) == Some(id), "a training model not indexed");
			}
		}
		for (job, id) in ProposalOfJob::<T>::iter() {
			let status = Proposals::<T>::get(id).map(|proposal| proposal.status);
			ensure!(
				status == Some(ProposalStatus::Training(job)),
				"a job index without its proposal"
			);
		}
		for (_, id) in TrainingOf::<T>::iter() {
			ensure!(Proposals::<T>::contains_key(id), "a model trains a missing proposal");
		}
		for (id, dataset) in Datasets::<T>::iter() {
			ensure!(DatasetOfCid::<T>::get(&dataset.cid) == Some(id), "a dataset not indexed");
		}
		for (cid, id) in DatasetOfCid::<T>::iter() {
			let indexed = Datasets::<T>::get(id).is_some_and(|dataset| dataset.cid == cid);
			ensure!(indexed, "a CID indexed to another dataset or none");
		}
		for version in Versions::<T>::iter_values() {
			let state = TrainedWeights { weights: version.weights, digest: version.digest };
			ensure!(VersionOfState::<T>::contains_key(&state), "a version's state not indexed");
		}
		for (state, (model, index)) in VersionOfState::<T>::iter() {
			let version =
				Versions::<T>::get(model, index).ok_or("a state indexed to no version")?;
			ensure!(
				version.weights == state.weights && version.digest == state.digest,
				"a state indexed to a version with another"
			);
		}
		let threshold = ApprovalThreshold::<T>::get();
		ensure!(
			threshold >= 1 && threshold <= Self::approver_count().max(1),
			"an approval threshold the approvers cannot reach"
		);
		for (account, total) in model_deposits {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ModelDeposit.into(), &account) == total,
				"held model deposits differ"
			);
		}
		for (account, total) in proposal_deposits {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ProposalDeposit.into(), &account)
					== total,
				"held proposal deposits differ"
			);
		}
		Ok(())
	}
}

/// Jobs train on approved datasets and start from registered versions.
impl<T: Config> TrainingInputs for Pallet<T> {
	fn dataset_terms(dataset: &[u8]) -> Option<(DidId, DatasetConsent)> {
		let cid = Cid::try_from(dataset.to_vec()).ok()?;
		let id = DatasetOfCid::<T>::get(cid)?;
		Datasets::<T>::get(id).map(|dataset| (dataset.owner, dataset.consent))
	}

	fn is_registered_version(state: &TrainedWeights) -> bool {
		VersionOfState::<T>::contains_key(state)
	}

	fn producer(state: &TrainedWeights) -> Option<JobId> {
		let (model, version) = VersionOfState::<T>::get(state)?;
		Versions::<T>::get(model, version)?.produced_by_job
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmarks(dataset: &[u8], owner: &DidId, state: &TrainedWeights) {
		if let Ok(cid) = Cid::try_from(dataset.to_vec()) {
			let _ = Self::insert_dataset(Dataset {
				cid,
				shards: 1,
				licence: Default::default(),
				owner: *owner,
				consent: DatasetConsent::Granted,
			});
		}
		if !Self::is_registered_version(state) {
			Self::insert_model(
				Owner::Did(DidId([0; 32])),
				Default::default(),
				Default::default(),
				Default::default(),
				state.weights.clone(),
				state.digest,
				None,
				TrainingPolicy::OwnerOnly,
			);
		}
	}
}

/// The approver set changed: a threshold above the approvers left is lowered to their
/// number, so that proposals can still pass.
impl<T: Config> ChangeMembers<T::AccountId> for Pallet<T> {
	fn change_members_sorted(_: &[T::AccountId], _: &[T::AccountId], new: &[T::AccountId]) {
		let approvers = (new.len() as u32).min(MAX_APPROVERS).max(1);
		if ApprovalThreshold::<T>::get() > approvers {
			ApprovalThreshold::<T>::put(approvers);
			Self::deposit_event(Event::ApprovalThresholdSet { threshold: approvers });
		}
	}
}

impl<T: Config> JobOutcome for Pallet<T> {
	fn finalized(job: JobId, result: &TrainedWeights) -> Weight {
		Self::activate(job, result);
		T::WeightInfo::job_finalized()
	}

	fn failed(job: JobId) -> Weight {
		Self::abandon(job);
		T::WeightInfo::job_failed()
	}

	fn max_weight() -> Weight {
		T::WeightInfo::job_finalized().max(T::WeightInfo::job_failed())
	}
}
