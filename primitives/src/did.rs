//! Decentralised identifiers: `did:tessera:<base58 of blake2_256(initial auth key)>`.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_crypto_hashing::blake2_256;
use scale_info::TypeInfo;

/// The method part of every Tessera DID.
pub const DID_PREFIX: &str = "did:tessera:";

/// A DID's identifier: the blake2-256 hash of the auth key it was created with. Rotating
/// the key later does not change it.
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
	PartialOrd,
	Ord,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub struct DidId(pub [u8; 32]);

impl DidId {
	/// The identifier of a DID created with the auth key whose public bytes are `key`.
	pub fn from_initial_key(key: &[u8]) -> Self {
		Self(blake2_256(key))
	}

	/// The DID as a URI, `did:tessera:` followed by the base58 identifier.
	#[cfg(feature = "std")]
	pub fn to_uri(&self) -> String {
		format!("{DID_PREFIX}{}", bs58::encode(self.0).into_string())
	}

	/// Parses a URI made by [`Self::to_uri`].
	#[cfg(feature = "std")]
	pub fn from_uri(uri: &str) -> Option<Self> {
		let encoded = uri.strip_prefix(DID_PREFIX)?;
		let bytes = bs58::decode(encoded).into_vec().ok()?;
		Some(Self(bytes.try_into().ok()?))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_did_uri_round_trips_and_rejects_other_methods() {
		let did = DidId::from_initial_key(&[1; 32]);
		let uri = did.to_uri();
		assert!(uri.starts_with("did:tessera:"));
		assert_eq!(DidId::from_uri(&uri), Some(did));
		assert_eq!(DidId::from_uri(&uri.replace("tessera", "web")), None);
		assert_eq!(DidId::from_uri("did:tessera:0OIl"), None, "not base58");
		assert_eq!(DidId::from_uri("did:tessera:2g"), None, "not 32 bytes");
	}
}
