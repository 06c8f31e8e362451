//! The runtime API through which clients read reputation.

use polkadot_sdk::sp_api;
use tessera_primitives::NodeId;

use crate::ReputationView;

sp_api::decl_runtime_apis! {
	/// Read access to nodes' reputation as of the best block: the seven dimensions, the
	/// score, the tier, the history, the spot-check rate and the reward multiplier.
	pub trait ReputationApi {
		/// The reputation of `node`, decayed to the current block, if it is registered.
		fn reputation(node: NodeId) -> Option<ReputationView>;
	}
}
