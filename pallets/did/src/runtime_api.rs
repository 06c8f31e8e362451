//! The runtime API through which clients resolve DIDs and read consent grants.

use alloc::vec::Vec;
use codec::{Codec, Decode, Encode};
use polkadot_sdk::sp_api;
use scale_info::TypeInfo;
use tessera_primitives::DidId;

use crate::{DidDocument, Grant};

/// A DID document with its controllers and metadata CID as plain vectors.
pub type DidRecord<AccountId, Balance, BlockNumber> =
	DidDocument<AccountId, Balance, BlockNumber, Vec<AccountId>, Vec<u8>>;

/// A consent grant with the keys it is stored under.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct GrantRecord<BlockNumber> {
	/// The dataset's CID.
	pub dataset: Vec<u8>,
	/// The DID that gave consent.
	pub grantor: DidId,
	/// The DID that may use the dataset.
	pub grantee: DidId,
	/// The grant.
	pub grant: Grant<BlockNumber, Vec<u8>>,
}

sp_api::decl_runtime_apis! {
	/// Read access to DIDs and consent.
	pub trait DidApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// The document of `did`, revoked ones included.
		fn resolve(did: DidId) -> Option<DidRecord<AccountId, Balance, BlockNumber>>;
		/// Every grant on the dataset with CID `dataset`.
		fn grants_for_dataset(dataset: Vec<u8>) -> Vec<GrantRecord<BlockNumber>>;
		/// Every grant to `grantee`.
		fn grants_to(grantee: DidId) -> Vec<GrantRecord<BlockNumber>>;
	}
}
