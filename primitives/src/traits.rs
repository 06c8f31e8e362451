//! Traits through which Tessera's pallets use each other, wired in the runtime.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_runtime::{DispatchError, Perbill};
use scale_info::TypeInfo;

use crate::{Capabilities, NodeId, NodePublic, NodeRole};

/// Read access to the node registry.
pub trait NodeInspect<AccountId, Balance> {
	/// Whether the node exists and gets new work.
	fn is_active(node: NodeId) -> bool;
	/// The account that registered the node and owns its stake.
	fn owner(node: NodeId) -> Option<AccountId>;
	/// Whether the node offers `role`.
	fn has_role(node: NodeId, role: NodeRole) -> bool;
	/// The capabilities the node declared.
	fn capabilities(node: NodeId) -> Option<Capabilities>;
	/// The key the node signs its heartbeats and commitments with.
	fn node_key(node: NodeId) -> Option<NodePublic>;
	/// The stake currently held for the node (zero for an unknown node).
	fn stake(node: NodeId) -> Balance;
}

/// A confirmed fault, and so how much of a node's stake it costs.
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
pub enum SlashReason {
	/// A result that re-execution or an unchallenged majority proved wrong.
	FailedVerification,
	/// Digests that no execution produces.
	ForgedResult,
	/// A wrong answer to a trap job; costs the whole stake and deactivates the node.
	TrapFailure,
	/// A job the node stopped working on; the caller sizes the share from the job budget.
	AbandonedJob(Perbill),
	/// Content behind a committed CID that the node did not serve in time; the caller
	/// sizes the share from the node's reputation tier.
	DataUnavailable(Perbill),
	/// Too many heartbeat periods missed in a row.
	MissedHeartbeats,
}

/// Takes stake from a node for a confirmed fault. Never called on a vote alone.
pub trait Slasher<AccountId, Balance> {
	/// Slashes `node` for `reason` and pays what was taken to `beneficiary`, or to the
	/// implementation's default account when `None`. Returns the amount actually taken,
	/// which is never more than the node's held stake.
	fn slash(
		node: NodeId,
		reason: SlashReason,
		beneficiary: Option<AccountId>,
	) -> Result<Balance, DispatchError>;
}

/// How much unfinished work a node has, so that it cannot leave in the middle of it.
pub trait NodeWorkload {
	/// The number of jobs the node is assigned to and that have not been finalized.
	fn open_jobs(node: NodeId) -> u32;
}

/// No pallet assigns work: every node is free to leave.
impl NodeWorkload for () {
	fn open_jobs(_: NodeId) -> u32 {
		0
	}
}
