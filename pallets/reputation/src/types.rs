//! A node's reputation record, the dimensions read from it and the tier rules.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use core::fmt::Debug;
use polkadot_sdk::{
	frame_support::{
		traits::Get, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
	},
	sp_runtime::{FixedU128, Permill},
};
use scale_info::TypeInfo;
use tessera_primitives::TrustTier;

/// A share in basis points: 0 is none, [`MAX_BASIS_POINTS`] is all.
pub type BasisPoints = u16;

/// The largest value a dimension takes.
pub const MAX_BASIS_POINTS: BasisPoints = 10_000;

/// Where every dimension of a new node stands, and where decay pulls them back to.
pub const NEUTRAL_BASIS_POINTS: BasisPoints = 5_000;

/// A running mean of observations, each in basis points.
///
/// A mean starts from a few pseudo-observations (the *prior*), so that the first real one
/// moves it only part of the way, and holds at most a configured number of samples: older
/// samples are folded into fewer when it is full, keeping the mean, so that recent behaviour
/// weighs more than distant history and the totals stay bounded.
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
pub struct Mean {
	/// The sum of the samples, in basis points.
	pub total: u64,
	/// How many samples `total` sums.
	pub samples: u32,
}

impl Mean {
	/// `prior` pseudo-observations at `value`.
	pub fn starting_at(value: BasisPoints, prior: u32) -> Self {
		Self { total: u64::from(value) * u64::from(prior), samples: prior }
	}

	/// The mean, in basis points; neutral while there are no samples at all.
	pub fn value(&self) -> BasisPoints {
		if self.samples == 0 {
			return NEUTRAL_BASIS_POINTS;
		}
		let mean = self.total / u64::from(self.samples);
		mean.min(u64::from(MAX_BASIS_POINTS)) as BasisPoints
	}

	/// Adds `times` samples of `value`, folding older samples so that at most `memory`
	/// remain.
	pub fn observe(&mut self, value: BasisPoints, times: u32, memory: u32) {
		let added = times.min(memory);
		let kept = memory.saturating_sub(added);
		if self.samples > kept {
			self.total = scale(self.total, kept, self.samples);
			self.samples = kept;
		}
		self.total = self.total.saturating_add(u64::from(value) * u64::from(added));
		self.samples = self.samples.saturating_add(added);
	}

	/// Moves the mean to `value` without changing how many samples it weighs.
	pub fn set_value(&mut self, value: BasisPoints) {
		self.total = u64::from(value) * u64::from(self.samples);
	}
}

/// `value · numerator / denominator` without overflow; `denominator` is never zero here.
fn scale(value: u64, numerator: u32, denominator: u32) -> u64 {
	let scaled = u128::from(value) * u128::from(numerator) / u128::from(denominator.max(1));
	scaled as u64
}

/// Everything the chain remembers about one node's behaviour.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
)]
#[scale_info(skip_type_params(MaxViolations))]
pub struct Reputation<BlockNumber: Clone + Eq + Debug, MaxViolations: Get<u32>> {
	/// Heartbeats kept, out of those expected.
	pub uptime: Mean,
	/// Results verified, out of those checked.
	pub proof_success: Mean,
	/// Measured transfer rate against the reference bandwidth.
	pub bandwidth: Mean,
	/// Model versions the node helped produce.
	pub lineage: Mean,
	/// Epochs that passed without a slash, out of all epochs.
	pub slash_free: Mean,
	/// Jobs delivered, out of those assigned.
	pub completion: Mean,
	/// The blocks of the node's slashes that still count as violations, oldest first.
	pub violations: BoundedVec<BlockNumber, MaxViolations>,
	/// Verified contributions over the node's life: the history a tier asks for.
	pub verified: u32,
	/// The block of the node's last work outcome; decay counts from here.
	pub last_work: BlockNumber,
	/// Where the slash-free epoch in progress started.
	pub epoch_start: BlockNumber,
}

impl<BlockNumber: Copy + Eq + Debug, MaxViolations: Get<u32>>
	Reputation<BlockNumber, MaxViolations>
{
	/// A node nothing is known about yet: every dimension neutral, weighing `prior` samples.
	pub fn neutral(now: BlockNumber, prior: u32) -> Self {
		Self::starting_at(NEUTRAL_BASIS_POINTS, now, prior, 0)
	}

	/// A node whose record restarts from nothing, keeping its `verified` history.
	pub fn zeroed(now: BlockNumber, prior: u32, verified: u32) -> Self {
		Self::starting_at(0, now, prior, verified)
	}

	fn starting_at(value: BasisPoints, now: BlockNumber, prior: u32, verified: u32) -> Self {
		let mean = Mean::starting_at(value, prior);
		Self {
			uptime: mean,
			proof_success: mean,
			bandwidth: mean,
			lineage: mean,
			slash_free: mean,
			completion: mean,
			violations: BoundedVec::new(),
			verified,
			last_work: now,
			epoch_start: now,
		}
	}

	/// The six dimensions that count in favour of the node.
	pub fn positive_means(&mut self) -> [&mut Mean; 6] {
		[
			&mut self.uptime,
			&mut self.proof_success,
			&mut self.bandwidth,
			&mut self.lineage,
			&mut self.slash_free,
			&mut self.completion,
		]
	}
}

/// The seven dimensions of a node's reputation, each in basis points.
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
pub struct Dimensions {
	/// Heartbeats kept ÷ heartbeats expected.
	pub uptime: BasisPoints,
	/// Verified results ÷ checked results.
	pub proof_success: BasisPoints,
	/// Measured transfer rate ÷ reference bandwidth, capped at 100%.
	pub bandwidth: BasisPoints,
	/// Model versions helped produce.
	pub lineage: BasisPoints,
	/// Slash-free epochs ÷ epochs.
	pub slash_free: BasisPoints,
	/// Delivered jobs ÷ assigned jobs.
	pub completion: BasisPoints,
	/// The penalty of recent slashes, capped at 100%.
	pub violations: BasisPoints,
}

impl Dimensions {
	/// The weighted score: (30% uptime + 25% proof success + 15% bandwidth + 10% lineage
	/// + 10% slash-free + 10% completion) × (100% − violation penalty).
	///
	/// The weights are percentages and the dimensions basis points, so their products sum
	/// to parts per million: the score never exceeds 1 000 000 parts. It never decreases
	/// when a positive dimension increases, and never increases with the penalty.
	pub fn score(&self) -> Permill {
		let weighted = 30 * u32::from(self.uptime)
			+ 25 * u32::from(self.proof_success)
			+ 15 * u32::from(self.bandwidth)
			+ 10 * u32::from(self.lineage)
			+ 10 * u32::from(self.slash_free)
			+ 10 * u32::from(self.completion);
		let penalty = Permill::from_parts(u32::from(self.violations.min(MAX_BASIS_POINTS)) * 100);
		(Permill::one() - penalty) * Permill::from_parts(weighted)
	}
}

/// What a tier asks of a node, and what it gives.
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
pub struct TierRule {
	/// The least score of the tier.
	pub min_score: Permill,
	/// The least number of verified contributions of the tier.
	pub min_history: u32,
	/// How many times the base rate ([`crate::SpotCheckBase`]) of the node's results are
	/// spot-checked.
	pub spot_check_factor: FixedU128,
	/// The factor the node's rewards are multiplied by.
	pub reward_multiplier: FixedU128,
}

/// The rules of the four trust tiers. A node is in the highest tier whose score and history
/// it meets; [`TrustTier::New`] asks for nothing.
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
pub struct TierRules {
	/// Rules of [`TrustTier::Excellent`].
	pub excellent: TierRule,
	/// Rules of [`TrustTier::Trusted`].
	pub trusted: TierRule,
	/// Rules of [`TrustTier::Developing`].
	pub developing: TierRule,
	/// Rules of [`TrustTier::New`]; its thresholds are ignored.
	pub new: TierRule,
}

impl TierRules {
	/// The tier a node with `score` and `verified` contributions is in.
	pub fn tier_of(&self, score: Permill, verified: u32) -> TrustTier {
		let meets = |rule: &TierRule| score >= rule.min_score && verified >= rule.min_history;
		if meets(&self.excellent) {
			TrustTier::Excellent
		} else if meets(&self.trusted) {
			TrustTier::Trusted
		} else if meets(&self.developing) {
			TrustTier::Developing
		} else {
			TrustTier::New
		}
	}

	/// The rule of `tier`.
	pub fn rule(&self, tier: TrustTier) -> &TierRule {
		match tier {
			TrustTier::Excellent => &self.excellent,
			TrustTier::Trusted => &self.trusted,
			TrustTier::Developing => &self.developing,
			TrustTier::New => &self.new,
		}
	}

	/// Whether a higher tier never asks for less than a lower one.
	pub fn is_ordered(&self) -> bool {
		let ladder = [&self.developing, &self.trusted, &self.excellent];
		ladder.windows(2).all(|pair| {
			pair[0].min_score <= pair[1].min_score && pair[0].min_history <= pair[1].min_history
		})
	}
}

/// How reputation fades towards neutral while a node does no work.
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
pub struct DecayRule<BlockNumber> {
	/// Blocks without work before decay starts.
	pub grace: BlockNumber,
	/// Blocks per decay step.
	pub step: BlockNumber,
	/// The share of each dimension's distance from neutral that every step removes.
	pub per_step: Permill,
	/// The share of the distance from neutral that decay never removes.
	pub floor: Permill,
}

/// A node's reputation as clients see it.
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
pub struct ReputationView {
	/// The seven dimensions, decayed to the current block.
	pub dimensions: Dimensions,
	/// The weighted score.
	pub score: Permill,
	/// The tier the score and history earn.
	pub tier: TrustTier,
	/// Verified contributions over the node's life.
	pub verified: u32,
	/// The share of the node's results that are spot-checked.
	pub spot_check_rate: Permill,
	/// The factor the node's rewards are multiplied by.
	pub reward_multiplier: FixedU128,
}
