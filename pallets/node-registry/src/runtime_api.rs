//! The runtime API through which clients read the registry.

use alloc::vec::Vec;
use codec::Codec;
use polkadot_sdk::sp_api;
use tessera_primitives::{NodeId, NodePublic};

use crate::NodeInfo;

/// A node's record with its region as plain bytes.
pub type NodeRecord<AccountId, Balance, BlockNumber> =
	NodeInfo<AccountId, Balance, BlockNumber, Vec<u8>>;

sp_api::decl_runtime_apis! {
	/// Read access to compute nodes: records (owner, roles, capabilities, stake, status,
	/// heartbeat accounting), the nodes an account runs, and the node a key belongs to.
	pub trait NodeRegistryApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// The record of `node`, if it is registered.
		fn node(node: NodeId) -> Option<NodeRecord<AccountId, Balance, BlockNumber>>;
		/// The nodes `owner` runs.
		fn nodes_of(owner: AccountId) -> Vec<NodeId>;
		/// The node `key` belongs to.
		fn node_of_key(key: NodePublic) -> Option<NodeId>;
	}
}
