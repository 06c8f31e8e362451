//! A job as the chain keeps it, and what its replicas sign.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_core::H256;
use scale_info::TypeInfo;
use tessera_primitives::{CommitmentPayload, JobId, JobSpec, JobState, NodeId};

/// A job: what it asks for, who pays, and where it is.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct JobInfo<AccountId, Balance, BlockNumber> {
	/// Who posted it and holds its budget.
	pub requester: AccountId,
	/// What to train.
	pub spec: JobSpec,
	/// The budget, held from the requester until the job ends.
	pub budget: Balance,
	/// Replicas that train it.
	pub redundancy: u8,
	/// After this block, missing work counts as not delivered.
	pub deadline: BlockNumber,
	/// Where it is.
	pub state: JobState,
	/// When it was posted.
	pub created: BlockNumber,
	/// When its replicas were chosen.
	pub assigned: Option<BlockNumber>,
	/// Checkpoints every replica commits, the last one final.
	pub checkpoints: u32,
	/// The agreed result, once a majority agreed.
	pub result: Option<AgreedResult<BlockNumber>>,
}

/// What a majority of replicas agreed on.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct AgreedResult<BlockNumber> {
	/// The final weights digest.
	pub weights_digest: H256,
	/// The final training state.
	pub state_cid: tessera_primitives::Cid,
	/// Until this block anyone may challenge.
	pub challenge_ends: BlockNumber,
}

/// A commitment to a checkpoint: the hash a replica publishes before its payload.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Commit {
	/// The job.
	pub job: JobId,
	/// The checkpoint's index.
	pub checkpoint: u32,
	/// The replica.
	pub node: NodeId,
	/// `commitment_hash(payload, node, salt)`.
	pub hash: H256,
}

/// A reveal: the payload and the salt that open a commit.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Reveal {
	/// What the replica computed.
	pub payload: CommitmentPayload,
	/// The secret the commit was salted with.
	pub salt: [u8; 32],
}

/// Domain separators of what node keys sign for this pallet, so that no signature made for
/// one purpose passes for another.
pub const COMMIT_CONTEXT: &[u8] = b"tessera/poc-commit";
/// See [`COMMIT_CONTEXT`].
pub const REVEAL_CONTEXT: &[u8] = b"tessera/poc-reveal";

/// The bytes a node key signs to commit.
pub fn commit_message(commit: &Commit) -> alloc::vec::Vec<u8> {
	(COMMIT_CONTEXT, commit).encode()
}

/// The bytes a node key signs to reveal.
pub fn reveal_message(reveal: &Reveal) -> alloc::vec::Vec<u8> {
	(REVEAL_CONTEXT, reveal).encode()
}

/// Checkpoints of a job of `steps` steps committing every `every` steps; `None` when the
/// interval is zero.
pub fn checkpoint_count(steps: u32, every: u32) -> Option<u32> {
	(every > 0).then(|| steps.div_ceil(every))
}
