//! The records this pallet keeps and the payload a node signs to prove it is alive.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
	frame_support::{traits::ConstU32, BoundedVec},
	sp_core::H256,
};
use scale_info::TypeInfo;
use tessera_primitives::{
	Capabilities, NodeId, NodePublic, NodeRole, NodeSigned, NodeStatus, SigningContext,
};

/// A heartbeat period, counted from genesis: block `n` lies in period `n / HeartbeatPeriod`.
pub type PeriodIndex = u32;

/// The roles a node offers: at least one, each at most once. Records keep them in
/// ascending order.
pub type Roles = BoundedVec<NodeRole, ConstU32<4>>;

/// Everything the chain knows about a registered compute node.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct NodeInfo<AccountId, Balance, BlockNumber, Region> {
	/// The account that registered the node, holds its stake and receives its rewards.
	pub owner: AccountId,
	/// The key the node signs heartbeats and commitments with; unique across nodes.
	pub node_key: NodePublic,
	/// The kinds of work the node offers.
	pub roles: Roles,
	/// Where the node runs, as its operator describes it (for example `eu-west`).
	pub region: Region,
	/// The hardware the node offers.
	pub capabilities: Capabilities,
	/// blake2-256 of the node's latest hardware report (the trainer's `hwinfo` output).
	pub hw_hash: H256,
	/// The stake held for this node.
	pub stake: Balance,
	/// The deposit held for this node's records; never slashed, returned on removal.
	pub deposit: Balance,
	/// Whether the node gets work.
	pub status: NodeStatus<BlockNumber>,
	/// The block the node registered in.
	pub registered_at: BlockNumber,
	/// The period of the node's latest heartbeat.
	pub last_heartbeat: Option<PeriodIndex>,
	/// The last period whose heartbeat has been accounted for, kept or missed. Periods up
	/// to and including the one a node registers or is reactivated in are never held
	/// against it.
	pub accounted_through: PeriodIndex,
	/// Heartbeat periods missed in a row.
	pub missed_heartbeats: u32,
	/// Confirmed faults so far; the last one allowed costs the whole stake.
	pub offences: u32,
}

impl<AccountId, Balance, BlockNumber, Region> NodeInfo<AccountId, Balance, BlockNumber, Region> {
	/// Whether the node offers `role`.
	pub fn has_role(&self, role: NodeRole) -> bool {
		self.roles.binary_search(&role).is_ok()
	}

	/// The same record with its region converted by `convert`.
	pub fn map_region<R>(
		self,
		convert: impl FnOnce(Region) -> R,
	) -> NodeInfo<AccountId, Balance, BlockNumber, R> {
		NodeInfo {
			owner: self.owner,
			node_key: self.node_key,
			roles: self.roles,
			region: convert(self.region),
			capabilities: self.capabilities,
			hw_hash: self.hw_hash,
			stake: self.stake,
			deposit: self.deposit,
			status: self.status,
			registered_at: self.registered_at,
			last_heartbeat: self.last_heartbeat,
			accounted_through: self.accounted_through,
			missed_heartbeats: self.missed_heartbeats,
			offences: self.offences,
		}
	}
}

/// What a node signs with its node key to show it is alive.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Heartbeat<BlockNumber> {
	/// The node sending the heartbeat.
	pub node: NodeId,
	/// The period the heartbeat is for; only the current period is accepted.
	pub period: PeriodIndex,
	/// The block the off-chain worker saw when it signed.
	pub block: BlockNumber,
}

/// The heartbeat sweep in progress: which period it checks and where it stopped.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct Sweep {
	/// The finished period whose heartbeats are being checked.
	pub period: PeriodIndex,
	/// The last node checked, or `None` before the first.
	pub last: Option<NodeId>,
}

/// The message a node key signs to show it agrees to serve `owner` on the chain of
/// `genesis`: `tessera/node-key-ownership`, the genesis hash and the SCALE encoding of
/// `owner` (for a 32-byte account, its raw bytes), concatenated
/// ([`SigningContext::KeyOwnership`]).
pub fn key_ownership_message<Hash: Encode, AccountId: Encode>(
	genesis: &Hash,
	owner: &AccountId,
) -> alloc::vec::Vec<u8> {
	SigningContext::KeyOwnership.message(genesis, owner)
}

impl<BlockNumber: Encode> NodeSigned for Heartbeat<BlockNumber> {
	const CONTEXT: SigningContext = SigningContext::Heartbeat;
}
