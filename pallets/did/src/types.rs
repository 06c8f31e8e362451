//! DID documents, the keys and signatures they use, DID-signed operations and grants.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
	sp_core::{ed25519, sr25519},
	sp_runtime::{traits::Verify, Perbill},
};
use scale_info::TypeInfo;
use tessera_primitives::{DidId, PrivacyBudget};

/// The key a DID authenticates with.
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
pub enum AuthKey {
	/// An sr25519 public key.
	Sr25519(sr25519::Public),
	/// An ed25519 public key.
	Ed25519(ed25519::Public),
}

impl AuthKey {
	/// The identifier of a DID created with this key.
	pub fn did(&self) -> DidId {
		DidId::from_initial_key(self.as_bytes())
	}

	/// The public key's bytes.
	pub fn as_bytes(&self) -> &[u8] {
		match self {
			Self::Sr25519(key) => key.as_ref(),
			Self::Ed25519(key) => key.as_ref(),
		}
	}

	/// Whether `signature` is this key's signature over `message`. A signature of the other
	/// scheme never verifies.
	pub fn verify(&self, message: &[u8], signature: &DidSignature) -> bool {
		match (self, signature) {
			(Self::Sr25519(key), DidSignature::Sr25519(signature)) => {
				signature.verify(message, key)
			}
			(Self::Ed25519(key), DidSignature::Ed25519(signature)) => {
				signature.verify(message, key)
			}
			_ => false,
		}
	}
}

/// A signature by a DID's auth key.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum DidSignature {
	/// An sr25519 signature.
	Sr25519(sr25519::Signature),
	/// An ed25519 signature.
	Ed25519(ed25519::Signature),
}

/// An x25519 public key that others encrypt data keys to.
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
pub struct EncryptionKey(pub [u8; 32]);

/// What the chain records about a DID. Generic over how the controller list and the CID are
/// held, so that clients get the same shape with plain vectors.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct DidDocument<AccountId, Balance, BlockNumber, Controllers, CidBytes> {
	/// Accounts that may act for the DID with signed extrinsics.
	pub controllers: Controllers,
	/// The key that signs the DID's own operations; rotation replaces it.
	pub auth_key: AuthKey,
	/// Where data keys for this DID are encrypted to.
	pub encryption_key: Option<EncryptionKey>,
	/// The CID of the DID's off-chain metadata.
	pub metadata: Option<CidBytes>,
	/// The account whose deposit pays for the DID's storage.
	pub depositor: AccountId,
	/// The deposit held from `depositor`; released when the DID is revoked.
	pub deposit: Balance,
	/// The nonce the DID's next change must carry; every change, by a controller or by the
	/// DID's key, uses one up.
	pub nonce: u64,
	/// When the DID was created.
	pub created: BlockNumber,
	/// When the document last changed.
	pub updated: BlockNumber,
	/// When the DID was revoked; a revoked DID can do nothing, for ever.
	pub revoked: Option<BlockNumber>,
}

/// Something a DID does, either through a controller's signed extrinsic or through an
/// operation signed by its auth key.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum DidAction<AccountId, BlockNumber, CidBytes> {
	/// Replaces the auth key, and the encryption key if one is given; the old auth key is
	/// refused from then on. `key_proof` is the new key's signature over
	/// [`rotation_message`], so that nobody rotates to a key they do not hold.
	RotateKeys {
		/// The new auth key.
		auth_key: AuthKey,
		/// The new key's signature over [`rotation_message`].
		key_proof: DidSignature,
		/// The new encryption key; `None` keeps the current one.
		encryption_key: Option<EncryptionKey>,
	},
	/// Sets or clears the metadata CID.
	SetMetadata {
		/// The new metadata CID.
		metadata: Option<CidBytes>,
	},
	/// Lets `account` act for the DID.
	AddController {
		/// The new controller.
		account: AccountId,
	},
	/// Stops `account` acting for the DID.
	RemoveController {
		/// The controller to remove.
		account: AccountId,
	},
	/// Revokes the DID for ever and releases its deposit.
	Revoke,
	/// Lets `grantee` use the dataset `dataset` until `expires_at`.
	GrantAccess {
		/// The dataset's CID.
		dataset: CidBytes,
		/// The DID that may use it.
		grantee: DidId,
		/// The first block at which the grant no longer holds.
		expires_at: BlockNumber,
		/// The CID of the dataset key, encrypted to the grantee's encryption key.
		encrypted_key: CidBytes,
	},
	/// Withdraws a grant this DID gave.
	RevokeAccess {
		/// The dataset's CID.
		dataset: CidBytes,
		/// The DID that may no longer use it.
		grantee: DidId,
	},
	/// Sets or clears the privacy budget of a grant this DID gave.
	SetPrivacyBudget {
		/// The dataset's CID.
		dataset: CidBytes,
		/// The DID the grant is to.
		grantee: DidId,
		/// The budget; `None` for no accounting.
		budget: Option<PrivacyBudget>,
	},
	/// Records, as the grantee, that this DID used a dataset under `grantor`'s grant.
	RecordAccess {
		/// The dataset's CID.
		dataset: CidBytes,
		/// The DID that granted access.
		grantor: DidId,
	},
}

/// An action signed by a DID's auth key, so the DID can act without an account or funds.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct DidOperation<AccountId, BlockNumber, CidBytes> {
	/// The DID acting.
	pub did: DidId,
	/// The DID's current nonce; each operation uses the next one, so none can be replayed.
	pub nonce: u64,
	/// What the DID does.
	pub action: DidAction<AccountId, BlockNumber, CidBytes>,
}

/// Consent a DID gave another DID to use a dataset.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Grant<BlockNumber, CidBytes> {
	/// When the grant was given.
	pub granted_at: BlockNumber,
	/// The first block at which the grant no longer holds.
	pub expires_at: BlockNumber,
	/// The CID of the dataset key, encrypted to the grantee's encryption key.
	pub encrypted_key: CidBytes,
	/// How many uses the grantee recorded.
	pub accesses: u32,
	/// The differential privacy all jobs under the grant may spend together; `None` for
	/// no accounting, which only jobs that declare no privacy need.
	pub budget: Option<PrivacyBudget>,
	/// The ε, in thousandths, jobs under the grant have spent; kept when the grant is
	/// renewed, since what was released stays released.
	pub spent_epsilon_milli: u32,
}

impl<BlockNumber, CidBytes> Grant<BlockNumber, CidBytes> {
	/// Whether what is left of the grant's privacy budget covers a job spending `spend`
	/// (ε in thousandths, for δ): always without a budget, never for a job that declares no
	/// privacy when there is one.
	pub fn covers(&self, spend: Option<(u32, Perbill)>) -> bool {
		match (self.budget, spend) {
			(None, _) => true,
			(Some(_), None) => false,
			(Some(budget), Some((epsilon_milli, delta))) => {
				delta <= budget.delta
					&& self.spent_epsilon_milli.saturating_add(epsilon_milli)
						<= budget.epsilon_milli
			}
		}
	}
}

/// What the creator of a DID signs with its auth key: the account that creates it.
pub fn creation_message<AccountId: Encode>(creator: &AccountId) -> alloc::vec::Vec<u8> {
	(b"tessera/did-create", creator).encode()
}

/// What a new auth key signs when a DID rotates to it: the DID and its current nonce, so
/// the proof cannot be reused for another DID or a later rotation.
pub fn rotation_message(did: &DidId, nonce: u64) -> alloc::vec::Vec<u8> {
	(b"tessera/did-rotate", did, nonce).encode()
}

/// What a DID's auth key signs for an operation: the operation bound to this chain's
/// genesis hash, so it cannot be replayed on another chain.
pub fn operation_message<Hash: Encode, Operation: Encode>(
	genesis: &Hash,
	operation: &Operation,
) -> alloc::vec::Vec<u8> {
	(b"tessera/did-operation", genesis, operation).encode()
}
