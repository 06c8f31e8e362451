//! What a training job asks for, as the model registry hands it to proof-of-compute.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
	sp_core::{ConstU32, H256},
	sp_runtime::BoundedVec,
};
use scale_info::TypeInfo;

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

/// What a finalized job produced.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct TrainedWeights {
	/// Where the new weights are.
	pub weights: Cid,
	/// Their digest.
	pub digest: H256,
}
