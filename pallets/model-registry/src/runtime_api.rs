//! The runtime API through which clients read models, versions, proposals and datasets.

use alloc::vec::Vec;
use codec::Codec;
use polkadot_sdk::sp_api;

use crate::{Dataset, DatasetId, Model, ModelId, Proposal, ProposalId, Version, VersionIndex};

sp_api::decl_runtime_apis! {
	/// Read access to the model registry.
	pub trait ModelApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// The model `model`, if registered.
		fn model(model: ModelId) -> Option<Model<AccountId, Balance>>;
		/// The versions of `model`, oldest first, with their status as of the best block.
		fn versions(model: ModelId) -> Vec<(VersionIndex, Version<BlockNumber>)>;
		/// `version` of `model` and its ancestors back to the root, newest first.
		fn lineage(model: ModelId, version: VersionIndex) -> Vec<VersionIndex>;
		/// Proposals being voted on or training.
		fn open_proposals() -> Vec<(ProposalId, Proposal<AccountId, Balance, BlockNumber>)>;
		/// The approved datasets.
		fn datasets() -> Vec<(DatasetId, Dataset)>;
	}
}
