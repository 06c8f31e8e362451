//! A job's life cycle behind the calls and hooks: its creation and the deposit and budget it
//! holds, its cancellation, the draw of its replicas among eligible nodes (consent checked),
//! the steps scheduled for its deadlines and windows, the challenge of its result, and its
//! end, failed or paid.

use crate::{
	pallet::*, types::*, weights::WeightInfo, BalanceOf, JobInfoOf, Replicas, TrapHooks,
	LOG_TARGET, MAX_SCHEDULE_PROBES,
};
use alloc::{collections::BTreeMap, vec::Vec};
use codec::Encode;
use polkadot_sdk::{
	frame_support::{
		dispatch::PostDispatchInfo,
		ensure,
		pallet_prelude::*,
		traits::{fungible::MutateHold, Randomness},
		weights::WeightMeter,
	},
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_runtime::{traits::Saturating, Perbill},
};
use tessera_primitives::{
	BackendClass, ConsentInspect, DatasetConsent, DidId, JobId, JobOutcome, JobSpec, JobState,
	NodeId, NodeInspect, NodeRole, Outcome, ReputationInspect, ReputationSink, TrainingInputs,
	Workload,
};

impl<T: Config> Pallet<T> {
	/// What posting a job on `spec` with a call benchmarked at `call` weighs: the walk over
	/// the data owner's grants only when the data is granted to some DIDs.
	pub(crate) fn creation_weight(call: Weight, spec: &JobSpec) -> PostDispatchInfo {
		let granted =
			matches!(T::Inputs::dataset_terms(&spec.dataset), Some((_, DatasetConsent::Granted)));
		let walk = if granted { T::Consent::some_grant_allows_weight() } else { Weight::zero() };
		Some(call.saturating_add(walk)).into()
	}

	pub(crate) fn do_create_job(
		requester: T::AccountId,
		spec: JobSpec,
		budget: BalanceOf<T>,
		redundancy: u8,
		deadline: BlockNumberFor<T>,
		kind: JobKind,
		privacy_spend: Option<(u32, Perbill)>,
	) -> Result<JobId, DispatchError> {
		ensure!((1..=T::MaxRedundancy::get()).contains(&redundancy), Error::<T>::BadRedundancy);
		ensure!(budget >= T::MinBudget::get(), Error::<T>::BudgetTooLow);
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(deadline > now, Error::<T>::DeadlineInPast);
		ensure!(
			deadline <= now.saturating_add(T::MaxJobDuration::get()),
			Error::<T>::DeadlineTooFar
		);
		let texts_only = spec.dataset.is_empty() && !spec.texts.is_empty();
		let terms = T::Inputs::dataset_terms(&spec.dataset);
		ensure!(texts_only || terms.is_some(), Error::<T>::UnapprovedDataset);
		// A job nobody may be given the data for would wait for nothing until its deadline.
		if let Some((owner, DatasetConsent::Granted)) = terms {
			ensure!(
				T::Consent::some_grant_allows(&spec.dataset, &owner, privacy_spend),
				Error::<T>::NoConsent
			);
		}
		ensure!(
			spec.base_state().is_none_or(|base| T::Inputs::is_registered_version(&base)),
			Error::<T>::UnregisteredBase
		);
		let hyper = &spec.hyper_parameters;
		let checkpoints = checkpoint_count(hyper.steps, hyper.checkpoint_every)
			.filter(|count| (1..=T::MaxCheckpoints::get()).contains(count))
			.ok_or(Error::<T>::BadCheckpointing)?;
		ensure!(hyper.optimizer.is_valid(), Error::<T>::BadOptimizer);
		let job = NextJobId::<T>::get();
		Pending::<T>::try_mutate(|pending| pending.try_push(job))
			.map_err(|_| Error::<T>::TooManyPending)?;
		Due::<T>::try_mutate(deadline, |due| due.try_push(job))
			.map_err(|_| Error::<T>::TooManyDue)?;
		T::Currency::hold(&HoldReason::JobBudget.into(), &requester, budget)?;
		let deposit = Self::job_deposit(&spec, redundancy, checkpoints);
		T::Currency::hold(&HoldReason::JobDeposit.into(), &requester, deposit)?;
		NextJobId::<T>::put(job.saturating_add(1));
		Jobs::<T>::insert(
			job,
			JobInfo {
				requester: requester.clone(),
				kind,
				workload: Workload::of(&spec),
				budget,
				deposit,
				redundancy,
				deadline,
				state: JobState::Created,
				created: now,
				assigned: None,
				checkpoints,
				result: None,
				ended: None,
			},
		);
		JobSpecs::<T>::insert(job, spec);
		Self::deposit_event(Event::JobCreated { job, requester, budget, redundancy });
		Ok(job)
	}

	pub(crate) fn do_cancel_job(who: T::AccountId, job: JobId) -> DispatchResult {
		let mut info = Jobs::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
		ensure!(info.requester == who, Error::<T>::NotRequester);
		ensure!(info.state == JobState::Created, Error::<T>::WrongState);
		Pending::<T>::mutate(|pending| pending.retain(|pending| *pending != job));
		// A cancelled job leaves its deadline's room to others: creating and cancelling
		// jobs cannot fill a block's schedule for free.
		Due::<T>::mutate(info.deadline, |due| due.retain(|due| *due != job));
		Self::release_budget(&info.requester, info.budget);
		Self::end(job, &mut info, JobState::Cancelled);
		Jobs::<T>::insert(job, info);
		Self::deposit_event(Event::JobCancelled { job });
		Ok(())
	}

	/// Looks at the first `AssignmentsPerBlock` waiting jobs, oldest first, and gives each
	/// its replicas. A job without enough eligible trainers goes to the back of the queue
	/// to wait for a later turn (its deadline fails it), so jobs nobody can take never keep
	/// the ones behind them from their turn: every waiting job is looked at within
	/// `Pending / AssignmentsPerBlock` blocks.
	pub(crate) fn assign_pending(now: BlockNumberFor<T>, meter: &mut WeightMeter) {
		meter.consume(T::DbWeight::get().reads_writes(1, 1));
		let affordable =
			Self::affordable(meter, T::WeightInfo::assign_job(), T::AssignmentsPerBlock::get());
		let mut pending = Pending::<T>::get().into_inner();
		let turn = pending.len().min(affordable as usize);
		let looked_at: Vec<JobId> = pending.drain(..turn).collect();
		for job in looked_at {
			match Jobs::<T>::get(job).and_then(|info| Self::choose_replicas(job, &info)) {
				Some(nodes) => Self::start(job, nodes, now),
				None => pending.push(job),
			}
		}
		// As long as before: only jobs taken out were put back.
		Pending::<T>::put(BoundedVec::truncate_from(pending));
		meter.consume(T::WeightInfo::assign_job().saturating_mul(turn as u64));
	}

	/// `node` holds a seat of `job`: it cannot leave, and its off-chain worker finds the work.
	pub(crate) fn bind(node: NodeId, job: JobId) {
		OpenJobs::<T>::insert(node, job, ());
	}

	/// `node` holds no seat of `job` any more.
	pub(crate) fn unbind(node: NodeId, job: JobId) {
		OpenJobs::<T>::remove(node, job);
	}

	pub(crate) fn start(job: JobId, nodes: Replicas, now: BlockNumberFor<T>) {
		let federated = Jobs::<T>::mutate(job, |info| {
			info.as_mut().is_some_and(|info| {
				info.state = JobState::Assigned;
				info.assigned = Some(now);
				info.is_federated()
			})
		});
		for node in &nodes {
			Self::bind(*node, job);
		}
		T::Traps::on_assigned(job);
		Assignments::<T>::insert(job, nodes.clone());
		Self::deposit_event(Event::JobAssigned { job, nodes, at: now });
		if federated {
			Self::open_round(job, 0, now);
		}
	}

	/// Draws `redundancy` eligible trainers of distinct owners, and records their use of
	/// data its owner grants only to some DIDs.
	fn choose_replicas(job: JobId, info: &JobInfoOf<T>) -> Option<Replicas> {
		let subject = (b"tessera/assign", job).encode();
		let spec = JobSpecs::<T>::get(job)?;
		let access = DataAccess::of::<T>(job, &spec);
		let chosen = Self::draw_nodes(
			&subject,
			u32::from(info.redundancy),
			NodeRole::Trainer,
			&[],
			|node| Self::eligible(node, &spec, &access),
		);
		if chosen.len() < usize::from(info.redundancy) {
			return None;
		}
		for node in &chosen {
			access.record_use::<T>(job, *node, &spec);
		}
		Replicas::try_from(chosen).ok()
	}

	/// Draws up to `count` nodes that pass `eligible`, each of an owner of its own and none of
	/// an owner of a node in `seated` (those already serving the job): a sample of node ids
	/// from the randomness for `subject`, filtered, then picked one by one with probability
	/// proportional to reputation score (plus one, so that a zero score still has a chance).
	/// One account's many nodes therefore count once, so a majority of replicas or of a panel
	/// takes as many owners, and nobody judges or checks a job their own node serves.
	pub(crate) fn draw_nodes(
		subject: &[u8],
		count: u32,
		role: NodeRole,
		seated: &[NodeId],
		eligible: impl Fn(NodeId) -> bool,
	) -> Vec<NodeId> {
		// Candidates come from the index of active nodes with the role, so that nodes that
		// left never dilute the sample: all of them when they fit the sample, else that many
		// drawn positions.
		let active = T::Nodes::active_count(role);
		let (seed, _) = T::Randomness::random(subject);
		let draw = |label: &[u8], index: u32| -> u64 {
			let bytes = polkadot_sdk::sp_io::hashing::blake2_256(&(seed, label, index).encode());
			u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default())
		};
		let sample = T::CandidateSample::get();
		let positions: Vec<u32> = if active <= sample {
			(0..active).collect()
		} else {
			(0..sample)
				.map(|index| (draw(b"candidate", index) % u64::from(active)) as u32)
				.collect()
		};
		let taken: Vec<T::AccountId> =
			seated.iter().filter_map(|node| T::Nodes::owner(*node)).collect();
		let mut candidates: BTreeMap<NodeId, (u64, T::AccountId)> = BTreeMap::new();
		for position in positions {
			let Some(node) = T::Nodes::active_at(role, position) else { continue };
			if candidates.contains_key(&node) || !eligible(node) {
				continue;
			}
			let Some(owner) = T::Nodes::owner(node).filter(|owner| !taken.contains(owner)) else {
				continue;
			};
			let weight = u64::from(T::Reputation::score(node).deconstruct()).saturating_add(1);
			candidates.insert(node, (weight, owner));
		}
		let mut chosen = Vec::new();
		for pick in 0..count {
			let total =
				candidates.values().fold(0u64, |total, (weight, _)| total.saturating_add(*weight));
			if total == 0 {
				break;
			}
			let mut target = draw(b"pick", pick) % total;
			let Some((node, owner)) = candidates.iter().find_map(|(node, (weight, owner))| {
				if target < *weight {
					Some((*node, owner.clone()))
				} else {
					target -= weight;
					None
				}
			}) else {
				break;
			};
			candidates.retain(|_, (_, other)| *other != owner);
			chosen.push(node);
		}
		chosen
	}

	/// Whether `node` may train `spec`: an active trainer with the hardware, whom the data's
	/// owner lets train on it.
	pub(crate) fn eligible(node: NodeId, spec: &JobSpec, access: &DataAccess) -> bool {
		T::Nodes::is_active(node)
			&& T::Nodes::has_role(node, NodeRole::Trainer)
			&& T::Nodes::capabilities(node).is_some_and(|caps| match spec.backend {
				BackendClass::Gpu => caps.gpu(),
				BackendClass::CpuReference => true,
			}) && access.allows::<T>(node, spec)
	}

	/// Puts `job` on the list of jobs looked at in block `at` or, when that block's list is
	/// full, in the first later block with room. A due event is never dropped: a job nobody
	/// looks at again would hold its budget and its replicas forever. Every entry belongs to
	/// an open job, and open jobs are bounded (pending jobs, and the duties active trainers
	/// can hold), so a run of [`MAX_SCHEDULE_PROBES`] full blocks cannot happen.
	pub(crate) fn schedule(job: JobId, at: BlockNumberFor<T>) {
		let mut at = at;
		for _ in 0..MAX_SCHEDULE_PROBES {
			if Due::<T>::try_mutate(at, |due| due.try_push(job)).is_ok() {
				return;
			}
			at.saturating_inc();
		}
		log::error!(target: LOG_TARGET, "job {job}: {MAX_SCHEDULE_PROBES} full blocks from {at:?}");
	}

	pub(crate) fn do_challenge(
		challenger: T::AccountId,
		job: JobId,
		checkpoint: u32,
	) -> DispatchResult {
		let info = Jobs::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
		let federated = info.is_federated();
		Self::ensure_open_to_challenge(&info, federated)?;
		if federated {
			ensure!(
				Aggregations::<T>::contains_key(job, checkpoint),
				Error::<T>::UnknownCheckpoint
			);
			// Only the latest aggregate is open to challenge, as an accepted result is only
			// until its window closes: the rounds built on it are what a rewind undoes.
			let next = checkpoint.saturating_add(1);
			ensure!(!Aggregations::<T>::contains_key(job, next), Error::<T>::AggregateSuperseded);
			let settled = Federations::<T>::get(job).and_then(|federation| federation.settled);
			ensure!(settled < Some(checkpoint), Error::<T>::AggregateSettled);
		} else {
			ensure!(checkpoint < info.checkpoints, Error::<T>::UnknownCheckpoint);
		}
		Self::open_challenge(challenger, job, info, checkpoint, DisputeReason::Challenged)
	}

	/// A job's result may be challenged while its challenge window is open; a federated
	/// job's aggregates and updates as soon as they are committed, while it trains.
	pub(crate) fn ensure_open_to_challenge(info: &JobInfoOf<T>, federated: bool) -> DispatchResult {
		let open =
			info.state == JobState::Accepted || (federated && info.state == JobState::Running);
		ensure!(open, Error::<T>::WrongState);
		let now = frame_system::Pallet::<T>::block_number();
		let ends = info.result.as_ref().map_or(now, |result| result.challenge_ends);
		ensure!(info.state == JobState::Running || now < ends, Error::<T>::ChallengeWindowClosed);
		Ok(())
	}

	/// Deadlines and challenge windows ending in block `now`, as far as `meter` pays for
	/// them: each job's step is taken only while the meter can pay the most a step may
	/// weigh, and the rest go back to the block's list, in order, for the next block to
	/// finish. Whether the block's list is done.
	pub(crate) fn process_due(now: BlockNumberFor<T>, meter: &mut WeightMeter) -> bool {
		meter.consume(T::DbWeight::get().reads_writes(1, 1));
		let mut due = Due::<T>::take(now).into_iter();
		let bound = Self::next_step_bound();
		while let Some(job) = due.next() {
			if !meter.can_consume(bound) {
				for waiting in core::iter::once(job).chain(due) {
					Self::schedule(waiting, now);
				}
				return false;
			}
			meter.consume(Self::take_next_step(job, now));
		}
		true
	}

	/// The meter of a block's scheduled work: what `block` has left, but no more than what
	/// the block's hooks and inherents have left of the share of the block that normal
	/// transactions may not use. Hundreds of jobs whose last reveals landed together fall
	/// due in one block, and their verifications (each charged for the most a job's ending
	/// may cost) would otherwise take the whole block, proof size first, and keep the reveals
	/// and commits of other jobs out of it for blocks on end; what the share cannot pay for
	/// waits for the next block.
	pub(crate) fn scheduled_work_meter(block: &WeightMeter) -> WeightMeter {
		let weights = <T as frame_system::Config>::BlockWeights::get();
		let normal = weights.get(DispatchClass::Normal).max_total.unwrap_or(weights.max_block);
		let share = weights.max_block.saturating_sub(normal);
		let used = frame_system::Pallet::<T>::block_weight().total();
		WeightMeter::with_limit(block.remaining().min(share.saturating_sub(used)))
	}

	/// How many units of work of `unit` weight `meter` can still pay for, at most `most`.
	pub(crate) fn affordable(meter: &WeightMeter, unit: Weight, most: u32) -> u32 {
		meter
			.remaining()
			.checked_div_per_component(&unit)
			.map_or(most, |units| units.min(u64::from(most)) as u32)
	}

	/// The most nodes a job of `redundancy` replicas pays when it ends: its seats' first
	/// holders and everyone who took one over.
	pub(crate) fn most_contributors(redundancy: u8) -> u32 {
		u32::from(redundancy).saturating_add(T::MaxReplacements::get())
	}

	/// The most paying a job of `redundancy` replicas may weigh when it ends, by the worse of
	/// its two ways to pay: a replicated job pays its replicas and clears what its seats'
	/// earlier holders delivered; a federated one pays every node that ever contributed.
	pub(crate) fn ending_weight(redundancy: u8) -> Weight {
		T::WeightInfo::finalize(u32::from(redundancy), T::MaxReplacements::get())
			.max(T::WeightInfo::finalize_federated(Self::most_contributors(redundancy)))
	}

	/// The most [`Self::take_next_step`] can weigh: a job with the most replicas, in a
	/// state that needs the most work, ending and told to the job's owner.
	pub(crate) fn next_step_bound() -> Weight {
		T::DbWeight::get()
			.reads(2)
			.saturating_add(T::Outcome::max_weight())
			.saturating_add(Self::ending_weight(T::MaxRedundancy::get()))
			.saturating_add(T::WeightInfo::verify_result())
			.saturating_add(T::WeightInfo::panel_expired())
			.saturating_add(T::WeightInfo::panel_reveal())
			.saturating_add(T::WeightInfo::retrain_round())
			.saturating_add(T::WeightInfo::round_due())
	}

	/// What a job's due block does with it, by the job's state: fails it at its deadline,
	/// verifies it once every replica revealed, finalizes it when its challenge window
	/// closed, settles or redraws its panel. A job whose state has moved on since it was
	/// scheduled is left alone. Returns the weight of the path taken, at most
	/// [`Self::next_step_bound`].
	pub(crate) fn take_next_step(job: JobId, now: BlockNumberFor<T>) -> Weight {
		let mut weight = T::DbWeight::get().reads(1);
		let Some(info) = Jobs::<T>::get(job) else { return weight };
		let (state, redundancy) = (info.state, info.redundancy);
		weight.saturating_accrue(Self::take_step_of_state(job, info, now));
		// Any step may end the job: paying or failing it, and its owner hearing of it, is
		// charged to the step that did, which the look at its state afterwards tells.
		weight.saturating_accrue(T::DbWeight::get().reads(1));
		let ended = Jobs::<T>::get(job).is_none_or(|after| after.state.has_ended());
		if ended && !state.has_ended() {
			weight.saturating_accrue(
				Self::ending_weight(redundancy).saturating_add(T::Outcome::max_weight()),
			);
		}
		weight
	}

	/// The work of [`Self::take_next_step`] for a job in `info.state`, but its ending; returns
	/// its weight.
	fn take_step_of_state(job: JobId, info: JobInfoOf<T>, now: BlockNumberFor<T>) -> Weight {
		if info.is_federated() && matches!(info.state, JobState::Assigned | JobState::Running) {
			Self::round_due(job, info, now);
			return T::WeightInfo::round_due();
		}
		match info.state {
			JobState::Created => {
				Pending::<T>::mutate(|pending| pending.retain(|pending| *pending != job));
				Self::fail(job, info);
				return T::DbWeight::get().reads_writes(1, 1);
			}
			JobState::Assigned => Self::fail(job, info),
			JobState::Running => {
				let last = info.checkpoints.saturating_sub(1);
				let replicas = Assignments::<T>::get(job).unwrap_or_default();
				if replicas.iter().any(|node| Reveals::<T>::contains_key((job, *node, last))) {
					Self::verify(job);
					return T::WeightInfo::verify_result();
				}
				Self::fail(job, info);
			}
			JobState::Accepted
				if info.result.as_ref().is_some_and(|result| result.challenge_ends <= now) =>
			{
				Self::pay_and_deliver(job, info, &[], JobState::Finalized)
			}
			// A panel's deadline may settle its segment, as its last reveal would.
			JobState::Disputed => {
				Self::panel_expired(job, now);
				return T::WeightInfo::panel_expired()
					.saturating_add(T::WeightInfo::panel_reveal());
			}
			JobState::Finalized | JobState::Resolved | JobState::Failed | JobState::Cancelled => {
				Self::mark_prunable(job, &info, now);
				return T::DbWeight::get().writes(1);
			}
			_ => {}
		}
		Weight::zero()
	}

	/// Ends a job without a result: replicas that were assigned and delivered nothing are
	/// reported, and the requester gets the whole budget back.
	pub(crate) fn fail(job: JobId, mut info: JobInfoOf<T>) {
		for node in Assignments::<T>::get(job).unwrap_or_default() {
			Self::unbind(node, job);
			T::Reputation::report(node, Outcome::JobFailed);
		}
		if let Some(federation) = Federations::<T>::get(job) {
			Self::clear_aggregator_duties(job, &federation);
		}
		// The job's aggregates can no longer be challenged: their authors did their part.
		Self::release_last_aggregate(job, &mut info);
		Self::forget_work(job);
		let refunded = Self::release_budget(&info.requester, info.budget);
		Self::forget_replacements(job);
		Self::end(job, &mut info, JobState::Failed);
		Jobs::<T>::insert(job, info);
		T::Outcome::failed(job);
		Self::deposit_event(Event::JobFailed { job, refunded });
	}

	/// Puts `info` in the state it ends in, and schedules its pruning once its retention is
	/// over.
	pub(crate) fn end(job: JobId, info: &mut JobInfoOf<T>, state: JobState) {
		let now = frame_system::Pallet::<T>::block_number();
		info.state = state;
		info.ended = Some(now);
		Self::schedule(job, now.saturating_add(T::Retention::get()));
	}

	/// Removes `job`'s record, spec and seats, once its commitments are cleared;
	/// returns the record.
	pub(crate) fn remove_job(job: JobId) -> Option<JobInfoOf<T>> {
		Assignments::<T>::remove(job);
		JobSpecs::<T>::remove(job);
		Jobs::<T>::take(job)
	}
}

/// Who may be given a job's data to train on, as its owner decided (SPEC §6): read once a
/// draw, checked for every candidate. A grant revoked or expired since the job was created
/// stops new assignments and replacements; checkpoints already running may finish.
pub(crate) enum DataAccess {
	/// Inline texts, or a dataset open to anyone.
	Anyone,
	/// Nodes linked to a DID the owner granted access, while the grant lives and its
	/// privacy budget fits what the job spends: ε in thousandths for δ, if it is private.
	GrantedBy(DidId, Option<(u32, Perbill)>),
	/// Nobody: the dataset left the registry.
	Nobody,
}

impl DataAccess {
	pub(crate) fn of<T: Config>(job: JobId, spec: &JobSpec) -> Self {
		if spec.dataset.is_empty() {
			return Self::Anyone;
		}
		match T::Inputs::dataset_terms(&spec.dataset) {
			Some((_, DatasetConsent::Public)) => Self::Anyone,
			Some((owner, DatasetConsent::Granted)) => {
				let spend = Federations::<T>::get(job)
					.and_then(|federation| federation.privacy)
					.map(|(parameters, epsilon)| (epsilon, parameters.delta));
				Self::GrantedBy(owner, spend)
			}
			None => Self::Nobody,
		}
	}

	fn allows<T: Config>(&self, node: NodeId, spec: &JobSpec) -> bool {
		match self {
			Self::Anyone => true,
			Self::GrantedBy(owner, spend) => T::Nodes::did(node).is_some_and(|did| {
				T::Consent::is_allowed(&spec.dataset, owner, &did)
					&& T::Consent::within_budget(&spec.dataset, owner, &did, *spend)
			}),
			Self::Nobody => false,
		}
	}

	/// Records in the grant's audit trail that `node` was given the data to train `job`, and
	/// spends the job's ε of the grant's budget.
	pub(crate) fn record_use<T: Config>(&self, job: JobId, node: NodeId, spec: &JobSpec) {
		if let (Self::GrantedBy(owner, spend), Some(did)) = (self, T::Nodes::did(node)) {
			let epsilon = spend.map(|(epsilon, _)| epsilon);
			T::Consent::record_use(job, &spec.dataset, owner, &did, epsilon);
		}
	}
}
