//! Data availability (SPEC §5): a node must serve the content behind what it revealed — the
//! training state of each checkpoint — while the job is open and for [`Config::Retention`]
//! (1 000) blocks after it ends. A share of reveals ([`Config::AvailabilitySample`], one in
//! ten) is checked unasked, and anyone may ask for a check with
//! [`Pallet::challenge_availability`]`(job, node, checkpoint)` by bonding
//! [`Config::AvailabilityBond`] (2 units). A validator drawn by randomness
//! ([`Event::AvailabilityChecked`]) has its trainer fetch the content from the node's
//! published endpoint (`POST /v1/blobs/{cid}/fetch`; the trainer keeps it only if it matches
//! the CID) and reports with [`Pallet::report_availability`] within
//! [`Config::AvailabilityWindow`] (3) blocks.
//!
//! The node is judged only on what validators report, never on their silence:
//! - served: the check closes, the treasury pays the validator [`Config::AvailabilityFee`]
//!   (0.05 units) and the asker's bond goes to the node, whom the check cost bandwidth;
//! - missing: another validator is drawn, and once [`AVAILABILITY_QUORUM`] (2) validators
//!   reported the content missing the node is slashed 1%, 1.5%, 2% or 3% of its stake by
//!   reputation tier (excellent → new) — a fault of its own class, which never counts
//!   toward the node registry's three offences — loses a tenth of its score, is not paid
//!   for that checkpoint, and the bond goes back to the asker;
//! - silence: the validator loses [`Config::MissedVerdictSlash`] (10%) of its stake and
//!   another is drawn, never one drawn before or of their owners; after
//!   [`MAX_AVAILABILITY_DRAWS`] (4) the check closes undecided and the bond goes back.
//!
//! The reveal and commit stay, so a fault never keeps a replica from delivering the rest
//! of its job, and a federated round keeps its input. One content can be found missing
//! once, and a node has at most [`MAX_OPEN_CHECKS_PER_NODE`] (4) open checks.
//!
//! Assumes: fewer than [`AVAILABILITY_QUORUM`] of the validators drawn for one check
//! collude against the node, and a validator's trainer can reach an endpoint that serves.

use crate::{
	pallet::*, types::*, weights::WeightInfo, BalanceOf, LOG_TARGET, MAX_OPEN_CHECKS_PER_NODE,
};
use codec::Encode;
use polkadot_sdk::{
	frame_support::{
		ensure,
		pallet_prelude::*,
		traits::{
			fungible::{Mutate, MutateHold},
			tokens::{Fortitude, Precision, Preservation, Restriction},
			Randomness,
		},
		weights::WeightMeter,
	},
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_runtime::{
		traits::{Saturating, Zero},
		Perbill,
	},
};
use tessera_primitives::{
	JobId, NodeId, NodeInspect, NodeRole, Outcome, ReputationInspect, ReputationSink, SlashReason,
	Slasher, TrustTier,
};

impl<T: Config> Pallet<T> {
	pub(crate) fn do_challenge_availability(
		challenger: T::AccountId,
		job: JobId,
		node: NodeId,
		checkpoint: u32,
	) -> DispatchResult {
		let info = Jobs::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
		let payload =
			Reveals::<T>::get((job, node, checkpoint)).ok_or(Error::<T>::NothingCommitted)?;
		let now = frame_system::Pallet::<T>::block_number();
		let retained =
			info.ended.is_none_or(|ended| now < ended.saturating_add(T::Retention::get()));
		ensure!(retained, Error::<T>::PastRetention);
		let key = (job, node, checkpoint);
		ensure!(!CheckOf::<T>::contains_key(key), Error::<T>::AlreadyChecking);
		ensure!(!LostContent::<T>::contains_key(key), Error::<T>::AlreadyLost);
		let bond = T::AvailabilityBond::get();
		T::Currency::hold(&HoldReason::AvailabilityBond.into(), &challenger, bond)?;
		let check = Self::open_availability_check(job, node, checkpoint, payload.state_cid)?;
		AvailabilityBonds::<T>::insert(check, (challenger, bond));
		Ok(())
	}

	/// Draws a validator (never a node of an owner of one of the job's replicas) to fetch
	/// `cid` and opens the check.
	pub(crate) fn open_availability_check(
		job: JobId,
		node: NodeId,
		checkpoint: u32,
		cid: tessera_primitives::Cid,
	) -> Result<u64, DispatchError> {
		ensure!(OpenChecks::<T>::get(node) < MAX_OPEN_CHECKS_PER_NODE, Error::<T>::TooManyChecks);
		let id = NextAvailabilityCheck::<T>::get();
		let mut check = AvailabilityCheck {
			job,
			node,
			checkpoint,
			cid,
			validator: node,
			deadline: Zero::zero(),
			earlier: Default::default(),
			missing: 0,
		};
		Self::seat_validator(id, &mut check)?;
		NextAvailabilityCheck::<T>::put(id.saturating_add(1));
		CheckOf::<T>::insert((job, node, checkpoint), id);
		OpenChecks::<T>::mutate(node, |open| open.saturating_inc());
		AvailabilityChecks::<T>::insert(id, check);
		Ok(id)
	}

	/// Draws the check's next validator — never the node, a replica of the job, a validator
	/// drawn before, or a node of one of their owners — and gives it a window.
	fn seat_validator(id: u64, check: &mut AvailabilityCheck<BlockNumberFor<T>>) -> DispatchResult {
		let subject = (b"tessera/availability", id, check.earlier.len() as u32).encode();
		let mut seated = Assignments::<T>::get(check.job).unwrap_or_default().into_inner();
		seated.push(check.node);
		seated.extend(check.earlier.iter().copied());
		let validator = Self::draw_nodes(&subject, 1, NodeRole::Validator, &seated, |candidate| {
			T::Nodes::is_active(candidate) && T::Nodes::has_role(candidate, NodeRole::Validator)
		})
		.first()
		.copied()
		.ok_or(Error::<T>::NoValidator)?;
		let deadline =
			frame_system::Pallet::<T>::block_number().saturating_add(T::AvailabilityWindow::get());
		// Looked at one block after the deadline, so that a report in the deadline's block
		// counts.
		AvailabilityDue::<T>::try_mutate(deadline.saturating_add(1u32.into()), |due| {
			due.try_push(id)
		})
		.map_err(|_| Error::<T>::TooManyDue)?;
		AvailabilityDuties::<T>::insert(validator, id, ());
		check.validator = validator;
		check.deadline = deadline;
		Self::deposit_event(Event::AvailabilityChecked {
			check: id,
			job: check.job,
			node: check.node,
			checkpoint: check.checkpoint,
			validator,
			deadline,
		});
		Ok(())
	}

	/// Checks `payload`'s state unasked with probability [`Config::AvailabilitySample`],
	/// drawn from randomness the node did not know when it committed.
	/// Draws whether the reveal of `payload` is checked unasked, and if so queues it for
	/// [`Self::open_sampled_checks`]: drawing the check's validator reads every validator, work
	/// a reveal must not carry (its weight is every reveal's, sampled or not).
	pub(crate) fn sample_availability(payload: &tessera_primitives::CommitmentPayload) {
		let subject =
			(b"tessera/availability-sample", payload.job, payload.node, payload.checkpoint);
		let (seed, _) = T::Randomness::random(&subject.encode());
		let draw = u32::from_le_bytes(seed.as_ref()[..4].try_into().unwrap_or_default());
		if Perbill::from_parts(draw % 1_000_000_000) < T::AvailabilitySample::get() {
			SampledReveals::<T>::insert((payload.job, payload.node, payload.checkpoint), ());
		}
	}

	/// Opens the checks of sampled reveals while `meter` can pay for them and the deadline
	/// list of this block's checks has room; the rest wait for the next block. A reveal whose
	/// job was pruned meanwhile, whose content is already being checked, or whose node has
	/// [`MAX_OPEN_CHECKS_PER_NODE`] open checks, or for which no validator can be drawn, is
	/// not checked.
	pub(crate) fn open_sampled_checks(meter: &mut WeightMeter) {
		let unit = T::WeightInfo::open_sampled_check();
		// The look that finds the queue empty; each check's own look is in its benchmark.
		meter.consume(T::DbWeight::get().reads(1));
		while meter.can_consume(unit) {
			let Some(key) = SampledReveals::<T>::iter_keys().next() else { break };
			meter.consume(unit);
			SampledReveals::<T>::remove(key);
			let (job, node, checkpoint) = key;
			let Some(payload) = Reveals::<T>::get(key) else { continue };
			if CheckOf::<T>::contains_key(key) {
				continue;
			}
			match Self::open_availability_check(job, node, checkpoint, payload.state_cid) {
				// This block's deadline list is full; the next block's has room.
				Err(error) if error == Error::<T>::TooManyDue.into() => {
					SampledReveals::<T>::insert(key, ());
					break;
				}
				Err(error) => {
					log::debug!(target: LOG_TARGET, "job {job}: no availability check: {error:?}")
				}
				Ok(_) => {}
			}
		}
	}

	pub(crate) fn check_availability_report(
		report: &AvailabilityReport,
	) -> Result<AvailabilityCheck<BlockNumberFor<T>>, TransactionValidityError> {
		let check = AvailabilityChecks::<T>::get(report.check).ok_or(InvalidTransaction::Stale)?;
		if check.validator != report.validator {
			return Err(InvalidTransaction::BadSigner.into());
		}
		if frame_system::Pallet::<T>::block_number() > check.deadline {
			return Err(InvalidTransaction::Stale.into());
		}
		Ok(check)
	}

	pub(crate) fn do_report_availability(report: AvailabilityReport) -> DispatchResult {
		let mut check =
			Self::check_availability_report(&report).map_err(|_| Error::<T>::WrongState)?;
		let (id, validator) = (report.check, report.validator);
		AvailabilityDuties::<T>::remove(validator, id);
		if report.served {
			Self::close_availability_check(id, &check);
			let fee = Self::pay_availability_fee(validator);
			T::Reputation::report(validator, Outcome::ProofPassed);
			if let Some((challenger, bond)) = AvailabilityBonds::<T>::take(id) {
				Self::forfeit_bond(id, &challenger, bond, check.node);
			}
			Self::deposit_event(Event::AvailabilityProven { check: id, validator, fee });
			return Ok(());
		}
		Self::deposit_event(Event::AvailabilityMissing { check: id, validator });
		check.missing = check.missing.saturating_add(1);
		if check.missing >= AVAILABILITY_QUORUM {
			Self::content_lost(id, &check);
			return Ok(());
		}
		Self::draw_next_validator(id, check);
		Ok(())
	}

	/// Replaces the check's validator by a fresh one; without one, or after
	/// [`MAX_AVAILABILITY_DRAWS`], the check closes undecided.
	fn draw_next_validator(id: u64, mut check: AvailabilityCheck<BlockNumberFor<T>>) {
		let drawn = check.earlier.try_push(check.validator).is_ok()
			&& (check.earlier.len() as u32) < MAX_AVAILABILITY_DRAWS
			&& Self::seat_validator(id, &mut check).is_ok();
		if drawn {
			AvailabilityChecks::<T>::insert(id, check);
			return;
		}
		Self::close_availability_check(id, &check);
		Self::return_bond(id);
		Self::deposit_event(Event::AvailabilityUndecided { check: id });
	}

	/// [`AVAILABILITY_QUORUM`] validators could not get the content: the node is at fault.
	fn content_lost(id: u64, check: &AvailabilityCheck<BlockNumberFor<T>>) {
		Self::close_availability_check(id, check);
		Self::return_bond(id);
		let key = (check.job, check.node, check.checkpoint);
		// A check asked for late in the retention may close after the job was pruned: the
		// node is still at fault, but nothing is stored for a job that is gone.
		if Jobs::<T>::contains_key(check.job) {
			LostContent::<T>::insert(key, ());
		}
		let share = match T::Reputation::tier(check.node) {
			TrustTier::Excellent => Perbill::from_percent(1),
			TrustTier::Trusted => Perbill::from_rational(15u32, 1_000),
			TrustTier::Developing => Perbill::from_percent(2),
			TrustTier::New => Perbill::from_percent(3),
		};
		let slashed = T::Slasher::slash(check.node, SlashReason::DataUnavailable(share), None)
			.unwrap_or_else(|_| Zero::zero());
		Self::unpay_lost_checkpoint(check.job, check.node, check.checkpoint);
		Self::deposit_event(Event::AvailabilityFailed { check: id, node: check.node, slashed });
	}

	/// What the treasury pays `validator`'s owner for a proof: the fee, or nothing if the
	/// treasury cannot pay it.
	fn pay_availability_fee(validator: NodeId) -> BalanceOf<T> {
		let fee = T::AvailabilityFee::get();
		let paid = T::Nodes::owner(validator).is_some_and(|owner| {
			T::Currency::transfer(&T::Treasury::get(), &owner, fee, Preservation::Preserve).is_ok()
		});
		if paid {
			fee
		} else {
			log::warn!(target: LOG_TARGET, "validator {validator}: no availability fee paid");
			Zero::zero()
		}
	}

	/// Gives the bond of check `id` to `node`'s owner, whose content was proven.
	fn forfeit_bond(id: u64, challenger: &T::AccountId, bond: BalanceOf<T>, node: NodeId) {
		let reason = HoldReason::AvailabilityBond.into();
		let moved = T::Nodes::owner(node).map(|owner| {
			T::Currency::transfer_on_hold(
				&reason,
				challenger,
				&owner,
				bond,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Polite,
			)
		});
		if !matches!(moved, Some(Ok(_))) {
			// A node deregistered meanwhile has nobody to pay: the asker keeps the bond.
			let _ = T::Currency::release(&reason, challenger, bond, Precision::BestEffort);
			log::debug!(target: LOG_TARGET, "check {id}: the bond went back, node {node} has no owner");
		}
	}

	fn return_bond(id: u64) {
		if let Some((challenger, bond)) = AvailabilityBonds::<T>::take(id) {
			let reason = HoldReason::AvailabilityBond.into();
			let _ = T::Currency::release(&reason, &challenger, bond, Precision::BestEffort);
		}
	}

	/// Clears up to `limit` of the records of `job`'s content found missing. Whether none is
	/// left.
	pub(crate) fn clear_lost_content(job: JobId, limit: u32) -> bool {
		LostContent::<T>::clear_prefix((job,), limit, None).maybe_cursor.is_none()
	}

	fn close_availability_check(id: u64, check: &AvailabilityCheck<BlockNumberFor<T>>) {
		AvailabilityChecks::<T>::remove(id);
		CheckOf::<T>::remove((check.job, check.node, check.checkpoint));
		AvailabilityDuties::<T>::remove(check.validator, id);
		OpenChecks::<T>::mutate_exists(check.node, |open| {
			*open = open.and_then(|open| open.checked_sub(1)).filter(|open| *open > 0);
		});
	}

	/// Invariants of availability checks: each node's open-check count is its checks', every
	/// bond belongs to an open check and the askers' holds are their bonds, every open
	/// check is scheduled to expire after its window and is its validator's duty, and lost
	/// content is recorded only for stored jobs.
	#[cfg(any(feature = "try-runtime", feature = "invariants", test))]
	pub(crate) fn availability_invariants() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError>
	{
		use alloc::collections::BTreeMap;
		use polkadot_sdk::frame_support::traits::fungible::InspectHold;
		let mut open: BTreeMap<NodeId, u32> = BTreeMap::new();
		for (id, check) in AvailabilityChecks::<T>::iter() {
			*open.entry(check.node).or_default() += 1;
			ensure!(
				AvailabilityDue::<T>::get(check.deadline.saturating_add(1u32.into())).contains(&id),
				"an open availability check with nothing scheduled"
			);
			ensure!(
				AvailabilityDuties::<T>::contains_key(check.validator, id),
				"an open check its validator does not know of"
			);
			ensure!(
				CheckOf::<T>::get((check.job, check.node, check.checkpoint)) == Some(id),
				"an open check not indexed by its content"
			);
		}
		ensure!(
			OpenChecks::<T>::iter().collect::<BTreeMap<_, _>>() == open,
			"a node's open-check count is not its checks'"
		);
		for (job, _, _) in LostContent::<T>::iter_keys() {
			ensure!(Jobs::<T>::contains_key(job), "lost content recorded for a job that is gone");
		}
		let mut bonds: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (id, (challenger, bond)) in AvailabilityBonds::<T>::iter() {
			ensure!(AvailabilityChecks::<T>::contains_key(id), "a bond of a closed check");
			let entry = bonds.entry(challenger).or_insert_with(Zero::zero);
			*entry = entry.saturating_add(bond);
		}
		for (challenger, bond) in bonds {
			let reason = HoldReason::AvailabilityBond.into();
			ensure!(
				T::Currency::balance_on_hold(&reason, &challenger) == bond,
				"an asker's hold is not their availability bonds"
			);
		}
		Ok(())
	}

	/// Checks whose validator said nothing in its window: it loses stake, and another is
	/// drawn; as far as `meter` pays, the rest left for the next block. Whether the block's
	/// list is done.
	pub(crate) fn expire_availability_checks(
		now: BlockNumberFor<T>,
		meter: &mut WeightMeter,
	) -> bool {
		meter.consume(T::DbWeight::get().reads_writes(1, 1));
		let mut due = AvailabilityDue::<T>::take(now).into_iter();
		let bound = T::WeightInfo::availability_expired();
		while let Some(id) = due.next() {
			if !meter.can_consume(bound) {
				// Only entries taken from this very list go back: they fit.
				let rest = core::iter::once(id).chain(due).collect();
				AvailabilityDue::<T>::insert(now, BoundedVec::truncate_from(rest));
				return false;
			}
			meter.consume(T::DbWeight::get().reads(1));
			let Some(check) = AvailabilityChecks::<T>::get(id) else { continue };
			if check.deadline.saturating_add(1u32.into()) != now {
				// Reported in time; this entry is of an earlier validator's window.
				continue;
			}
			meter.consume(bound);
			let validator = check.validator;
			AvailabilityDuties::<T>::remove(validator, id);
			let reason = SlashReason::MissedVerdict(T::MissedVerdictSlash::get());
			let slashed =
				T::Slasher::slash(validator, reason, None).unwrap_or_else(|_| Zero::zero());
			T::Reputation::report(validator, Outcome::JobFailed);
			Self::deposit_event(Event::AvailabilityReportMissed { check: id, validator, slashed });
			Self::draw_next_validator(id, check);
		}
		true
	}
}

#[cfg(test)]
mod tests;
