//! The job life cycle behind the calls and hooks.

use crate::{
	pallet::*, types::*, weights::WeightInfo, BalanceOf, FederationOf, JobInfoOf, Payout, Replicas,
	TrapHooks, TrapJob, TrapJobs, LOG_TARGET, MAX_SCHEDULE_PROBES,
};
use alloc::{collections::BTreeMap, vec::Vec};
use codec::Encode;
use polkadot_sdk::{
	frame_support::{
		dispatch::PostDispatchInfo,
		ensure,
		pallet_prelude::*,
		traits::{
			fungible::MutateHold,
			tokens::{Fortitude, Precision, Restriction},
			Randomness,
		},
		weights::WeightMeter,
	},
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_core::H256,
	sp_runtime::{
		traits::{Saturating, Zero},
		FixedPointNumber, FixedU128, Perbill, RuntimeAppPublic, SaturatedConversion,
	},
};
use tessera_primitives::{
	commitment_hash, BackendClass, ConsentInspect, DatasetConsent, DidId, JobCreator, JobId,
	JobOutcome, JobSpec, JobState, NodeId, NodeInspect, NodeRole, NodeSignature, Outcome,
	ReputationInspect, ReputationSink, SlashReason, Slasher, TrainedWeights, TrainingInputs,
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

	pub(crate) fn check_commit(commit: &Commit) -> Result<(), TransactionValidityError> {
		let info = Jobs::<T>::get(commit.job).ok_or(InvalidTransaction::Stale)?;
		if !matches!(info.state, JobState::Assigned | JobState::Running) {
			return Err(InvalidTransaction::Stale.into());
		}
		Self::ensure_replica(commit.job, commit.node)?;
		let next = NextCheckpoint::<T>::get(commit.job, commit.node);
		let federation = Self::federation_of(commit.job, &info);
		// Replicas train the same steps, so a commit made once the checkpoint's reveals are
		// open could copy one of them. A federated participant trains a shard of its own,
		// and its round takes updates until it closes.
		let awaited = Self::commits_awaited(commit.job, &info, federation.as_ref());
		let copy_possible =
			federation.is_none() && Self::reveals_open(commit.job, commit.checkpoint, awaited);
		if commit.checkpoint < next || copy_possible {
			return Err(InvalidTransaction::Stale.into());
		}
		// Checkpoints are committed in order; a replica skips one only once its commit phase
		// has closed without it, and that checkpoint then counts as missing.
		let skips_open_phase =
			commit.checkpoint > next && !Self::reveals_open(commit.job, next, awaited);
		if skips_open_phase || commit.checkpoint >= info.checkpoints {
			return Err(InvalidTransaction::Future.into());
		}
		if let Some(federation) = federation {
			// A round takes updates from its opening until it closes.
			if commit.checkpoint > federation.round {
				return Err(InvalidTransaction::Future.into());
			}
			if commit.checkpoint < federation.round || federation.closed.is_some() {
				return Err(InvalidTransaction::Stale.into());
			}
			// A job that samples its participants takes updates only from those it drew.
			if !federation.takes_part(commit.node) {
				return Err(InvalidTransaction::BadSigner.into());
			}
		}
		Ok(())
	}

	pub(crate) fn check_reveal(reveal: &Reveal) -> Result<(), TransactionValidityError> {
		let payload = &reveal.payload;
		let info = Jobs::<T>::get(payload.job).ok_or(InvalidTransaction::Stale)?;
		let federation = Self::federation_of(payload.job, &info);
		let federated = federation.is_some();
		// Every update of a federated job ends its trainer's run for the round.
		let is_final = federated || payload.checkpoint.saturating_add(1) == info.checkpoints;
		// A federated round takes updates until it closes.
		let open = match (info.state, &federation) {
			(JobState::Running, Some(federation)) => {
				payload.checkpoint == federation.round && federation.closed.is_none()
			}
			(JobState::Running, None) => true,
			_ => false,
		};
		if !open {
			return Err(InvalidTransaction::Stale.into());
		}
		Self::ensure_replica(payload.job, payload.node)?;
		if Reveals::<T>::contains_key((payload.job, payload.node, payload.checkpoint)) {
			return Err(InvalidTransaction::Stale.into());
		}
		// In order: once a node's result is revealed, every claim of it that a dispute over
		// the result may bisect to is on chain too, however the pool delayed the reveals;
		// without it a reveal that lands late could be missing when its segment is settled.
		// A checkpoint the node never committed (it started later, or missed the commit phase)
		// has no claim to wait for.
		let previous = payload.checkpoint.checked_sub(1);
		if let Some(previous) = previous.filter(|_| !federated) {
			if Commits::<T>::contains_key((payload.job, payload.node, previous))
				&& !Reveals::<T>::contains_key((payload.job, payload.node, previous))
			{
				return Err(InvalidTransaction::Future.into());
			}
		}
		let committed = Commits::<T>::get((payload.job, payload.node, payload.checkpoint))
			.ok_or(InvalidTransaction::Future)?;
		if commitment_hash(payload, payload.node, &reveal.salt) != committed {
			return Err(InvalidTransaction::BadProof.into());
		}
		if is_final != payload.work.is_some() {
			return Err(InvalidTransaction::Call.into());
		}
		// An update weighs in its round's average by its samples: at least one, and no more
		// than a round's steps train on.
		if federated && !(1..=info.workload.samples_per_checkpoint()).contains(&payload.samples) {
			return Err(InvalidTransaction::Call.into());
		}
		let awaited = Self::commits_awaited(payload.job, &info, federation.as_ref());
		if !Self::reveals_open(payload.job, payload.checkpoint, awaited) {
			return Err(InvalidTransaction::Future.into());
		}
		Ok(())
	}

	/// Whether `checkpoint`'s commit phase is over and its reveals are open: the `awaited`
	/// commits are in ([`Self::commits_awaited`]), or [`Config::RevealDelay`] passed since the
	/// first commit. Commits and reveals read this one rule, so no commit is accepted once a
	/// reveal of the same checkpoint could have been read.
	pub(crate) fn reveals_open(job: JobId, checkpoint: u32, awaited: u8) -> bool {
		let now = frame_system::Pallet::<T>::block_number();
		CommitRounds::<T>::get(job, checkpoint).is_some_and(|(committers, first)| {
			committers >= awaited || now >= first.saturating_add(T::RevealDelay::get())
		})
	}

	/// How many commits close a commit phase of `job`: one from every replica, or, in a round
	/// of a federated job that samples its participants, from every participant the round
	/// drew; waiting for the others would hold every sampled round's reveals for
	/// [`Config::RevealDelay`].
	pub(crate) fn commits_awaited(
		job: JobId,
		info: &JobInfoOf<T>,
		federation: Option<&FederationOf<T>>,
	) -> u8 {
		match federation.filter(|federation| federation.samples()) {
			Some(federation) => {
				let participants = Assignments::<T>::get(job).unwrap_or_default();
				let drawn = participants.iter().filter(|node| federation.takes_part(**node));
				u8::try_from(drawn.count()).unwrap_or(u8::MAX)
			}
			None => info.redundancy,
		}
	}

	fn ensure_replica(job: JobId, node: NodeId) -> Result<(), TransactionValidityError> {
		let replicas = Assignments::<T>::get(job).unwrap_or_default();
		if replicas.contains(&node) {
			Ok(())
		} else {
			Err(InvalidTransaction::BadSigner.into())
		}
	}

	/// The hash of this chain's genesis block, which every message a node key signs names
	/// ([`tessera_primitives::signing`]). `frame_system` keeps it when it prunes older hashes.
	pub fn genesis_hash() -> T::Hash {
		frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero())
	}

	/// Checks that `node`'s key signed `message` for this chain.
	pub(crate) fn check_signature(
		node: NodeId,
		message: &impl tessera_primitives::NodeSigned,
		signature: &NodeSignature,
	) -> Result<(), TransactionValidityError> {
		let key = T::Nodes::node_key(node).ok_or(InvalidTransaction::BadSigner)?;
		if key.verify(&message.signed_bytes(&Self::genesis_hash()), signature) {
			Ok(())
		} else {
			Err(InvalidTransaction::BadProof.into())
		}
	}

	/// The rounds of `job`, whose hot record is `info`: read only for a federated job, so that
	/// a replicated job's commitments prove no federation lookup.
	fn federation_of(job: JobId, info: &JobInfoOf<T>) -> Option<FederationOf<T>> {
		info.is_federated().then(|| Federations::<T>::get(job)).flatten()
	}

	/// Whether `job` is trained in federated rounds: its kind, read from its hot record.
	pub(crate) fn is_federated(job: JobId) -> bool {
		Jobs::<T>::get(job).is_some_and(|info| info.is_federated())
	}

	pub(crate) fn do_commit(commit: Commit) -> DispatchResult {
		Self::check_commit(&commit).map_err(|_| Error::<T>::WrongState)?;
		let now = frame_system::Pallet::<T>::block_number();
		Commits::<T>::insert((commit.job, commit.node, commit.checkpoint), commit.hash);
		Self::commit_next(commit.job, commit.node, commit.checkpoint.saturating_add(1));
		CommitRounds::<T>::mutate(commit.job, commit.checkpoint, |round| {
			let (count, first) = round.get_or_insert((0, now));
			*round = Some((count.saturating_add(1), *first));
		});
		Jobs::<T>::mutate(commit.job, |info| {
			if let Some(info) = info {
				info.state = JobState::Running;
			}
		});
		Self::deposit_event(Event::Committed {
			job: commit.job,
			node: commit.node,
			checkpoint: commit.checkpoint,
		});
		Ok(())
	}

	/// `node`'s next commit of `job` is `checkpoint`'s.
	pub(crate) fn commit_next(job: JobId, node: NodeId, checkpoint: u32) {
		NextCheckpoint::<T>::insert(job, node, checkpoint);
	}

	/// Forgets what `nodes` committed and revealed of `job`'s `checkpoint`, which is to be
	/// trained again.
	pub(crate) fn forget_checkpoint(job: JobId, checkpoint: u32, nodes: &[NodeId]) {
		CommitRounds::<T>::remove(job, checkpoint);
		for node in nodes {
			Commits::<T>::remove((job, *node, checkpoint));
			Reveals::<T>::remove((job, *node, checkpoint));
		}
	}

	pub(crate) fn do_reveal(reveal: Reveal) -> DispatchResult {
		Self::check_reveal(&reveal).map_err(|_| Error::<T>::WrongState)?;
		let payload = reveal.payload;
		let (job, node, checkpoint) = (payload.job, payload.node, payload.checkpoint);
		let weights_digest = payload.weights_digest;
		let state_cid = payload.state_cid.clone();
		Self::sample_availability(&payload);
		Reveals::<T>::insert((job, node, checkpoint), payload);
		Self::deposit_event(Event::Revealed { job, node, checkpoint, weights_digest });
		if Self::is_federated(job) {
			Self::update_revealed(job);
			return Ok(());
		}
		let info = Jobs::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
		let work = info.workload.work_of_checkpoint(checkpoint);
		Self::credit_work(job, node, work);
		let final_checkpoint = info.checkpoints.saturating_sub(1);
		let replicas = Assignments::<T>::get(job).unwrap_or_default();
		let vote = vote_of(&weights_digest, &state_cid);
		let mut tally = Tallies::<T>::get(job, checkpoint);
		if tally.try_push((node, vote)).is_err() {
			// A checkpoint is revealed once by each of its seats' holders, never more.
			log::error!(target: LOG_TARGET, "job {job}: checkpoint {checkpoint} tallied full");
		}
		// Only the seats' holders of now count: a replica that stopped (and was slashed
		// for it) does not vote beside the one that took its seat.
		let agreeing = tally
			.iter()
			.filter(|(voter, other)| *other == vote && replicas.contains(voter))
			.count() as u64;
		let later = LastAgreed::<T>::get(job).is_none_or(|(agreed, _)| checkpoint > agreed);
		if later && agreeing.saturating_mul(2) > u64::from(info.redundancy) {
			let agreed = TrainedWeights { weights: state_cid, digest: weights_digest };
			Self::set_last_agreed(job, Some((checkpoint, agreed)));
		}
		let delivered = checkpoint == final_checkpoint && Self::revealed_by_all(&tally, &replicas);
		Tallies::<T>::insert(job, checkpoint, tally);
		if info.state == JobState::Running && delivered {
			// Verified in the next block, not in this one: whether a spot-check is drawn
			// must depend on randomness that did not exist when the replicas signed their
			// reveals, or the last of them could hold its reveal back until a block that
			// draws no spot-check.
			let now = frame_system::Pallet::<T>::block_number();
			Self::schedule(job, now.saturating_add(One::one()));
		}
		Ok(())
	}

	/// Whether every one of `replicas` is in `tally`: the checkpoint is in from all of them.
	pub(crate) fn revealed_by_all(tally: &crate::Tally<T>, replicas: &[NodeId]) -> bool {
		replicas.iter().all(|replica| tally.iter().any(|(voter, _)| voter == replica))
	}

	/// Compares final weights digests of the job's backend class: a majority of the replicas
	/// (of a GPU job, all that revealed one) accepts the job, anything else (or a spot-check
	/// draw) disputes it.
	pub(crate) fn verify(job: JobId) {
		let Some(mut info) = Jobs::<T>::get(job) else { return };
		let replicas = Assignments::<T>::get(job).unwrap_or_default();
		let final_checkpoint = info.checkpoints.saturating_sub(1);
		// A vote is for the weights and the state together, so that the result a majority
		// accepts names a state that majority named.
		let mut votes: BTreeMap<(H256, tessera_primitives::Cid), u32> = BTreeMap::new();
		for node in &replicas {
			if let Some(payload) = Reveals::<T>::get((job, *node, final_checkpoint)) {
				if payload.backend_class == info.workload.backend {
					let vote =
						votes.entry((payload.weights_digest, payload.state_cid)).or_default();
					*vote = vote.saturating_add(1);
				}
			}
		}
		// Honest GPU replicas on different devices differ in every bit: a majority of one
		// device proves nothing against the others, whom the dispute measures instead.
		let unanimous = !Self::measured(&info) || votes.len() <= 1;
		let majority = votes
			.into_iter()
			.find(|(_, count)| u64::from(*count) * 2 > u64::from(info.redundancy))
			.filter(|_| unanimous);
		let spot_checked =
			replicas.iter().copied().find(|node| T::Reputation::should_spot_check(*node, job));
		match (majority, spot_checked) {
			(Some(((weights_digest, state_cid), _)), None) => {
				Self::accept(job, &mut info, weights_digest, state_cid);
			}
			(_, spot_checked) => {
				info.state = JobState::Disputed;
				let (reason, claim) = match spot_checked {
					Some(node) => (
						DisputeReason::SpotCheck(node),
						Self::spot_check_claim(job, info.checkpoints),
					),
					// Whatever survives is paid only after its last segment was re-executed
					// too: a result without a majority has nobody vouching for it.
					None => (DisputeReason::NoMajority, final_checkpoint),
				};
				Jobs::<T>::insert(job, info);
				Self::open_dispute(job, reason, Some(claim));
				return;
			}
		}
		Jobs::<T>::insert(job, info);
	}

	/// Accepts `job` with the given result and opens its challenge window.
	pub(crate) fn accept(
		job: JobId,
		info: &mut JobInfoOf<T>,
		weights_digest: H256,
		state_cid: tessera_primitives::Cid,
	) {
		let now = frame_system::Pallet::<T>::block_number();
		let challenge_ends = now.saturating_add(ChallengeWindow::<T>::get());
		Self::schedule(job, challenge_ends);
		info.state = JobState::Accepted;
		info.result = Some(AgreedResult { weights_digest, state_cid, challenge_ends });
		Self::deposit_event(Event::JobAccepted { job, weights_digest, challenge_ends });
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

	/// Pays the replicas that delivered the agreed result, slashes the others except the
	/// `convicted` (a dispute or a trap slashed them already) and refunds the rest, which it
	/// returns. Called when the challenge window closed unchallenged, when a dispute upheld
	/// a result, or when a trap was sprung.
	pub(crate) fn pay(
		job: JobId,
		mut info: JobInfoOf<T>,
		convicted: &[NodeId],
		end: JobState,
	) -> BalanceOf<T> {
		let mut payouts = Payout::<T>::new();
		let remaining = if info.is_federated() {
			Self::release_last_aggregate(job, &mut info);
			Self::pay_participants(job, &info, convicted, info.budget, &mut payouts)
		} else {
			Self::pay_replicas(job, &info, convicted, &mut payouts)
		};
		let refunded = Self::release_budget(&info.requester, remaining);
		Self::forget_replacements(job);
		Payouts::<T>::insert(job, payouts);
		Self::end(job, &mut info, end);
		Jobs::<T>::insert(job, info);
		Self::deposit_event(Event::JobFinalized { job, refunded });
		refunded
	}

	/// Credits `node` with one more checkpoint of `job` (a round, of a federated job) and the
	/// `work` it took, to be paid when the job is finalized.
	pub(crate) fn credit_work(job: JobId, node: NodeId, work: u64) {
		Contributions::<T>::mutate(job, node, |(checkpoints, total)| {
			*checkpoints = checkpoints.saturating_add(1);
			*total = total.saturating_add(work);
		});
	}

	/// Takes back one checkpoint (or round) of `work` credited to `node`: what it delivered
	/// turned out not to count.
	pub(crate) fn debit_work(job: JobId, node: NodeId, work: u64) {
		Contributions::<T>::mutate(job, node, |(checkpoints, total)| {
			*checkpoints = checkpoints.saturating_sub(1);
			*total = total.saturating_sub(work);
		});
	}

	/// The content of `node`'s `checkpoint` of `job` was found missing: a replica of an open
	/// job is not paid for that checkpoint. The reveal stays, so the replica can still deliver
	/// the rest of its job. A federated job pays an update for the aggregate that averaged it,
	/// which the loss does not undo.
	pub(crate) fn unpay_lost_checkpoint(job: JobId, node: NodeId, checkpoint: u32) {
		let open = Jobs::<T>::get(job).filter(|info| {
			matches!(info.state, JobState::Running | JobState::Accepted | JobState::Disputed)
		});
		if let Some(info) = open.filter(|info| !info.is_federated()) {
			if Reveals::<T>::contains_key((job, node, checkpoint)) {
				Self::debit_work(job, node, info.workload.work_of_checkpoint(checkpoint));
			}
		}
	}

	/// `node` forfeits all it was credited of `job`.
	pub(crate) fn forfeit_work(job: JobId, node: NodeId) {
		Contributions::<T>::remove(job, node);
	}

	/// Takes the work units credited to each node of `job`, to pay for them.
	pub(crate) fn take_work(job: JobId) -> impl Iterator<Item = (NodeId, u64)> {
		Contributions::<T>::drain_prefix(job).map(|(node, (_, work))| (node, work))
	}

	/// Pays the replicas that delivered the agreed result for the work they delivered and
	/// slashes the others except the `convicted`; returns what is left of the budget.
	fn pay_replicas(
		job: JobId,
		info: &JobInfoOf<T>,
		convicted: &[NodeId],
		payouts: &mut Payout<T>,
	) -> BalanceOf<T> {
		let delivered: BTreeMap<NodeId, u64> = Self::take_work(job).collect();
		let Some(result) = info.result.clone() else { return info.budget };
		let replicas = Assignments::<T>::get(job).unwrap_or_default();
		let final_checkpoint = info.checkpoints.saturating_sub(1);
		let mut earners = Vec::new();
		for node in &replicas {
			let payload = Reveals::<T>::get((job, *node, final_checkpoint));
			// A GPU job's results agree only up to rounding: whoever revealed one and was not
			// convicted survived a unanimous vote or a dispute's measure.
			let agreed = payload.as_ref().is_some_and(|payload| {
				payload.backend_class == info.workload.backend
					&& (Self::measured(info)
						|| payload.weights_digest == result.weights_digest
							&& payload.state_cid == result.state_cid)
			});
			Self::unbind(*node, job);
			if convicted.contains(node) {
				continue;
			}
			if !agreed {
				// An unknown node (deregistered meanwhile) has nothing left to take.
				let amount = T::Slasher::slash(*node, SlashReason::FailedVerification, None)
					.unwrap_or_else(|_| Zero::zero());
				T::Reputation::report(
					*node,
					if payload.is_some() { Outcome::ProofFailed } else { Outcome::JobFailed },
				);
				Self::deposit_event(Event::ReplicaSlashed { job, node: *node, amount });
				continue;
			}
			earners.push((*node, delivered.get(node).copied().unwrap_or_default()));
		}
		Self::pay_for_work(job, info, &earners, info.budget, payouts)
	}

	/// Pays each of `earners` for the work units it delivered, at
	/// [`Config::RewardPerMillionWorkUnits`] times its reputation multiplier clamped to
	/// [0.1, 2.0], out of `budget`; when the budget cannot cover every reward, each is scaled
	/// by the same fraction. Returns what is left of `budget`.
	pub(crate) fn pay_for_work(
		job: JobId,
		info: &JobInfoOf<T>,
		earners: &[(NodeId, u64)],
		budget: BalanceOf<T>,
		payouts: &mut Payout<T>,
	) -> BalanceOf<T> {
		let (least, most) = (FixedU128::from_rational(1, 10), FixedU128::from_u32(2));
		let earned: Vec<(NodeId, BalanceOf<T>)> = earners
			.iter()
			.map(|(node, work)| {
				let base = T::RewardPerMillionWorkUnits::get()
					.saturating_mul((*work).saturated_into())
					/ 1_000_000u32.into();
				let multiplier = T::Reputation::reward_multiplier(*node).clamp(least, most);
				(*node, multiplier.saturating_mul_int(base))
			})
			.collect();
		let total = earned
			.iter()
			.fold(BalanceOf::<T>::zero(), |total, (_, amount)| total.saturating_add(*amount));
		let scale =
			if total > budget { Perbill::from_rational(budget, total) } else { Perbill::one() };
		let mut remaining = budget;
		for (node, amount) in earned {
			let paid = Self::reward(job, info, node, scale.mul_floor(amount).min(remaining));
			remaining = remaining.saturating_sub(paid);
			let _ = payouts.try_push((node, paid));
		}
		remaining
	}

	/// Pays `node`'s owner `amount` from the job's budget and reports the job done.
	fn reward(job: JobId, info: &JobInfoOf<T>, node: NodeId, amount: BalanceOf<T>) -> BalanceOf<T> {
		let Some(owner) = T::Nodes::owner(node) else { return Zero::zero() };
		let paid = Self::transfer_from_budget(info, &owner, amount);
		T::Reputation::report(node, Outcome::ProofPassed);
		T::Reputation::report(node, Outcome::JobCompleted);
		Self::deposit_event(Event::RewardPaid { job, node, owner, amount: paid });
		paid
	}

	/// Pays `amount` to the owner of `node` from the job's budget, which shrinks by what
	/// was paid.
	pub(crate) fn pay_from_budget(
		info: &mut JobInfoOf<T>,
		node: NodeId,
		amount: BalanceOf<T>,
	) -> BalanceOf<T> {
		let Some(owner) = T::Nodes::owner(node) else { return Zero::zero() };
		let paid = Self::transfer_from_budget(info, &owner, amount.min(info.budget));
		info.budget = info.budget.saturating_sub(paid);
		paid
	}

	fn transfer_from_budget(
		info: &JobInfoOf<T>,
		to: &T::AccountId,
		amount: BalanceOf<T>,
	) -> BalanceOf<T> {
		T::Currency::transfer_on_hold(
			&HoldReason::JobBudget.into(),
			&info.requester,
			to,
			amount,
			Precision::BestEffort,
			Restriction::Free,
			Fortitude::Polite,
		)
		.unwrap_or_else(|_| Zero::zero())
	}

	/// Pays `job` as [`Self::pay`] does and hands its result to the job's owner (the model
	/// registry).
	pub(crate) fn pay_and_deliver(
		job: JobId,
		info: JobInfoOf<T>,
		convicted: &[NodeId],
		end: JobState,
	) {
		let Some(result) = info.result.clone() else { return };
		Self::pay(job, info, convicted, end);
		T::Outcome::finalized(
			job,
			&TrainedWeights { weights: result.state_cid, digest: result.weights_digest },
		);
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
		let _ = Contributions::<T>::clear_prefix(job, u32::from(u8::MAX), None);
		let refunded = Self::release_budget(&info.requester, info.budget);
		Self::forget_replacements(job);
		Self::end(job, &mut info, JobState::Failed);
		Jobs::<T>::insert(job, info);
		T::Outcome::failed(job);
		Self::deposit_event(Event::JobFailed { job, refunded });
	}

	/// Puts `info` in the state it ends in, and schedules its pruning once its retention is
	/// over.
	fn end(job: JobId, info: &mut JobInfoOf<T>, state: JobState) {
		let now = frame_system::Pallet::<T>::block_number();
		info.state = state;
		info.ended = Some(now);
		Self::schedule(job, now.saturating_add(T::Retention::get()));
	}

	/// Clears up to `limit` entries of each of `job`'s commitment maps: commits, reveals, and
	/// what was counted of them. Whether none is left.
	pub(crate) fn clear_commitments(job: JobId, limit: u32) -> bool {
		[
			Reveals::<T>::clear_prefix((job,), limit, None).maybe_cursor,
			Commits::<T>::clear_prefix((job,), limit, None).maybe_cursor,
			CommitRounds::<T>::clear_prefix(job, limit, None).maybe_cursor,
			Tallies::<T>::clear_prefix(job, limit, None).maybe_cursor,
			NextCheckpoint::<T>::clear_prefix(job, limit, None).maybe_cursor,
		]
		.iter()
		.all(Option::is_none)
	}

	/// Removes `job`'s record, spec, seats and payouts, once its commitments are cleared;
	/// returns the record.
	pub(crate) fn remove_job(job: JobId) -> Option<JobInfoOf<T>> {
		Assignments::<T>::remove(job);
		Payouts::<T>::remove(job);
		JobSpecs::<T>::remove(job);
		Jobs::<T>::take(job)
	}

	fn release_budget(who: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
		if amount.is_zero() {
			return amount;
		}
		T::Currency::release(&HoldReason::JobBudget.into(), who, amount, Precision::BestEffort)
			.unwrap_or_else(|_| Zero::zero())
	}

	/// Checks the pallet's storage.
	///
	/// # Invariants
	///
	/// - Every open job is scheduled, and every requester's budget hold is the budgets of
	///   their open jobs.
	/// - No open job has more replicas than it asked for; `OpenJobs` lists exactly the
	///   replicas of open jobs.
	/// - Exactly the disputed jobs have a dispute; their panels are no larger than
	///   `PanelSize`, never seat a replica, are what `PanelDuties` lists, and only seated
	///   members have verdicts committed or revealed.
	/// - Only disputed jobs are challenged, and every challenger's bond hold is their bonds.
	/// - No duty (a replica or panel seat, an availability check to report, an aggregation)
	///   names a node that is not registered.
	/// - Every open availability check is indexed once, scheduled and its validator's duty.
	/// - The invariants of availability, retention, disputes and federations.
	#[cfg(any(feature = "try-runtime", feature = "invariants", test))]
	pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
		use polkadot_sdk::frame_support::traits::fungible::InspectHold;
		let open = |state: JobState| {
			matches!(
				state,
				JobState::Created
					| JobState::Assigned
					| JobState::Running
					| JobState::Verifying
					| JobState::Accepted
					| JobState::Disputed
			)
		};
		let mut held: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let mut replicas_of_open = alloc::collections::BTreeSet::new();
		let scheduled: alloc::collections::BTreeSet<JobId> =
			Due::<T>::iter_values().flatten().collect();
		let next_job = NextJobId::<T>::get();
		let mut created = alloc::collections::BTreeSet::new();
		for (job, info) in Jobs::<T>::iter() {
			ensure!(job < next_job, "a job id the counter has not reached");
			if info.state == JobState::Created {
				created.insert(job);
			}
			if !open(info.state) {
				continue;
			}
			ensure!(scheduled.contains(&job), "an open job with nothing scheduled");
			let entry = held.entry(info.requester.clone()).or_insert_with(Zero::zero);
			*entry = entry.saturating_add(info.budget);
			let replicas = Assignments::<T>::get(job).unwrap_or_default();
			ensure!(replicas.len() <= usize::from(info.redundancy), "more replicas than asked for");
			let owners: alloc::collections::BTreeSet<T::AccountId> =
				replicas.iter().filter_map(|node| T::Nodes::owner(*node)).collect();
			ensure!(owners.len() == replicas.len(), "replicas of one owner, or unregistered");
			replicas_of_open.extend(replicas.into_iter().map(|node| (node, job)));
		}
		let pending = Pending::<T>::get();
		ensure!(
			pending.len() == created.len() && pending.iter().all(|job| created.contains(job)),
			"Pending is not exactly the jobs waiting for replicas"
		);
		for (who, budget) in held {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::JobBudget.into(), &who) == budget,
				"a requester's hold is not the budgets of their open jobs"
			);
		}
		let listed: alloc::collections::BTreeSet<_> = OpenJobs::<T>::iter_keys().collect();
		ensure!(listed == replicas_of_open, "OpenJobs out of step with the open assignments");

		let mut seats = alloc::collections::BTreeSet::new();
		for (job, info) in Jobs::<T>::iter() {
			let disputed = info.state == JobState::Disputed;
			ensure!(disputed == Disputes::<T>::contains_key(job), "a dispute without its job");
			let panel = Panels::<T>::get(job);
			ensure!(disputed || panel.is_empty(), "a panel outside a dispute");
			let replicas = Assignments::<T>::get(job).unwrap_or_default();
			ensure!(
				panel.iter().all(|member| !replicas.contains(member)),
				"a replica on its panel"
			);
			seats.extend(panel.into_iter().map(|member| (member, job)));
		}
		let duties: alloc::collections::BTreeSet<_> = PanelDuties::<T>::iter_keys().collect();
		ensure!(duties == seats, "PanelDuties out of step with the panels");
		let next_check = NextAvailabilityCheck::<T>::get();
		for (id, check) in AvailabilityChecks::<T>::iter() {
			ensure!(id < next_check, "a check id the counter has not reached");
			ensure!(
				CheckOf::<T>::get((check.job, check.node, check.checkpoint)) == Some(id)
					&& AvailabilityDuties::<T>::contains_key(check.validator, id),
				"an availability check without its index or duty"
			);
		}
		ensure!(
			CheckOf::<T>::iter().count() == AvailabilityChecks::<T>::iter().count()
				&& AvailabilityDuties::<T>::iter().count() == CheckOf::<T>::iter().count(),
			"availability indexes out of step with the checks"
		);
		for job in LastAgreed::<T>::iter_keys() {
			ensure!(
				Jobs::<T>::get(job).is_some_and(|info| open(info.state)),
				"an agreed checkpoint kept for a job that ended"
			);
		}
		for (job, replaced) in Replacements::<T>::iter() {
			ensure!(
				Jobs::<T>::get(job).is_some_and(|info| info.ended.is_none()),
				"a replacement count kept for a job that ended"
			);
			ensure!(replaced <= T::MaxReplacements::get(), "seats changed hands too often");
		}
		// What a job pays when it ends is charged for its first seat holders and those who
		// took a seat over, never more.
		let mut contributors: BTreeMap<JobId, u32> = BTreeMap::new();
		for (job, _) in Contributions::<T>::iter_keys() {
			contributors.entry(job).or_default().saturating_inc();
		}
		for (job, count) in contributors {
			let redundancy = Jobs::<T>::get(job).map_or(0, |info| info.redundancy);
			ensure!(
				count <= u32::from(redundancy).saturating_add(Replacements::<T>::get(job)),
				"more contributors than the job's seats and their replacements"
			);
		}
		for (job, node) in ReplicaStarts::<T>::iter_keys() {
			ensure!(
				Assignments::<T>::get(job).is_some_and(|replicas| replicas.contains(&node)),
				"a replacement's start outside its job's replicas"
			);
			ensure!(
				Jobs::<T>::get(job).is_some_and(|info| open(info.state)),
				"a replacement's start kept for a job that ended"
			);
		}
		for ((job, node, checkpoint), payload) in Reveals::<T>::iter() {
			ensure!(
				Commits::<T>::contains_key((job, node, checkpoint)),
				"a reveal without its commit"
			);
			// A job being pruned loses its reveals and tallies over several blocks.
			let vote = vote_of(&payload.weights_digest, &payload.state_cid);
			ensure!(
				Self::is_federated(job)
					|| Prunable::<T>::contains_key(job)
					|| Tallies::<T>::get(job, checkpoint).contains(&(node, vote)),
				"a reveal its checkpoint's tally does not count"
			);
		}
		for (job, node, checkpoint) in SampledReveals::<T>::iter_keys() {
			ensure!(
				Reveals::<T>::contains_key((job, node, checkpoint)),
				"an availability sample of nothing revealed"
			);
		}
		for (job, checkpoint, tally) in Tallies::<T>::iter() {
			if Prunable::<T>::contains_key(job) {
				continue;
			}
			for (node, vote) in tally {
				ensure!(
					Reveals::<T>::get((job, node, checkpoint)).is_some_and(|payload| {
						vote_of(&payload.weights_digest, &payload.state_cid) == vote
					}),
					"a tallied vote without the reveal it counts"
				);
			}
		}
		for (job, node, (checkpoints, work)) in Contributions::<T>::iter() {
			let info = Jobs::<T>::get(job).ok_or("a contribution to a job that does not exist")?;
			ensure!(open(info.state), "a contribution kept for a job that ended");
			if info.is_federated() {
				continue;
			}
			// Content found missing is not paid for.
			let revealed: Vec<u32> = Reveals::<T>::iter_key_prefix((job, node))
				.filter(|checkpoint| !LostContent::<T>::contains_key((job, node, *checkpoint)))
				.collect();
			let revealed_work = revealed.iter().fold(0u64, |total, checkpoint| {
				total.saturating_add(info.workload.work_of_checkpoint(*checkpoint))
			});
			ensure!(
				checkpoints as usize == revealed.len() && work == revealed_work,
				"a replica's delivered work is not that of the checkpoints it revealed and kept"
			);
		}

		let mut bonds: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (job, (challenger, _, bond)) in Challenges::<T>::iter() {
			ensure!(
				Jobs::<T>::get(job).is_some_and(|info| info.state == JobState::Disputed),
				"a challenge of a job that is not disputed"
			);
			let entry = bonds.entry(challenger).or_insert_with(Zero::zero);
			*entry = entry.saturating_add(bond);
		}
		for (who, bond) in bonds {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ChallengeBond.into(), &who) == bond,
				"a challenger's hold is not their bonds"
			);
		}
		for (job, member) in PanelCommits::<T>::iter_keys().chain(PanelVerdicts::<T>::iter_keys()) {
			ensure!(Panels::<T>::get(job).contains(&member), "a verdict of no seated member");
		}
		// Nodes leave only without work (`NodeWorkload::has_open_jobs`), and draws pick
		// active nodes alone: no duty outlives its node's registration.
		let duties = OpenJobs::<T>::iter_keys()
			.map(|(node, _)| node)
			.chain(PanelDuties::<T>::iter_keys().map(|(node, _)| node))
			.chain(AvailabilityDuties::<T>::iter_keys().map(|(node, _)| node))
			.chain(AggregatorDuties::<T>::iter_keys().map(|(node, _)| node));
		for node in duties {
			ensure!(T::Nodes::owner(node).is_some(), "a duty of a node that is not registered");
		}
		Self::dispute_invariants()?;
		Self::availability_invariants()?;
		Self::retention_invariants()?;
		Self::federation_invariants()
	}
}

impl<T: Config> Pallet<T> {
	/// Every commitment made for `job`, with its reveal where there is one.
	pub fn commitments_of(job: JobId) -> alloc::vec::Vec<crate::runtime_api::CheckpointView> {
		Commits::<T>::iter_prefix((job,))
			.map(|((node, checkpoint), commit)| crate::runtime_api::CheckpointView {
				node,
				checkpoint,
				commit,
				revealed: Reveals::<T>::get((job, node, checkpoint)),
			})
			.collect()
	}
}

/// What the traps pallet sees of jobs, how the chain posts a trap job (the treasury's, through
/// `create_job`'s path) and how a sprung trap settles one: the conviction and payment paths a
/// dispute's end takes.
impl<T: Config> TrapJobs<T::AccountId, BlockNumberFor<T>> for Pallet<T> {
	fn job(job: JobId) -> Option<TrapJob> {
		Jobs::<T>::get(job).map(|info| TrapJob {
			reproducible: !Self::measured(&info),
			state: info.state,
			checkpoints: info.checkpoints,
			agreed: info.result.map(|result| TrainedWeights {
				weights: result.state_cid,
				digest: result.weights_digest,
			}),
		})
	}

	fn rerunnable(job: JobId) -> bool {
		Jobs::<T>::get(job).is_some_and(|info| {
			matches!(info.state, JobState::Accepted | JobState::Finalized)
				&& !Self::measured(&info)
				&& !info.is_federated()
		})
	}

	fn trap_run(task: crate::traps::TrapTask) -> Option<crate::traits::TrapRun> {
		let mut spec = JobSpecs::<T>::get(task.source)?;
		let source_seed = spec.hyper_parameters.seed;
		spec.hyper_parameters.seed = task.seed;
		let spec_hash = H256(polkadot_sdk::sp_io::hashing::blake2_256(&spec.encode()));
		Some(crate::traits::TrapRun { source_seed, spec_hash })
	}

	fn post_trap(task: crate::traps::TrapTask) -> Result<JobId, DispatchError> {
		let source = Jobs::<T>::get(task.source).ok_or(Error::<T>::UnknownJob)?;
		let mut spec = JobSpecs::<T>::get(task.source).ok_or(Error::<T>::UnknownJob)?;
		spec.hyper_parameters.seed = task.seed;
		let duration = source.deadline.saturating_sub(source.created);
		let deadline = frame_system::Pallet::<T>::block_number().saturating_add(duration);
		<Self as JobCreator<_, _, _>>::create_job(
			&T::Treasury::get(),
			spec,
			source.budget,
			source.redundancy,
			deadline,
		)
	}

	fn posting_weight() -> Weight {
		// The re-run job's record and spec, then a job's creation.
		T::WeightInfo::create_job().saturating_add(T::DbWeight::get().reads(3))
	}

	fn reveals(
		job: JobId,
		checkpoint: u32,
	) -> Vec<(NodeId, Option<tessera_primitives::CommitmentPayload>)> {
		Assignments::<T>::get(job)
			.unwrap_or_default()
			.into_iter()
			.map(|node| (node, Reveals::<T>::get((job, node, checkpoint))))
			.collect()
	}

	fn max_job_duration() -> BlockNumberFor<T> {
		T::MaxJobDuration::get()
	}

	fn settle_sprung_trap(job: JobId, answer: TrainedWeights, caught: &[NodeId]) -> DispatchResult {
		let mut info = Jobs::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
		ensure!(info.state == JobState::Accepted, Error::<T>::WrongState);
		for node in caught {
			let reason = SlashReason::TrapFailure;
			let amount = T::Slasher::slash(*node, reason, None).unwrap_or_else(|_| Zero::zero());
			T::Reputation::report(*node, Outcome::ProofFailed);
			Self::deposit_event(Event::ReplicaConvicted { job, node: *node, reason, amount });
		}
		info.result = Some(AgreedResult {
			weights_digest: answer.digest,
			state_cid: answer.weights,
			challenge_ends: frame_system::Pallet::<T>::block_number(),
		});
		// The treasury posted the job: what the caught replicas would have earned goes back
		// to it with the rest of the budget, and nobody is paid back anything else.
		Self::pay(job, info, caught, JobState::Finalized);
		Ok(())
	}

	fn settlement_weight() -> Weight {
		Self::ending_weight(T::MaxRedundancy::get())
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn accepted_job(requester: T::AccountId) -> Result<JobId, DispatchError> {
		crate::benchmarking::accepted_job_of::<T>(requester)
	}
}

impl<T: Config> JobCreator<T::AccountId, BalanceOf<T>, BlockNumberFor<T>> for Pallet<T> {
	fn create_job(
		requester: &T::AccountId,
		spec: JobSpec,
		budget: BalanceOf<T>,
		redundancy: u8,
		deadline: BlockNumberFor<T>,
	) -> Result<JobId, DispatchError> {
		// Other pallets go on when a job is refused (an approved proposal whose proposer
		// cannot pay is closed): nothing of a refused job may stay behind.
		polkadot_sdk::frame_support::storage::with_storage_layer(|| {
			Self::do_create_job(
				requester.clone(),
				spec,
				budget,
				redundancy,
				deadline,
				JobKind::Replicated,
				None,
			)
		})
	}
	fn consent_check_weight() -> Weight {
		T::Consent::some_grant_allows_weight()
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
