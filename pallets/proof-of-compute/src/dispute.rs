//! Settling a disputed job by re-execution, one segment at a time (SPEC §5).
//!
//! A job is disputed when its replicas reach no majority, when a spot-check is drawn for
//! it, or when someone challenges its checkpoint `c` ([`Pallet::challenge`]); a federated
//! job's disputes are over one round's aggregate or one participant's update of a round
//! (the rounds module). Every replica
//! revealed a digest per checkpoint, so the chain itself can bisect: it looks
//! for a checkpoint where the remaining replicas still agree followed by one where they do
//! not (or from which a challenger or a spot-check claims they are wrong), and a panel of
//! validators re-executes only the steps between the two, from the agreed state. A dispute
//! over a job of `C` checkpoints therefore compares at most `1 + log2(C)` checkpoints and
//! re-executes one segment per divergence, never the whole job. [`Event::SegmentDisputed`]
//! names the segment with its steps and the number of comparisons.
//!
//! The panel is [`Config::PanelSize`] (3) validator-role nodes, never replicas of the job,
//! drawn by randomness ([`Event::PanelDrawn`]). Each member's off-chain worker asks its
//! trainer to re-execute exactly those steps from the agreed state (`POST /v1/verify`, or
//! from the job's own start for the first segment; the trainer re-executes in the
//! background and answers `202` until it is done, and fetches a start state it lacks from
//! the replicas' published endpoints), then commits to the verdict and reveals it
//! ([`Pallet::panel_commit`], [`Pallet::panel_reveal`], authorized calls signed by the node
//! key). Verdict commits close when their reveals open, as replicas' commits do.
//!
//! When every member has answered, or at the [`Config::PanelWindow`] (50-block) deadline, a
//! majority of the panel settles the segment. A segment's verdict proves wrong exactly the
//! replicas whose digest or state differs from what a majority of the panel computed; they
//! are slashed (the node registry's `FailedVerificationSlash`, 10%, or its
//! `ForgedResultSlash`, 50%, when one of the two is the panel's and the other is not: a pair
//! no execution produces) and drop out, and agreeing members are paid [`Config::PanelFee`]
//! (0.1 TSRA) each from the job's budget. Bisection goes on among the rest until nothing
//! diverges; a result nobody had a majority for is paid only after its last segment was
//! re-executed too. [`Event::DisputeResolved`] carries the number of segments and steps
//! re-executed. What the survivors agree on is then paid like an unchallenged result
//! (state `Resolved`); if nobody survives the job fails and the requester is refunded.
//!
//! A panel that does not settle is drawn again as a whole, so that nobody is seated next to
//! a verdict already revealed: without the members that did not answer, who lose
//! [`Config::MissedVerdictSlash`] (10%) of their stake — not an offence — and reputation,
//! or, when all answered and disagreed, without any of them. Fewer validators than a
//! majority of the panel are never seated: the dispute draws again a panel window later.
//!
//! A challenger whose challenge convicted a replica of the accepted result gets the bond
//! back and a bounty of as much again, paid from the slashed stake (never more than was
//! slashed); a challenger who loses shares the bond among the surviving replicas and the
//! last panel. A dispute ends only by a panel majority: while panels stay silent the budget
//! and the bond stay held and the replicas bound to the job, so silence profits neither a
//! requester who would be refunded for a result it can fetch nor an accused replica that
//! would walk free.
//!
//! Agreement is always on the weights digest and the state CID together — in verification,
//! in the checkpoint a replacement resumes from and in bisection — so a segment starts from a
//! state every remaining candidate named, never from one a single replica crafted to go with
//! the right digest. This rests on the trainer's states being content-addressed and
//! deterministic: honest replicas and the panel name the same CID for the same training.
//!
//! `tests/e2e/dispute.test.mjs` runs a dispute end to end: a replica behind a lying trainer,
//! three validators with a trainer of their own.

use crate::{pallet::*, types::*, BalanceOf, DisputeOf, JobInfoOf, LOG_TARGET};
use alloc::vec::Vec;
use codec::Encode;
use polkadot_sdk::{
	frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Mutate, MutateHold},
			tokens::{Fortitude, Precision, Preservation, Restriction},
			Randomness,
		},
	},
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_core::H256,
	sp_runtime::traits::{Saturating, Zero},
};
use tessera_primitives::{
	trainer_api::{FORGED, GPU_TOLERANCE},
	Cid, JobId, JobState, NodeId, NodeInspect, NodeRole, Outcome, ReputationSink, SlashReason,
	Slasher,
};

/// What a dispute is over, and so who stands accused, which segments a panel re-executes
/// and how the dispute ends. The engine in this module draws panels and settles their
/// verdicts the same way for each; a replicated job's results are the `results` module's,
/// a federated round's aggregate and updates the rounds' ([`Pallet::disputed`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Disputed {
	/// The replicas' results of a replicated job: bisected by digest, or one segment measured
	/// on a GPU job.
	Results,
	/// A federated round's aggregate, computed again from the round's updates.
	Aggregate,
	/// A participant's update of a federated round, trained again from the round's start.
	Update(NodeId),
}

impl<T: Config> Pallet<T> {
	/// Puts a job (already stored as `Disputed`) under dispute: `claim` is the checkpoint
	/// from which someone holds the replicas wrong even where they agree.
	pub(crate) fn open_dispute(job: JobId, reason: DisputeReason, claim: Option<u32>) {
		Self::deposit_event(Event::JobDisputed { job, reason: reason.clone() });
		// GPU replicas that disagree may all be right: which of their segments is measured
		// is drawn, as a spot-check's is, from randomness unknown when they revealed.
		let claim = match (&reason, Jobs::<T>::get(job)) {
			(DisputeReason::NoMajority, Some(info))
				if Self::measured(&info) && Self::disputed(&info, &reason) == Disputed::Results =>
			{
				Some(Self::spot_check_claim(job, info.checkpoints))
			}
			_ => claim,
		};
		let dispute = Dispute {
			reason,
			claim,
			segment: Segment {
				checkpoint: 0,
				from_step: 0,
				to_step: 0,
				start_state: None,
				probes: 0,
			},
			deadline: frame_system::Pallet::<T>::block_number(),
			first_commit: None,
			draws: 0,
			segments: 0,
			steps: 0,
			convicted: Default::default(),
			slashed: Zero::zero(),
		};
		Self::advance(job, dispute, &[]);
	}

	/// Holds `ChallengeBond` from `challenger` and disputes `job` for `reason`, from
	/// `checkpoint`.
	pub(crate) fn open_challenge(
		challenger: T::AccountId,
		job: JobId,
		mut info: JobInfoOf<T>,
		checkpoint: u32,
		reason: DisputeReason,
	) -> DispatchResult {
		let bond = T::ChallengeBond::get();
		T::Currency::hold(&HoldReason::ChallengeBond.into(), &challenger, bond)?;
		info.state = JobState::Disputed;
		Jobs::<T>::insert(job, info);
		Challenges::<T>::insert(job, (challenger.clone(), checkpoint, bond));
		Self::deposit_event(Event::Challenged { job, challenger, checkpoint, bond });
		Self::open_dispute(job, reason, Some(checkpoint));
		Ok(())
	}

	/// The checkpoint a spot-check of `job` re-executes, drawn from randomness that was
	/// unknown when the replicas committed.
	pub(crate) fn spot_check_claim(job: JobId, checkpoints: u32) -> u32 {
		let (seed, _) = T::Randomness::random(&(b"tessera/spot-check", job).encode());
		let draw = u32::from_le_bytes(seed.as_ref()[..4].try_into().unwrap_or_default());
		draw % checkpoints.max(1)
	}

	/// Finds the next segment of what is disputed and draws its panel, or ends the dispute
	/// when there is none. `last_panel` agreed on the segment settled just before.
	fn advance(job: JobId, mut dispute: DisputeOf<T>, last_panel: &[NodeId]) {
		let Some(info) = Jobs::<T>::get(job) else { return };
		let disputed = Self::disputed(&info, &dispute.reason);
		let next = match disputed {
			Disputed::Results => Self::results_segment(job, &info, &dispute),
			Disputed::Aggregate => Self::aggregation_segment(job, &info, dispute.claim),
			Disputed::Update(_) => Self::update_segment(job, &info, dispute.claim),
		};
		let Some(segment) = next else {
			match disputed {
				Disputed::Results => Self::resolve_results(job, info, dispute, last_panel),
				Disputed::Aggregate => Self::resolve_aggregation(job, info, dispute, last_panel),
				Disputed::Update(participant) => {
					Self::resolve_update(job, info, dispute, participant, last_panel)
				}
			}
			return;
		};
		Self::deposit_event(Event::SegmentDisputed {
			job,
			checkpoint: segment.checkpoint,
			from_step: segment.from_step,
			to_step: segment.to_step,
			probes: segment.probes,
		});
		dispute.segment = segment;
		Self::draw_panel(job, &mut dispute, &[]);
		Disputes::<T>::insert(job, dispute);
	}

	/// Who stands accused for `checkpoint`, and what each claims for it, a weights digest and
	/// a state, if it revealed any: the replicas still in the running, a round's aggregator,
	/// or a challenged participant.
	pub(crate) fn claims(
		job: JobId,
		info: &JobInfoOf<T>,
		dispute: &DisputeOf<T>,
		checkpoint: u32,
	) -> Vec<(NodeId, Option<(H256, Cid)>)> {
		match Self::disputed(info, &dispute.reason) {
			Disputed::Results => Self::results_claims(job, info, dispute, checkpoint),
			Disputed::Aggregate => Self::aggregate_claim(job, dispute, checkpoint),
			Disputed::Update(participant) => {
				Self::update_claim(job, dispute, participant, checkpoint)
			}
		}
	}

	/// Seats a panel for the current segment: active validators of distinct owners, never a
	/// node of an owner of one of the job's replicas nor one of `exclude`. Its commit phase
	/// starts with its first commit. Fewer validators than a majority of `PanelSize` could
	/// never settle anything, so then nobody is seated and the dispute waits one
	/// [`Config::PanelWindow`] to draw again, with nobody excluded.
	fn draw_panel(job: JobId, dispute: &mut DisputeOf<T>, exclude: &[NodeId]) {
		// Nobody judges their own work: neither a replica's owner nor the aggregate's author's.
		let mut replicas = Assignments::<T>::get(job).unwrap_or_default().into_inner();
		replicas.extend(Self::aggregate_of(job, dispute.segment.checkpoint).map(|(node, ..)| node));
		let subject = (b"tessera/panel", job, dispute.draws).encode();
		let validator = NodeRole::Validator;
		let mut drawn =
			Self::draw_nodes(&subject, T::PanelSize::get(), validator, &replicas, |node| {
				T::Nodes::is_active(node)
					&& T::Nodes::has_role(node, NodeRole::Validator)
					&& !exclude.contains(&node)
			});
		if (drawn.len() as u32) < Self::panel_majority() {
			drawn.clear();
		}
		let panel: BoundedVec<NodeId, T::PanelSize> = BoundedVec::truncate_from(drawn);
		dispute.first_commit = None;
		for member in &panel {
			PanelDuties::<T>::insert(member, job, ());
		}
		let deadline =
			frame_system::Pallet::<T>::block_number().saturating_add(T::PanelWindow::get());
		Self::schedule(job, deadline);
		dispute.deadline = deadline;
		dispute.draws = dispute.draws.saturating_add(1);
		if panel.is_empty() {
			Self::deposit_event(Event::NoPanel { job, retry_at: deadline });
		} else {
			Panels::<T>::insert(job, panel.clone());
			Self::deposit_event(Event::PanelDrawn { job, panel, deadline });
		}
	}

	/// Members that settle a segment when they agree: more than half of `PanelSize`.
	pub(crate) fn panel_majority() -> u32 {
		T::PanelSize::get() / 2 + 1
	}

	pub(crate) fn check_panel_commit(
		commit: &PanelCommit,
	) -> Result<DisputeOf<T>, TransactionValidityError> {
		let dispute = Disputes::<T>::get(commit.job).ok_or(InvalidTransaction::Stale)?;
		let panel = Panels::<T>::get(commit.job);
		// A verdict committed once the panel's reveals are open could copy one of them.
		if commit.checkpoint != dispute.segment.checkpoint
			|| commit.draw != dispute.draws
			|| PanelCommits::<T>::contains_key(commit.job, commit.node)
			|| Self::verdicts_open(commit.job, &dispute, &panel)
		{
			return Err(InvalidTransaction::Stale.into());
		}
		if !panel.contains(&commit.node) {
			return Err(InvalidTransaction::BadSigner.into());
		}
		Ok(dispute)
	}

	/// Whether the panel's commit phase is over and its verdicts may be revealed: every
	/// member committed, or [`Config::RevealDelay`] passed since the first commit. Verdict
	/// commits and reveals read this one rule.
	fn verdicts_open(job: JobId, dispute: &DisputeOf<T>, panel: &[NodeId]) -> bool {
		let now = frame_system::Pallet::<T>::block_number();
		let commits = PanelCommits::<T>::iter_prefix(job).count();
		commits >= panel.len()
			|| dispute
				.first_commit
				.is_some_and(|first| now >= first.saturating_add(T::RevealDelay::get()))
	}

	pub(crate) fn check_panel_reveal(reveal: &PanelReveal) -> Result<(), TransactionValidityError> {
		let verdict = &reveal.verdict;
		let dispute = Disputes::<T>::get(verdict.job).ok_or(InvalidTransaction::Stale)?;
		if verdict.checkpoint != dispute.segment.checkpoint
			|| PanelVerdicts::<T>::contains_key(verdict.job, verdict.node)
		{
			return Err(InvalidTransaction::Stale.into());
		}
		let panel = Panels::<T>::get(verdict.job);
		if !panel.contains(&verdict.node) {
			return Err(InvalidTransaction::BadSigner.into());
		}
		let committed =
			PanelCommits::<T>::get(verdict.job, verdict.node).ok_or(InvalidTransaction::Future)?;
		if verdict_hash(verdict, &reveal.salt) != committed {
			return Err(InvalidTransaction::BadProof.into());
		}
		if !Self::verdicts_open(verdict.job, &dispute, &panel) {
			return Err(InvalidTransaction::Future.into());
		}
		Ok(())
	}

	pub(crate) fn do_panel_commit(commit: PanelCommit) -> DispatchResult {
		let mut dispute =
			Self::check_panel_commit(&commit).map_err(|_| Error::<T>::NoSuchVerdict)?;
		PanelCommits::<T>::insert(commit.job, commit.node, commit.hash);
		dispute.first_commit.get_or_insert(frame_system::Pallet::<T>::block_number());
		Disputes::<T>::insert(commit.job, dispute);
		Self::deposit_event(Event::VerdictCommitted { job: commit.job, node: commit.node });
		Ok(())
	}

	pub(crate) fn do_panel_reveal(reveal: PanelReveal) -> DispatchResult {
		Self::check_panel_reveal(&reveal).map_err(|_| Error::<T>::NoSuchVerdict)?;
		let verdict = reveal.verdict;
		let job = verdict.job;
		Self::deposit_event(Event::VerdictRevealed {
			job,
			node: verdict.node,
			weights_digest: verdict.weights_digest,
		});
		PanelVerdicts::<T>::insert(job, verdict.node, verdict);
		// Settling waits for every member, so that none that answers loses its fee to a
		// faster majority; the deadline settles without the silent ones.
		let panel = Panels::<T>::get(job);
		if panel.iter().all(|member| PanelVerdicts::<T>::contains_key(job, member)) {
			if let Some(majority) = Self::majority_verdict(job) {
				Self::settle(job, majority);
			}
		}
		Ok(())
	}

	/// The verdict more than half of `PanelSize` members revealed, if there is one.
	fn majority_verdict(job: JobId) -> Option<Verdict> {
		let verdicts: Vec<Verdict> = PanelVerdicts::<T>::iter_prefix_values(job).collect();
		verdicts
			.iter()
			.find(|verdict| {
				let agreeing = verdicts.iter().filter(|other| same_result(other, verdict)).count();
				agreeing as u32 >= Self::panel_majority()
			})
			.cloned()
	}

	/// A majority of the panel reached `majority` for the current segment: convict the
	/// candidates it proves wrong, pay the agreeing members, move on.
	fn settle(job: JobId, majority: Verdict) {
		let (Some(mut dispute), Some(mut info)) = (Disputes::<T>::get(job), Jobs::<T>::get(job))
		else {
			return;
		};
		let (weights_digest, state_cid) = (majority.weights_digest, majority.state_cid.clone());
		let segment = dispute.segment.clone();
		Self::deposit_event(Event::SegmentSettled {
			job,
			checkpoint: segment.checkpoint,
			weights_digest,
		});
		dispute.segments = dispute.segments.saturating_add(1);
		dispute.steps =
			dispute.steps.saturating_add(segment.to_step.saturating_sub(segment.from_step));
		let convicted_before = dispute.convicted.len();
		let measured = Self::measured(&info);
		for (node, claim) in Self::claims(job, &info, &dispute, segment.checkpoint) {
			let reason = if measured {
				let distance = majority.distances.iter().find(|(measured, _)| *measured == node);
				match distance.map(|(_, distance)| *distance) {
					Some(distance) if distance <= GPU_TOLERANCE => continue,
					Some(FORGED) => SlashReason::ForgedResult,
					// Too far, or not measured: no state the panel could start from or find.
					_ => SlashReason::FailedVerification,
				}
			} else {
				match claim {
					Some((digest, state)) if digest == weights_digest && state == state_cid => {
						continue
					}
					// Half of the claim is what the panel computed and the other half is not:
					// no execution reports that.
					Some((digest, state)) if digest == weights_digest || state == state_cid => {
						SlashReason::ForgedResult
					}
					_ => SlashReason::FailedVerification,
				}
			};
			let amount = T::Slasher::slash(node, reason, None).unwrap_or_else(|_| Zero::zero());
			dispute.slashed = dispute.slashed.saturating_add(amount);
			if dispute.convicted.try_push(node).is_err() {
				log::error!(target: LOG_TARGET, "job {job}: more convicts than replicas");
			}
			T::Reputation::report(node, Outcome::ProofFailed);
			Self::deposit_event(Event::ReplicaConvicted { job, node, reason, amount });
		}
		let mut agreeing = Vec::new();
		for member in Panels::<T>::get(job) {
			match PanelVerdicts::<T>::get(job, member) {
				Some(verdict) if same_result(&verdict, &majority) => {
					Self::pay_panel_fee(job, &mut info, member);
					agreeing.push(member);
				}
				Some(_) => T::Reputation::report(member, Outcome::ProofFailed),
				None => Self::punish_silence(job, member),
			}
		}
		if dispute.claim == Some(segment.checkpoint) {
			dispute.claim = None;
		}
		Self::clear_panel(job);
		let disputed = Self::disputed(&info, &dispute.reason);
		Jobs::<T>::insert(job, info);
		if disputed == Disputed::Aggregate && dispute.convicted.len() > convicted_before {
			let author = agreeing.first().copied();
			Self::replace_aggregate(job, segment.checkpoint, author, weights_digest, state_cid);
		}
		Self::advance(job, dispute, &agreeing);
	}

	fn pay_panel_fee(job: JobId, info: &mut JobInfoOf<T>, member: NodeId) {
		T::Reputation::report(member, Outcome::ProofPassed);
		let amount = Self::pay_from_budget(info, member, T::PanelFee::get());
		Self::deposit_event(Event::PanelFeePaid { job, node: member, amount });
	}

	/// Ends the dispute, whatever it was over: settles the challenge, if there is one, with
	/// `survivors`, the accused that no panel convicted, and reports whether the disputed
	/// work was `upheld`. What becomes of the job is the caller's.
	pub(crate) fn close_dispute(
		job: JobId,
		info: &JobInfoOf<T>,
		dispute: &DisputeOf<T>,
		survivors: &[NodeId],
		upheld: bool,
		last_panel: &[NodeId],
	) {
		Disputes::<T>::remove(job);
		Self::settle_challenge(job, info, dispute, survivors, last_panel);
		Self::deposit_event(Event::DisputeResolved {
			job,
			upheld,
			segments: dispute.segments,
			steps: dispute.steps,
		});
	}

	/// A challenger wins when the dispute convicted a replica of the result it challenged:
	/// the bond comes back with a bounty of as much again, paid from the slashed stake.
	/// Otherwise the bond is shared by the surviving replicas and the panel that settled
	/// the last segment.
	fn settle_challenge(
		job: JobId,
		info: &JobInfoOf<T>,
		dispute: &DisputeOf<T>,
		survivors: &[NodeId],
		last_panel: &[NodeId],
	) {
		let Some((challenger, _, bond)) = Challenges::<T>::take(job) else { return };
		let won = match Self::disputed(info, &dispute.reason) {
			Disputed::Results => Self::accepted_result_convicted(job, info, dispute),
			// A challenged aggregate or update has one author: convicting it is winning.
			Disputed::Aggregate | Disputed::Update(_) => !dispute.convicted.is_empty(),
		};
		let reason = HoldReason::ChallengeBond.into();
		if won {
			Self::release_bond(&challenger, bond);
			let bounty = T::ChallengeBond::get().min(dispute.slashed);
			let bounty = T::Currency::transfer(
				&T::Treasury::get(),
				&challenger,
				bounty,
				Preservation::Preserve,
			)
			.unwrap_or_else(|error| {
				log::error!(target: LOG_TARGET, "job {job}: bounty not paid: {error:?}");
				Zero::zero()
			});
			Self::deposit_event(Event::ChallengeWon { job, challenger, bounty });
			return;
		}
		let owners: Vec<T::AccountId> =
			survivors.iter().chain(last_panel).filter_map(|node| T::Nodes::owner(*node)).collect();
		let share = bond / BalanceOf::<T>::from(owners.len().max(1) as u32);
		let forfeit = |to: &T::AccountId, amount: BalanceOf<T>| {
			T::Currency::transfer_on_hold(
				&reason,
				&challenger,
				to,
				amount,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Force,
			)
			.unwrap_or_else(|_| Zero::zero())
		};
		let shared = owners
			.iter()
			.fold(BalanceOf::<T>::zero(), |sum, owner| sum.saturating_add(forfeit(owner, share)));
		// What does not divide evenly, or finds nobody to go to, goes to the treasury.
		forfeit(&T::Treasury::get(), bond.saturating_sub(shared));
		Self::deposit_event(Event::ChallengeLost { job, challenger, bond });
	}

	fn release_bond(challenger: &T::AccountId, bond: BalanceOf<T>) {
		if let Err(error) = T::Currency::release(
			&HoldReason::ChallengeBond.into(),
			challenger,
			bond,
			Precision::BestEffort,
		) {
			log::error!(target: LOG_TARGET, "challenge bond not released: {error:?}");
		}
	}

	/// The panel's deadline passed: a majority among the verdicts revealed settles the
	/// segment; otherwise a new panel is drawn without the members that did not answer (who
	/// are slashed), or, if all answered and still no majority agrees, without any of them.
	///
	/// A dispute ends only by a panel majority. Ending it any other way would reward
	/// whoever kept the panels silent: failing the job refunds a requester who can still
	/// fetch the revealed states, and accepting it frees the accused replicas. So the budget
	/// and the bond stay held and the replicas stay bound to the job, while every silent
	/// seat costs its validator [`Config::MissedVerdictSlash`] of its stake.
	pub(crate) fn panel_expired(job: JobId, now: BlockNumberFor<T>) {
		let Some(mut dispute) = Disputes::<T>::get(job) else { return };
		if dispute.deadline > now {
			// A deadline that a settled segment left behind.
			return;
		}
		if let Some(majority) = Self::majority_verdict(job) {
			Self::settle(job, majority);
			return;
		}
		// The whole panel is drawn again: a member seated next to verdicts already revealed
		// could copy them instead of re-executing. Those who answered may be drawn again and
		// answer again; the silent are not.
		// When everyone answered and still no majority agrees, none of them is seated again.
		let panel = Panels::<T>::get(job);
		let mut silent = Vec::new();
		for member in &panel {
			if !PanelVerdicts::<T>::contains_key(job, member) {
				Self::punish_silence(job, *member);
				silent.push(*member);
			}
		}
		let exclude = if silent.is_empty() { panel.into_inner() } else { silent };
		Self::clear_panel(job);
		Self::draw_panel(job, &mut dispute, &exclude);
		Disputes::<T>::insert(job, dispute);
	}

	/// A panel member did not reveal a verdict in time: it loses
	/// [`Config::MissedVerdictSlash`] of its stake and some reputation.
	fn punish_silence(job: JobId, member: NodeId) {
		let reason = SlashReason::MissedVerdict(T::MissedVerdictSlash::get());
		let slashed = T::Slasher::slash(member, reason, None).unwrap_or_else(|_| Zero::zero());
		T::Reputation::report(member, Outcome::JobFailed);
		Self::deposit_event(Event::VerdictMissed { job, node: member, slashed });
	}

	fn clear_panel(job: JobId) {
		for member in Panels::<T>::take(job) {
			PanelDuties::<T>::remove(member, job);
		}
		let _ = PanelCommits::<T>::clear_prefix(job, T::PanelSize::get(), None);
		let _ = PanelVerdicts::<T>::clear_prefix(job, T::PanelSize::get(), None);
	}
}

impl<T: Config> Pallet<T> {
	/// Invariants of disputes: a seated panel can reach a majority, and each dispute holds
	/// the invariants of what it is over.
	#[cfg(any(feature = "try-runtime", feature = "invariants", test))]
	pub(crate) fn dispute_invariants() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
		for (job, dispute) in Disputes::<T>::iter() {
			let panel = Panels::<T>::get(job);
			ensure!(
				panel.is_empty() || panel.len() as u32 >= Self::panel_majority(),
				"a panel too small for a majority"
			);
			let info = Jobs::<T>::get(job).ok_or("a dispute without its job")?;
			if Self::disputed(&info, &dispute.reason) == Disputed::Results {
				Self::results_invariants(job, &info, &dispute)?;
			}
		}
		Ok(())
	}
}

fn same_result(one: &Verdict, other: &Verdict) -> bool {
	one.weights_digest == other.weights_digest
		&& one.state_cid == other.state_cid
		&& one.distances == other.distances
}

mod results;
#[cfg(test)]
pub(crate) mod tests;
