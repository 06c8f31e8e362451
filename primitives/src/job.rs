//! A training job: its identifier, what it asks for (as the model registry hands it to
//! proof-of-compute) and where it is in its life.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
	sp_core::{ConstU32, H256},
	sp_runtime::BoundedVec,
};
use scale_info::TypeInfo;

/// Identifies a training job; assigned by the proof-of-compute pallet in creation order.
pub type JobId = u64;

/// Where a job is in its life (SPEC §5).
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
pub enum JobState {
	/// Posted, budget held, waiting for trainers.
	Created,
	/// Trainers chosen.
	Assigned,
	/// Commitments are arriving.
	Running,
	/// Every final reveal is in, or the deadline passed: digests are being compared.
	Verifying,
	/// A majority agreed; the challenge window is open.
	Accepted,
	/// The window closed unchallenged: rewards paid, faults slashed.
	Finalized,
	/// Challenged, spot-checked or without a majority: awaiting re-execution.
	Disputed,
	/// A dispute was settled.
	Resolved,
	/// Ended without a result; the budget was refunded.
	Failed,
	/// Withdrawn before assignment; the budget was refunded.
	Cancelled,
}

impl JobState {
	/// Whether a job in this state is over: a state it never leaves.
	pub fn has_ended(self) -> bool {
		matches!(self, Self::Finalized | Self::Resolved | Self::Failed | Self::Cancelled)
	}
}

/// The learning rate's type, for those who build a [`HyperParameters`].
pub use polkadot_sdk::sp_runtime::Perbill;

/// Bytes in a CID anywhere a CID crosses pallets: a CIDv1 with a 64-byte digest is 68.
pub const MAX_CID_LEN: u32 = 96;
/// Inline texts a job may carry (for the character-level text model).
pub const MAX_TEXTS: u32 = 8;
/// Hidden layers an MLP job may have; the trainer takes no more.
pub const MAX_HIDDEN_LAYERS: u32 = 16;
/// Bytes in one inline text.
pub const MAX_TEXT_LEN: u32 = 4_096;

/// A content identifier, as CIDv1 bytes.
pub type Cid = BoundedVec<u8, ConstU32<MAX_CID_LEN>>;
/// Texts carried inline by a job.
pub type InlineTexts = BoundedVec<BoundedVec<u8, ConstU32<MAX_TEXT_LEN>>, ConstU32<MAX_TEXTS>>;

/// Who may train on a dataset, as its owner decided when proposing it.
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
	Default,
	serde::Serialize,
	serde::Deserialize,
)]
pub enum DatasetConsent {
	/// Any trainer.
	#[default]
	Public,
	/// Only trainers linked to a DID the owner granted access to the dataset, while the
	/// grant lives.
	Granted,
}

/// Which kind of hardware may run a job. Only the CPU reference backend is bit-exact across
/// machines, so only its results can be verified by re-execution.
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
pub enum BackendClass {
	/// The trainer's deterministic CPU mode.
	CpuReference,
	/// A GPU backend; faster, and not reproducible bit for bit.
	Gpu,
}

/// How to train.
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
pub struct HyperParameters {
	/// The learning rate as a fraction, in parts per billion.
	pub learning_rate: Perbill,
	/// Samples per step.
	pub batch_size: u32,
	/// Optimiser steps in the job.
	pub steps: u32,
	/// Steps between two committed checkpoints.
	pub checkpoint_every: u32,
	/// Seeds initialisation and data order.
	pub seed: u64,
	/// How the weights follow their gradients.
	pub optimizer: Optimizer,
}

/// How a job's weights follow their gradients at each step, with learning rate `η`.
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
	Default,
)]
pub enum Optimizer {
	/// Stochastic gradient descent: `w ← w − η·g`.
	#[default]
	Sgd,
	/// Adam with bias correction; its weight decay is added to the gradient (`g + λ·w`,
	/// L2 regularisation).
	Adam(AdamParameters),
	/// AdamW: Adam whose weight decay shrinks the weights apart from the gradient
	/// (`w ← w − η·λ·w`).
	AdamW(AdamParameters),
}

/// The constants of Adam and AdamW.
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
pub struct AdamParameters {
	/// β₁, how much of the running mean of the gradients each step keeps; below one.
	pub beta1: Perbill,
	/// β₂, how much of the running mean of the squared gradients each step keeps; below one.
	pub beta2: Perbill,
	/// ε, added to the root of that mean so that no step divides by zero; above zero.
	pub epsilon: Perbill,
	/// λ, the weight decay.
	pub weight_decay: Perbill,
}

impl Optimizer {
	/// Whether training with it is defined: Adam's bias correction divides by `1 − βᵗ`,
	/// which is zero for a β of one, and its step by `√v + ε`, zero for an ε of zero.
	pub fn is_valid(&self) -> bool {
		match self {
			Optimizer::Sgd => true,
			Optimizer::Adam(constants) | Optimizer::AdamW(constants) => {
				constants.beta1 < Perbill::one()
					&& constants.beta2 < Perbill::one()
					&& constants.epsilon > Perbill::from_parts(0)
			}
		}
	}
}

/// The network a job trains, as the trainer builds it (its `Architecture`).
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum Architecture {
	/// Fully connected layers with ReLU between them.
	Mlp {
		/// Widths of the hidden layers.
		hidden: BoundedVec<u32, ConstU32<MAX_HIDDEN_LAYERS>>,
	},
	/// Two 3×3 convolutions, each followed by ReLU and 2×2 max-pooling, then a linear
	/// classifier; for one-channel images whose sides are multiples of 4.
	Cnn {
		/// Output channels of the two convolutions.
		channels: [u32; 2],
	},
	/// A decoder-only transformer over bytes, for text.
	CharTransformer {
		/// Bytes of context.
		context: u32,
		/// The model width.
		width: u32,
		/// Transformer blocks.
		layers: u32,
	},
}

/// A training job: which weights to start from, which data, how, and on what.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct JobSpec {
	/// The network.
	pub architecture: Architecture,
	/// The training state training starts from; empty to start from weights drawn from the
	/// seed.
	pub base_weights: Cid,
	/// Their digest, as `digest` computes it.
	pub base_digest: H256,
	/// The dataset to train on.
	pub dataset: Cid,
	/// How to train.
	pub hyper_parameters: HyperParameters,
	/// Texts the job carries inline.
	pub texts: InlineTexts,
	/// The blake2-256 hash of the reference trainer build that results are checked against.
	pub trainer_build: H256,
	/// What hardware may run it.
	pub backend: BackendClass,
}

impl JobSpec {
	/// The state training starts from; `None` for weights drawn from the seed.
	pub fn base_state(&self) -> Option<TrainedWeights> {
		(!self.base_weights.is_empty()).then(|| TrainedWeights {
			weights: self.base_weights.clone(),
			digest: self.base_digest,
		})
	}
}

impl Architecture {
	/// Work units of one training step on one sample: the multiply-adds of the network's
	/// own layers, counted from the spec alone (the data's width is not on chain, so the
	/// layers that read the input and write the output count one unit per unit of width).
	/// For the transformer, the usual `12·width² + 2·context·width` per token and layer,
	/// over a context of tokens.
	pub fn work_per_sample(&self) -> u64 {
		let work = match self {
			Architecture::Mlp { hidden } => {
				let widths = hidden.iter().map(|width| u64::from(*width));
				let between = hidden
					.windows(2)
					.map(|pair| u64::from(pair[0]).saturating_mul(u64::from(pair[1])))
					.fold(0u64, u64::saturating_add);
				widths.fold(between, u64::saturating_add)
			}
			Architecture::Cnn { channels: [first, second] } => {
				let (first, second) = (u64::from(*first), u64::from(*second));
				9u64.saturating_mul(first)
					.saturating_add(9u64.saturating_mul(first).saturating_mul(second))
			}
			Architecture::CharTransformer { context, width, layers } => {
				let (context, width) = (u64::from(*context), u64::from(*width));
				let per_token = 12u64
					.saturating_mul(width)
					.saturating_mul(width)
					.saturating_add(2u64.saturating_mul(context).saturating_mul(width));
				per_token.saturating_mul(u64::from(*layers)).saturating_mul(context)
			}
		};
		work.max(1)
	}
}

/// What the chain counts and compares in a job's commitments, fixed from its spec at
/// posting: which backend class's results count, which steps each checkpoint trains and what
/// its work is worth. A few words, so that commits and reveals read these and never the spec,
/// whose texts and CIDs are a hundred times larger.
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
pub struct Workload {
	/// The spec's backend class: results of any other are not counted.
	pub backend: BackendClass,
	/// The spec's optimiser steps.
	pub steps: u32,
	/// The spec's steps between two committed checkpoints.
	pub checkpoint_every: u32,
	/// The spec's samples per step.
	pub batch_size: u32,
	/// The architecture's work units per sample ([`Architecture::work_per_sample`]).
	pub work_per_sample: u64,
}

impl Workload {
	/// The workload of `spec`.
	pub fn of(spec: &JobSpec) -> Self {
		let hyper = &spec.hyper_parameters;
		Workload {
			backend: spec.backend,
			steps: hyper.steps,
			checkpoint_every: hyper.checkpoint_every,
			batch_size: hyper.batch_size,
			work_per_sample: spec.architecture.work_per_sample(),
		}
	}

	/// The optimiser steps checkpoint `checkpoint` trains, from its first to the next
	/// checkpoint's: `checkpoint_every` of them, fewer for a last checkpoint cut short by
	/// `steps`, none past the end.
	pub fn steps_of_checkpoint(&self, checkpoint: u32) -> core::ops::Range<u64> {
		let (every, steps) = (u64::from(self.checkpoint_every), u64::from(self.steps));
		let start = u64::from(checkpoint).saturating_mul(every);
		start.min(steps)..start.saturating_add(every).min(steps)
	}

	/// Samples a full checkpoint trains on: `checkpoint_every` steps of `batch_size`.
	pub fn samples_per_checkpoint(&self) -> u64 {
		u64::from(self.checkpoint_every).saturating_mul(u64::from(self.batch_size))
	}

	/// Work units of training checkpoint `checkpoint`: its steps × batch size × the
	/// architecture's work per sample. What the chain pays for, computed from the spec
	/// alone, so that nobody's report of their own effort counts.
	pub fn work_of_checkpoint(&self, checkpoint: u32) -> u64 {
		work_of_steps(self.steps_of_checkpoint(checkpoint), self.batch_size, self.work_per_sample)
	}
}

/// Work units of training `steps` with `batch_size` samples a step, on an architecture of
/// `work_per_sample` ([`Architecture::work_per_sample`]): the one rule by which the chain pays
/// a checkpoint ([`Workload::work_of_checkpoint`]) and a trainer reports its run.
pub fn work_of_steps(steps: core::ops::Range<u64>, batch_size: u32, work_per_sample: u64) -> u64 {
	steps
		.end
		.saturating_sub(steps.start)
		.saturating_mul(u64::from(batch_size))
		.saturating_mul(work_per_sample)
}

/// A training state as the chain names it: what a finalized job produced, or a state that
/// training or re-execution starts from. The digest is the part a majority agreed on; a
/// trainer refuses content under the CID whose weights hash to anything else, so a state of
/// somebody's own making cannot pass for the agreed one.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct TrainedWeights {
	/// Where the weights are: the training state's CID.
	pub weights: Cid,
	/// Their digest, as `digest` computes it.
	pub digest: H256,
}

#[cfg(test)]
mod tests {
	use super::*;

	fn spec(architecture: Architecture, steps: u32) -> JobSpec {
		JobSpec {
			architecture,
			base_weights: Default::default(),
			base_digest: H256::zero(),
			dataset: Default::default(),
			hyper_parameters: HyperParameters {
				learning_rate: Perbill::from_percent(5),
				batch_size: 16,
				steps,
				checkpoint_every: 50,
				seed: 7,
				optimizer: Optimizer::Sgd,
			},
			texts: Default::default(),
			trainer_build: H256::zero(),
			backend: BackendClass::CpuReference,
		}
	}

	#[test]
	fn work_follows_steps_batch_and_layers_and_a_short_last_checkpoint_weighs_less() {
		let mlp = Architecture::Mlp { hidden: vec![16, 8].try_into().unwrap() };
		assert_eq!(mlp.work_per_sample(), 16 * 8 + 16 + 8);
		let job = Workload::of(&spec(mlp, 120));
		assert_eq!(job.work_of_checkpoint(0), 50 * 16 * 152);
		assert_eq!(job.steps_of_checkpoint(2), 100..120);
		assert_eq!(job.work_of_checkpoint(2), 20 * 16 * 152, "steps 100 to 120");
		assert_eq!(job.steps_of_checkpoint(3), 120..120);
		assert_eq!(job.work_of_checkpoint(3), 0, "past the end");

		let cnn = Architecture::Cnn { channels: [4, 8] };
		assert_eq!(cnn.work_per_sample(), 9 * 4 + 9 * 4 * 8);
		let transformer = Architecture::CharTransformer { context: 32, width: 64, layers: 2 };
		assert_eq!(transformer.work_per_sample(), (12 * 64 * 64 + 2 * 32 * 64) * 2 * 32);
	}

	#[test]
	fn work_saturates_instead_of_overflowing_and_is_never_zero_per_sample() {
		let huge = Architecture::CharTransformer { context: u32::MAX, width: u32::MAX, layers: 9 };
		assert_eq!(Workload::of(&spec(huge, u32::MAX)).work_of_checkpoint(0), u64::MAX);
		let empty = Architecture::Mlp { hidden: Default::default() };
		assert_eq!(empty.work_per_sample(), 1);
	}
}
