//! Commitments and their verification (SPEC §5): each replica's signed commit of a
//! checkpoint and its reveal, checked before the pool by the `authorize` paths; the tally of
//! reveals, where a replacement resumes from, and the verdict on a job once its final
//! checkpoint is in: accepted by a majority, or disputed.

use crate::{pallet::*, types::*, FederationOf, JobInfoOf, LOG_TARGET};
use alloc::collections::BTreeMap;
use polkadot_sdk::{
	frame_support::pallet_prelude::*,
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_core::H256,
	sp_runtime::{
		traits::{Saturating, Zero},
		RuntimeAppPublic,
	},
};
use tessera_primitives::{
	commitment_hash, JobId, JobState, NodeId, NodeInspect, NodeSignature, ReputationInspect,
	TrainedWeights,
};

impl<T: Config> Pallet<T> {
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
