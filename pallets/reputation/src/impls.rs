//! How reports move a record, how a record is read at a block, and the cross-pallet traits.

use crate::{
	pallet::*,
	types::{
		BasisPoints, Dimensions, Reputation, ReputationView, MAX_BASIS_POINTS, NEUTRAL_BASIS_POINTS,
	},
	ReputationOf, WeightInfo,
};
use codec::Encode;
use polkadot_sdk::{
	frame_support::traits::{Get, Randomness},
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_io::hashing::blake2_256,
	sp_runtime::{
		traits::{Saturating, UniqueSaturatedInto, Zero},
		DispatchResult, FixedPointNumber, FixedU128, Permill, Weight,
	},
};
use tessera_primitives::{
	JobId, NodeId, NodeInspect, Outcome, ReputationInspect, ReputationSink, SlashReason, TrustTier,
};

/// Mixed into the spot-check randomness so that other draws from the same source differ.
const SPOT_CHECK_SUBJECT: &[u8] = b"tessera/spot-check";

impl<T: Config> Pallet<T> {
	/// The node's reputation as of the current block, as clients see it; `None` for a node
	/// that is not registered.
	pub fn view(node: NodeId) -> Option<ReputationView> {
		T::Nodes::owner(node)?;
		Some(Self::current(node))
	}

	/// The reputation of `node` as of the current block; neutral for a node never reported
	/// on.
	fn current(node: NodeId) -> ReputationView {
		let now = frame_system::Pallet::<T>::block_number();
		let reputation = Self::advanced(node, now);
		let dimensions = Self::dimensions(&Self::effective(&reputation, now), now);
		let score = dimensions.score();
		let tiers = T::Tiers::get();
		let tier = tiers.tier_of(score, reputation.verified);
		let rule = tiers.rule(tier);
		ReputationView {
			dimensions,
			score,
			tier,
			verified: reputation.verified,
			spot_check_rate: Self::rate_of(rule.spot_check_factor),
			reward_multiplier: rule.reward_multiplier,
		}
	}

	/// `factor` times the base spot-check rate, at most 100%.
	fn rate_of(factor: FixedU128) -> Permill {
		let parts = factor.saturating_mul_int(SpotCheckBase::<T>::get().deconstruct());
		Permill::from_parts(parts.min(Permill::one().deconstruct()))
	}

	/// The record of `node` with everything that happened by itself since it was stored:
	/// slash-free epochs credited and violations outside the window dropped. Decay is not
	/// applied: it counts from the last work outcome, which only [`Self::effective`] and
	/// work reports may move.
	fn advanced(node: NodeId, now: BlockNumberFor<T>) -> ReputationOf<T> {
		let mut reputation = ReputationOfNode::<T>::get(node)
			.unwrap_or_else(|| Reputation::neutral(now, T::PriorSamples::get()));
		let epoch = T::EpochLength::get();
		let epochs = now.saturating_sub(reputation.epoch_start) / epoch;
		if !epochs.is_zero() {
			let count: u32 = epochs.unique_saturated_into();
			reputation.slash_free.observe(MAX_BASIS_POINTS, count, T::MemoryLength::get());
			reputation.epoch_start = reputation.epoch_start.saturating_add(epochs * epoch);
		}
		let window = T::ViolationWindow::get();
		reputation.violations.retain(|at| now.saturating_sub(*at) < window);
		reputation
	}

	/// `reputation` with decay applied up to `now`: every positive dimension moves towards
	/// neutral by the share [`Config::Decay`] sets for the time since the last work outcome.
	fn effective(reputation: &ReputationOf<T>, now: BlockNumberFor<T>) -> ReputationOf<T> {
		let mut decayed = reputation.clone();
		let rule = T::Decay::get();
		let idle = now.saturating_sub(reputation.last_work);
		if idle <= rule.grace {
			return decayed;
		}
		let steps: u32 = ((idle - rule.grace) / rule.step).unique_saturated_into();
		let lost = Permill::from_parts(rule.per_step.deconstruct().saturating_mul(steps));
		let kept = (Permill::one() - lost).max(rule.floor);
		for mean in decayed.positive_means() {
			let value = mean.value();
			let distance = kept * u32::from(value.abs_diff(NEUTRAL_BASIS_POINTS));
			// `distance` is at most the original one, so the result stays within 0..=100%.
			let moved = if value >= NEUTRAL_BASIS_POINTS {
				u32::from(NEUTRAL_BASIS_POINTS) + distance
			} else {
				u32::from(NEUTRAL_BASIS_POINTS) - distance
			};
			mean.set_value(moved as BasisPoints);
		}
		decayed
	}

	/// The seven dimensions of `reputation` at `now`.
	pub fn dimensions(reputation: &ReputationOf<T>, now: BlockNumberFor<T>) -> Dimensions {
		let window = T::ViolationWindow::get();
		let recent =
			reputation.violations.iter().filter(|at| now.saturating_sub(**at) < window).count()
				as u32;
		let penalty = T::ViolationPenalty::get().deconstruct().saturating_mul(recent);
		Dimensions {
			uptime: reputation.uptime.value(),
			proof_success: reputation.proof_success.value(),
			bandwidth: reputation.bandwidth.value(),
			lineage: reputation.lineage.value(),
			slash_free: reputation.slash_free.value(),
			completion: reputation.completion.value(),
			violations: (penalty / 100).min(u32::from(MAX_BASIS_POINTS)) as BasisPoints,
		}
	}

	/// The score and tier of `reputation` at `now`, decay included.
	fn standing(reputation: &ReputationOf<T>, now: BlockNumberFor<T>) -> (Permill, TrustTier) {
		let score = Self::dimensions(&Self::effective(reputation, now), now).score();
		(score, T::Tiers::get().tier_of(score, reputation.verified))
	}

	/// Applies `change` to the record of `node` and stores it. A change that comes from work
	/// first fixes decay into the record and restarts its clock. Emits
	/// [`Event::TierChanged`] if the tier moved; returns the score afterwards.
	fn change(
		node: NodeId,
		is_work: bool,
		change: impl FnOnce(&mut ReputationOf<T>, BlockNumberFor<T>),
	) -> Permill {
		let now = frame_system::Pallet::<T>::block_number();
		let mut reputation = Self::advanced(node, now);
		let (_, tier_before) = Self::standing(&reputation, now);
		if is_work {
			reputation = Self::effective(&reputation, now);
			reputation.last_work = now;
		}
		change(&mut reputation, now);
		let (score, tier) = Self::standing(&reputation, now);
		ReputationOfNode::<T>::insert(node, reputation);
		if tier != tier_before {
			Self::deposit_event(Event::TierChanged { node, from: tier_before, to: tier });
		}
		score
	}

	/// The bandwidth dimension a transfer of `bytes` in `millis` earns.
	fn bandwidth_points(bytes: u64, millis: u32) -> BasisPoints {
		if bytes == 0 {
			return 0;
		}
		if millis == 0 {
			return MAX_BASIS_POINTS;
		}
		let bytes_per_second = u128::from(bytes) * 1_000 / u128::from(millis);
		let points = bytes_per_second * u128::from(MAX_BASIS_POINTS)
			/ u128::from(T::ReferenceBandwidth::get().max(1));
		points.min(u128::from(MAX_BASIS_POINTS)) as BasisPoints
	}

	pub(crate) fn do_report(node: NodeId, outcome: Outcome) {
		if T::Nodes::owner(node).is_none() {
			return;
		}
		let memory = T::MemoryLength::get();
		let is_work = !matches!(outcome, Outcome::HeartbeatKept | Outcome::HeartbeatMissed);
		let score = Self::change(node, is_work, |reputation, _| match outcome {
			Outcome::HeartbeatKept => reputation.uptime.observe(MAX_BASIS_POINTS, 1, memory),
			Outcome::HeartbeatMissed => reputation.uptime.observe(0, 1, memory),
			Outcome::JobCompleted => reputation.completion.observe(MAX_BASIS_POINTS, 1, memory),
			Outcome::JobFailed => reputation.completion.observe(0, 1, memory),
			Outcome::ProofPassed => {
				reputation.proof_success.observe(MAX_BASIS_POINTS, 1, memory);
				reputation.verified = reputation.verified.saturating_add(1);
			}
			Outcome::ProofFailed => reputation.proof_success.observe(0, 1, memory),
			Outcome::LineageContribution => reputation.lineage.observe(MAX_BASIS_POINTS, 1, memory),
			Outcome::BandwidthMeasured { bytes, millis } => {
				reputation.bandwidth.observe(Self::bandwidth_points(bytes, millis), 1, memory)
			}
		});
		Self::deposit_event(Event::ReputationChanged { node, outcome, score });
	}

	pub(crate) fn do_slashed(node: NodeId, reason: SlashReason) {
		if T::Nodes::owner(node).is_none() {
			return;
		}
		let prior = T::PriorSamples::get();
		let memory = T::MemoryLength::get();
		let score = Self::change(node, true, |reputation, now| {
			match reason {
				SlashReason::FailedVerification
				| SlashReason::ForgedResult
				| SlashReason::TrapFailure => {
					let violations = core::mem::take(&mut reputation.violations);
					*reputation = Reputation::zeroed(now, prior, reputation.verified);
					reputation.violations = violations;
				}
				SlashReason::DataUnavailable(_) => {
					let kept = Permill::one() - T::DataFaultPenalty::get();
					for mean in reputation.positive_means() {
						mean.set_value((kept * u32::from(mean.value())) as BasisPoints);
					}
				}
				SlashReason::AbandonedJob(_)
				| SlashReason::MissedHeartbeats
				| SlashReason::MissedVerdict(_) => {}
			}
			reputation.slash_free.observe(0, 1, memory);
			reputation.epoch_start = now;
			if reputation.violations.is_full() {
				reputation.violations.remove(0);
			}
			// Room was made above, so the push cannot fail.
			let _ = reputation.violations.try_push(now);
		});
		Self::deposit_event(Event::SlashRecorded { node, reason, score });
	}

	pub(crate) fn do_forget(node: NodeId) {
		if ReputationOfNode::<T>::take(node).is_some() {
			Self::deposit_event(Event::ReputationForgotten { node });
		}
	}

	pub(crate) fn do_force_reset(node: NodeId) -> DispatchResult {
		T::Nodes::owner(node).ok_or(Error::<T>::UnknownNode)?;
		let now = frame_system::Pallet::<T>::block_number();
		let (_, tier_before) = Self::standing(&Self::advanced(node, now), now);
		let neutral = Reputation::neutral(now, T::PriorSamples::get());
		let (_, tier) = Self::standing(&neutral, now);
		ReputationOfNode::<T>::insert(node, neutral);
		Self::deposit_event(Event::ReputationReset { node });
		if tier != tier_before {
			Self::deposit_event(Event::TierChanged { node, from: tier_before, to: tier });
		}
		Ok(())
	}

	/// The draw of [`ReputationInspect::should_spot_check`] for a node spot-checked at
	/// `rate`: `blake2_256(node, job, randomness)`, its first eight bytes read as a
	/// little-endian integer, modulo 10 000, against the rate in basis points. The modulo
	/// bias of a 64-bit value is below 10⁻¹⁵.
	pub fn draw(node: NodeId, job: JobId, rate: Permill) -> bool {
		let (randomness, _) = T::Randomness::random(SPOT_CHECK_SUBJECT);
		let digest = blake2_256(&(node, job, randomness).encode());
		let mut head = [0u8; 8];
		head.copy_from_slice(&digest[..8]);
		let roll = u64::from_le_bytes(head) % u64::from(MAX_BASIS_POINTS);
		roll < u64::from(rate.deconstruct() / 100)
	}

	/// Checks the pallet's storage.
	///
	/// # Invariants
	///
	/// - Every record belongs to a registered node.
	/// - No dimension holds more than [`Config::MemoryLength`] samples, nor a mean above
	///   100%.
	/// - Violations are in block order and none lies in the future; the decay clock and the
	///   epoch in progress did not start in the future.
	#[cfg(any(test, feature = "try-runtime", feature = "invariants"))]
	pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
		use polkadot_sdk::frame_support::ensure;
		let now = frame_system::Pallet::<T>::block_number();
		let memory = T::MemoryLength::get();
		for (node, mut reputation) in ReputationOfNode::<T>::iter() {
			ensure!(T::Nodes::owner(node).is_some(), "reputation kept for an unregistered node");
			for mean in reputation.positive_means() {
				ensure!(mean.samples <= memory, "a dimension holds more samples than its memory");
				ensure!(
					mean.total <= u64::from(MAX_BASIS_POINTS) * u64::from(mean.samples),
					"a dimension's mean exceeds 100%"
				);
			}
			ensure!(
				reputation.violations.windows(2).all(|pair| pair[0] <= pair[1]),
				"violations out of block order"
			);
			ensure!(reputation.violations.iter().all(|at| *at <= now), "a violation in the future");
			ensure!(reputation.last_work <= now, "the decay clock starts in the future");
			ensure!(reputation.epoch_start <= now, "the slash-free epoch starts in the future");
		}
		Ok(())
	}
}

impl<T: Config> ReputationSink for Pallet<T> {
	fn report(node: NodeId, outcome: Outcome) {
		Self::do_report(node, outcome)
	}

	fn slashed(node: NodeId, reason: SlashReason) {
		Self::do_slashed(node, reason)
	}

	fn forget(node: NodeId) {
		Self::do_forget(node)
	}

	fn report_weight() -> Weight {
		T::WeightInfo::report()
	}

	fn slashed_weight() -> Weight {
		T::WeightInfo::slashed()
	}

	fn forget_weight() -> Weight {
		T::WeightInfo::forget()
	}
}

impl<T: Config> ReputationInspect for Pallet<T> {
	fn score(node: NodeId) -> Permill {
		Self::current(node).score
	}

	fn tier(node: NodeId) -> TrustTier {
		Self::current(node).tier
	}

	fn spot_check_rate(node: NodeId) -> Permill {
		Self::current(node).spot_check_rate
	}

	fn should_spot_check(node: NodeId, job: JobId) -> bool {
		Self::draw(node, job, Self::spot_check_rate(node))
	}

	fn reward_multiplier(node: NodeId) -> FixedU128 {
		Self::current(node).reward_multiplier
	}

	fn should_spot_check_weight() -> Weight {
		T::WeightInfo::should_spot_check()
	}
}
