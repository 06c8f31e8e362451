//! What one request may cost the trainer, checked before anything is allocated for it.
//!
//! A job or re-execution is measured against these bounds before it is accepted, in the
//! order its costs would arise: its hyper-parameters ([`MAX_STEPS`], [`MAX_CHECKPOINTS`],
//! [`crate::train::MAX_BATCH`]), then its data before the samples are built
//! ([`MAX_DATASET_VALUES`]), then its network before the weights are drawn
//! ([`crate::model::MAX_LAYERS`], [`crate::model::MAX_PARAMETERS`], the exact kernel's
//! product bound and [`MAX_ACTIVATIONS`]). Each bound is well above what a chain job of
//! Tessera's runtime asks for; a request above one is refused with an [`OverLimit`] that
//! names it.
//!
//! What passes is measured once more, as the bytes it will hold ([`footprint`]), which it
//! reserves from the trainer's memory budget (`api::capacity`) for as long as it runs: the
//! bounds above limit one request, the budget all of them together.

/// The most optimiser steps a job may have: four million. A job's losses are kept for a
/// segment at a time, 4 bytes each, and each step takes at least a forward and a backward
/// pass.
pub const MAX_STEPS: u64 = 1 << 22;
/// The most commitments a job may make, each a training state and a gradient saved in the
/// content store: 1 024, four times the chain's `MaxCheckpoints`.
pub const MAX_CHECKPOINTS: u64 = 1 << 10;
/// The most feature values a dataset may hold in memory: 2^24, 64 MiB of `f32`, with at
/// most as many labels again. A text's windows hold `(bytes − context) × context` of them,
/// so a short text with a long context is the costly case.
pub const MAX_DATASET_VALUES: usize = 1 << 24;
/// The most activations one training step may produce: 2^26 values, 256 MiB of `f32`, as
/// the batch size times the outputs of every matrix product of one sample's forward pass;
/// the backward pass holds about as much again.
pub const MAX_ACTIVATIONS: usize = 1 << 26;

/// Bytes of each value a run holds: features, labels, weights, gradients, moments,
/// activations and losses are all 32-bit.
const VALUE_BYTES: u64 = 4;
/// Copies of the weights a training run holds at once: the network's, their gradients, the
/// segment's start (for the delta root) and, at a checkpoint, the weights read out, their
/// deltas and the record saved.
pub const WEIGHT_COPIES: u64 = 6;
/// Further copies of the weights that Adam and AdamW hold: their two moments.
pub const MOMENT_COPIES: u64 = 2;
/// Copies of one step's activations: the forward pass's, kept for the backward pass, and
/// about as many again in the backward pass.
pub const ACTIVATION_COPIES: u64 = 2;

/// The bytes a run holds at most, as [`VALUE_BYTES`] for each copy of each 32-bit value it
/// holds: `held` lists value counts and how many copies of each are held at once.
///
/// Saturating: a count past `u64::MAX` bytes is more than any budget, and refused as such.
pub fn footprint(held: &[(usize, u64)]) -> u64 {
	held.iter().fold(0, |sum: u64, &(count, copies)| {
		let count = u64::try_from(count).unwrap_or(u64::MAX);
		sum.saturating_add(count.saturating_mul(copies).saturating_mul(VALUE_BYTES))
	})
}

/// A request that needs more than one of the bounds allows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
	"{what} ({}) is above this trainer's bound {bound} = {limit}",
	.requested.map_or("more than can be counted".into(), |n| n.to_string())
)]
pub struct OverLimit {
	/// The bound, by the name of its constant.
	pub bound: &'static str,
	/// What is measured against it.
	pub what: &'static str,
	/// How much the request needs; `None` when the count overflows.
	pub requested: Option<u128>,
	/// The bound's value.
	pub limit: u128,
}

impl OverLimit {
	/// Refuses `requested` (`None`: too much to count) above `limit`, the bound named `bound`.
	pub fn check(
		bound: &'static str,
		what: &'static str,
		requested: Option<u128>,
		limit: u128,
	) -> Result<(), Self> {
		match requested {
			Some(requested) if requested <= limit => Ok(()),
			_ => Err(Self { bound, what, requested, limit }),
		}
	}
}
