//! # DID Pallet
//!
//! Decentralised identifiers for the people and organisations that own data and models on
//! Tessera, and the consent they give others to use their data. In Tessera's runtime this
//! is pallet index 52; the figures in parentheses below are that runtime's settings.
//!
//! ## Overview
//!
//! A DID is `did:tessera:<base58 of blake2_256(initial auth key)>`. Its document records the
//! accounts that control it, its auth key (sr25519 or ed25519), an x25519 encryption key, a
//! metadata CID, when it was created and updated, and whether it was revoked. Creating a
//! DID ([`Pallet::create`]`(auth_key, key_proof, encryption_key, metadata)`) holds
//! [`Config::Deposit`] (1 TSRA) from the creator, who must prove it holds the auth key: the
//! key proof is the auth key's signature over `("tessera/did-create", creator account)`
//! SCALE-encoded ([`types::creation_message`]). Revoking it is permanent. The deposit pays
//! for the DID's grants too: a revoked DID's grants are removed in `on_idle`,
//! [`GRANT_REMOVAL_BATCH`] at a time as blocks have weight left over, and its deposit is
//! released once none is left (at once if it gave none).
//!
//! A DID acts in one of two ways:
//! - a **controller** sends a signed extrinsic naming the DID; or
//! - the DID's **auth key** signs a [`DidOperation`] (`{ did, nonce, action }`, bound to the
//!   chain's genesis hash) carrying the DID's nonce, and anyone submits it as an authorized
//!   (unsigned) transaction ([`Pallet::submit_operation`]), so the DID can act without an
//!   account or funds. A replayed or stale operation is refused before it reaches the pool.
//!   Such operations pay no transaction fee, so each DID gets at most one operation per
//!   block, and one that fails costs [`Config::FailedOperationFee`] (0.01 TSRA) of the
//!   DID's deposit (its nonce is used up either way); once the deposit cannot pay that, the
//!   pool refuses its operations.
//!
//! Every change uses up the DID's nonce, whichever way it came.
//!
//! Consent: a DID grants another DID access to a dataset CID until a block, with the CID of
//! the dataset key encrypted to the grantee; it can revoke the grant at any time, and the
//! grantee records each use. Every grant, revocation and recorded use is an event, so the
//! chain is the audit trail. Other pallets ask
//! [`ConsentInspect`](tessera_primitives::ConsentInspect) before they let a dataset
//! into new work. In Tessera, a dataset is proposed to the model registry with its consent
//! (`propose_dataset(…, owner_did, Public | Granted)`); a `Granted` dataset is trained only
//! by nodes whose owner linked them to a DID (the node registry's `link_did(node, did)`,
//! signed by a controller of the DID) that holds a live grant of it from the owner DID.
//! Each replica proof of compute draws for granted data is recorded in the grant
//! ([`Event::AccessRecorded`], counted in its `accesses`).
//!
//! A grantor may give a grant a privacy budget ([`Pallet::set_privacy_budget`]`(grantor,
//! dataset, grantee, { epsilon_milli, delta })`): a budgeted grant takes only private jobs
//! whose ε fits what is left, for a δ no larger than the budget's, and each job spends its ε
//! from the grant of every participant drawn to it ([`Event::PrivacySpent`] names the job).
//! Renewing the grant keeps what was spent; `DidApi::grants_for_dataset` shows it.
//!
//! ## What a DID here proves, and what it does not
//!
//! It proves control: that whoever acted held the DID's current auth key, or was one of its
//! controller accounts, at that block; rotation makes the old key useless at once. It does
//! not prove who is behind the DID — no real-world identity is checked — nor that the
//! metadata it points to is true, nor that a grantor owns the dataset it grants access to:
//! the pallet that registers datasets decides whose consent counts. A recorded access is
//! the grantee's own statement; the chain cannot see data being read.
//!
//! ## Interface
//!
//! ### For DID holders (signed by a controller)
//! - [`Pallet::create`], [`Pallet::rotate_keys`], [`Pallet::set_metadata`],
//!   [`Pallet::add_controller`], [`Pallet::remove_controller`], [`Pallet::revoke`].
//! - [`Pallet::grant_access`], [`Pallet::revoke_access`], [`Pallet::record_access`].
//!
//! ### For DIDs acting with their own key
//! - [`Pallet::submit_operation`]: an authorized call; see [`Pallet::authorize_operation`].
//!
//! ### For other pallets
//! - [`ConsentInspect`](tessera_primitives::ConsentInspect).
//!
//! ### For clients
//! - The runtime API [`runtime_api::DidApi`].

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod impls;
#[cfg(test)]
mod mock;
pub mod runtime_api;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use pallet::*;
pub use types::{
	AuthKey, DidAction, DidDocument, DidOperation, DidSignature, EncryptionKey, Grant,
};
pub use weights::WeightInfo;

use polkadot_sdk::{
	frame_support::{self, traits::fungible, BoundedVec},
	frame_system,
};
use tessera_primitives::{DidId, JobId, PrivacyBudget};

/// The balance type of the configured currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// A CID as this runtime bounds it.
pub type CidOf<T> = BoundedVec<u8, <T as Config>::MaxCidLen>;

/// A DID document as this runtime stores it.
pub type DidDocumentOf<T> = DidDocument<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	frame_system::pallet_prelude::BlockNumberFor<T>,
	BoundedVec<<T as frame_system::Config>::AccountId, <T as Config>::MaxControllers>,
	CidOf<T>,
>;

/// An action as this runtime bounds it.
pub type DidActionOf<T> = DidAction<
	<T as frame_system::Config>::AccountId,
	frame_system::pallet_prelude::BlockNumberFor<T>,
	CidOf<T>,
>;

/// A DID-signed operation as this runtime bounds it.
pub type DidOperationOf<T> = DidOperation<
	<T as frame_system::Config>::AccountId,
	frame_system::pallet_prelude::BlockNumberFor<T>,
	CidOf<T>,
>;

/// Grants of a revoked DID one removal step removes at most.
pub const GRANT_REMOVAL_BATCH: u32 = 16;

/// A grant as this runtime stores it.
pub type GrantOf<T> = Grant<frame_system::pallet_prelude::BlockNumberFor<T>, CidOf<T>>;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{pallet_prelude::*, traits::fungible::MutateHold};
	use frame_system::pallet_prelude::*;

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the DID pallet.
	///
	/// The runtime must include `frame_system::AuthorizeCall` in its transaction extensions,
	/// or DID-signed operations never reach a block.
	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency deposits are held in.
		type Currency: MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ fungible::Mutate<Self::AccountId>;

		/// The overarching hold reason, which includes this pallet's [`HoldReason`].
		type RuntimeHoldReason: From<HoldReason>;

		/// Held from a DID's creator until the DID is revoked. It pays for the document and
		/// for the [`Config::MaxGrantsPerDid`] grants the DID may give without funds.
		#[pallet::constant]
		type Deposit: Get<BalanceOf<Self>>;

		/// Controller accounts per DID.
		#[pallet::constant]
		type MaxControllers: Get<u32>;

		/// Bytes in a CID.
		#[pallet::constant]
		type MaxCidLen: Get<u32>;

		/// Grants one DID may have given at a time.
		#[pallet::constant]
		type MaxGrantsPerDid: Get<u32>;

		/// Blocks a DID-signed operation stays valid in the pool.
		#[pallet::constant]
		type OperationLongevity: Get<u64>;

		/// Pool priority of DID-signed operations.
		#[pallet::constant]
		type OperationPriority: Get<TransactionPriority>;

		/// What a DID-signed operation that fails costs the DID, out of its deposit: such
		/// operations pay no transaction fee, so a failure must not be free block space.
		#[pallet::constant]
		type FailedOperationFee: Get<BalanceOf<Self>>;

		/// Who receives the fees of failed operations (the treasury).
		type FeeBeneficiary: Get<Self::AccountId>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The deposit of a DID that has not been revoked.
		DidDeposit,
	}

	/// Every DID ever created, revoked ones included, so that no identifier is reused.
	///
	/// Hasher: identifiers are hashes of keys users choose, so a cryptographic hasher.
	#[pallet::storage]
	pub type Documents<T: Config> = StorageMap<_, Blake2_128Concat, DidId, DidDocumentOf<T>>;

	/// Consent grants by dataset, grantor and grantee.
	///
	/// Hasher: all three keys are chosen by users, so a cryptographic hasher.
	#[pallet::storage]
	pub type Grants<T: Config> = StorageNMap<
		_,
		(
			NMapKey<Blake2_128Concat, CidOf<T>>,
			NMapKey<Blake2_128Concat, DidId>,
			NMapKey<Blake2_128Concat, DidId>,
		),
		GrantOf<T>,
	>;

	/// The block of each live DID's last DID-signed operation: a DID gets one a block, so
	/// that one key cannot fill blocks with fee-less transactions.
	///
	/// Hasher: identifiers are hashes of keys users choose, so a cryptographic hasher.
	#[pallet::storage]
	pub type OperatedAt<T: Config> = StorageMap<_, Blake2_128Concat, DidId, BlockNumberFor<T>>;

	/// The grants each DID has given, by dataset and grantee: how a revoked DID's grants are
	/// found to be removed.
	///
	/// Hasher: identifiers and CIDs are chosen by users, so a cryptographic hasher.
	#[pallet::storage]
	pub type GrantsOf<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		DidId,
		Blake2_128Concat,
		(CidOf<T>, DidId),
		(),
		OptionQuery,
	>;

	/// Revoked DIDs whose grants are still stored: `on_idle` removes the grants and then
	/// releases the DID's deposit, which pays for them until then.
	///
	/// Hasher: identifiers are hashes of keys users choose, so a cryptographic hasher.
	#[pallet::storage]
	pub type RevokedWithGrants<T: Config> = StorageMap<_, Blake2_128Concat, DidId, ()>;

	/// How many grants each DID has given and not withdrawn.
	///
	/// Hasher: identifiers are hashes of keys users choose, so a cryptographic hasher.
	#[pallet::storage]
	pub type GrantCount<T: Config> = StorageMap<_, Blake2_128Concat, DidId, u32, ValueQuery>;

	/// Events of the DID pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A DID was created.
		DidCreated {
			/// The new DID.
			did: DidId,
			/// The account that created it and whose deposit is held.
			creator: T::AccountId,
		},
		/// A DID's keys were replaced.
		KeysRotated {
			/// The DID.
			did: DidId,
			/// Its new auth key.
			auth_key: AuthKey,
		},
		/// A DID's metadata CID was set or cleared.
		MetadataSet {
			/// The DID.
			did: DidId,
			/// The new metadata CID.
			metadata: Option<CidOf<T>>,
		},
		/// An account may now act for a DID.
		ControllerAdded {
			/// The DID.
			did: DidId,
			/// The new controller.
			account: T::AccountId,
		},
		/// An account may no longer act for a DID.
		ControllerRemoved {
			/// The DID.
			did: DidId,
			/// The removed controller.
			account: T::AccountId,
		},
		/// A DID was revoked for ever. Its deposit is released now if it gave no grants,
		/// otherwise once `on_idle` has removed them ([`Event::RevokedGrantsRemoved`]).
		DidRevoked {
			/// The DID.
			did: DidId,
		},
		/// Grants of a revoked DID were removed.
		RevokedGrantsRemoved {
			/// The revoked DID that gave them.
			did: DidId,
			/// How many were removed.
			removed: u32,
			/// How many are left to remove.
			left: u32,
		},
		/// The deposit of a revoked DID whose grants are all removed was released.
		DepositReleased {
			/// The revoked DID.
			did: DidId,
			/// The account the deposit went back to.
			depositor: T::AccountId,
			/// What was released.
			deposit: BalanceOf<T>,
		},
		/// A DID let another DID use a dataset.
		AccessGranted {
			/// The dataset's CID.
			dataset: CidOf<T>,
			/// The DID that gave consent.
			grantor: DidId,
			/// The DID that may use the dataset.
			grantee: DidId,
			/// The first block at which the grant no longer holds.
			expires_at: BlockNumberFor<T>,
		},
		/// A DID withdrew its consent.
		/// A grantor set or cleared the privacy budget of a grant.
		PrivacyBudgetSet {
			/// The dataset's CID.
			dataset: CidOf<T>,
			/// The DID that gave consent.
			grantor: DidId,
			/// The DID the grant is to.
			grantee: DidId,
			/// The budget; `None` for no accounting.
			budget: Option<PrivacyBudget>,
		},
		/// A private job under a grant spent part of its privacy budget.
		PrivacySpent {
			/// The job that spent it, drawn to the grantee's node.
			job: JobId,
			/// The dataset's CID.
			dataset: CidOf<T>,
			/// The DID that gave consent.
			grantor: DidId,
			/// The DID the grant is to, whose node trains the job.
			grantee: DidId,
			/// The ε the job spends, in thousandths.
			epsilon_milli: u32,
			/// The ε spent under the grant so far, in thousandths.
			spent_epsilon_milli: u32,
		},
		/// Consent to a dataset was withdrawn.
		AccessRevoked {
			/// The dataset's CID.
			dataset: CidOf<T>,
			/// The DID that gave consent.
			grantor: DidId,
			/// The DID that may no longer use the dataset.
			grantee: DidId,
		},
		/// A grantee recorded a use of a dataset.
		AccessRecorded {
			/// The dataset's CID.
			dataset: CidOf<T>,
			/// The DID that gave consent.
			grantor: DidId,
			/// The DID that used the dataset.
			grantee: DidId,
			/// The uses recorded under this grant so far.
			accesses: u32,
		},
		/// A DID-signed operation was included; its nonce is used up whatever the result.
		OperationApplied {
			/// The DID.
			did: DidId,
			/// The nonce it carried.
			nonce: u64,
			/// Whether the action succeeded, and why not.
			result: DispatchResult,
		},
		/// A DID-signed operation failed, and its fee was taken from the DID's deposit.
		FailedOperationCharged {
			/// The DID.
			did: DidId,
			/// What was taken.
			fee: BalanceOf<T>,
		},
	}

	/// Errors of the DID pallet.
	#[pallet::error]
	pub enum Error<T> {
		/// A DID with this identifier exists or existed.
		DidExists,
		/// No DID has this identifier.
		UnknownDid,
		/// The DID was revoked and can do nothing.
		DidRevoked,
		/// The signer is not a controller of the DID.
		NotController,
		/// The key proof is not the key's signature over the expected message.
		BadKeyProof,
		/// The account already controls the DID.
		AlreadyController,
		/// The DID has as many controllers as it may.
		TooManyControllers,
		/// The grantee is not a DID, or was revoked.
		UnknownGrantee,
		/// The grant would expire at or before the current block.
		ExpiryInPast,
		/// The DID has given as many grants as it may.
		TooManyGrants,
		/// No grant matches.
		NoSuchGrant,
		/// The grant has expired.
		GrantExpired,
		/// The grantor was revoked, and its grants with it.
		GrantorRevoked,
		/// The operation's nonce is not the DID's current one.
		BadNonce,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_idle(_: BlockNumberFor<T>, remaining: Weight) -> Weight {
			Self::remove_revoked_grants(remaining)
		}

		fn integrity_test() {
			assert!(T::MaxControllers::get() > 0, "a DID needs room for its creator");
			assert!(T::OperationLongevity::get() > 0, "operations must live at least a block");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(
			_: BlockNumberFor<T>,
		) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Creates the DID of `auth_key`, holding [`Config::Deposit`] from the signer, who
		/// becomes its first controller.
		///
		/// Origin: signed. `key_proof` is `auth_key`'s signature over
		/// [`types::creation_message`] of the signer, so nobody can take another's key.
		///
		/// Emits [`Event::DidCreated`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::create())]
		pub fn create(
			origin: OriginFor<T>,
			auth_key: AuthKey,
			key_proof: DidSignature,
			encryption_key: Option<EncryptionKey>,
			metadata: Option<CidOf<T>>,
		) -> DispatchResult {
			let creator = ensure_signed(origin)?;
			Self::do_create(creator, auth_key, key_proof, encryption_key, metadata)
		}

		/// Replaces the DID's auth key, and its encryption key if one is given; the old auth
		/// key is refused from this block on.
		///
		/// Origin: signed by a controller. `key_proof` is the new key's signature over
		/// [`types::rotation_message`] of the DID and its current nonce.
		///
		/// Emits [`Event::KeysRotated`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::rotate_keys())]
		pub fn rotate_keys(
			origin: OriginFor<T>,
			did: DidId,
			auth_key: AuthKey,
			key_proof: DidSignature,
			encryption_key: Option<EncryptionKey>,
		) -> DispatchResult {
			let action = DidAction::RotateKeys { auth_key, key_proof, encryption_key };
			Self::act_as_controller(origin, did, action)
		}

		/// Sets or clears the DID's metadata CID.
		///
		/// Origin: signed by a controller.
		///
		/// Emits [`Event::MetadataSet`].
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::set_metadata())]
		pub fn set_metadata(
			origin: OriginFor<T>,
			did: DidId,
			metadata: Option<CidOf<T>>,
		) -> DispatchResult {
			Self::act_as_controller(origin, did, DidAction::SetMetadata { metadata })
		}

		/// Lets `account` act for the DID.
		///
		/// Origin: signed by a controller.
		///
		/// Emits [`Event::ControllerAdded`].
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::add_controller())]
		pub fn add_controller(
			origin: OriginFor<T>,
			did: DidId,
			account: T::AccountId,
		) -> DispatchResult {
			Self::act_as_controller(origin, did, DidAction::AddController { account })
		}

		/// Stops `account` acting for the DID. The last controller may leave: the DID's key
		/// can still act.
		///
		/// Origin: signed by a controller.
		///
		/// Emits [`Event::ControllerRemoved`].
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::remove_controller())]
		pub fn remove_controller(
			origin: OriginFor<T>,
			did: DidId,
			account: T::AccountId,
		) -> DispatchResult {
			Self::act_as_controller(origin, did, DidAction::RemoveController { account })
		}

		/// Revokes the DID for ever: it can do nothing from now on and its grants no longer
		/// hold. Its deposit is released at once if it gave no grants, or else once
		/// `on_idle` has removed them. The identifier is never reused.
		///
		/// Origin: signed by a controller.
		///
		/// Emits [`Event::DidRevoked`].
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::revoke())]
		pub fn revoke(origin: OriginFor<T>, did: DidId) -> DispatchResult {
			Self::act_as_controller(origin, did, DidAction::Revoke)
		}

		/// Lets `grantee` use the dataset `dataset` until block `expires_at`; a grant to the
		/// same grantee for the same dataset is replaced.
		///
		/// Origin: signed by a controller of the granting DID `did`. `encrypted_key` is the
		/// CID of the dataset key encrypted to the grantee's encryption key.
		///
		/// Emits [`Event::AccessGranted`].
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::grant_access())]
		pub fn grant_access(
			origin: OriginFor<T>,
			did: DidId,
			dataset: CidOf<T>,
			grantee: DidId,
			expires_at: BlockNumberFor<T>,
			encrypted_key: CidOf<T>,
		) -> DispatchResult {
			let action = DidAction::GrantAccess { dataset, grantee, expires_at, encrypted_key };
			Self::act_as_controller(origin, did, action)
		}

		/// Withdraws the grant `did` gave `grantee` for `dataset`, at once.
		///
		/// Origin: signed by a controller of the granting DID `did`.
		///
		/// Emits [`Event::AccessRevoked`].
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::revoke_access())]
		pub fn revoke_access(
			origin: OriginFor<T>,
			did: DidId,
			dataset: CidOf<T>,
			grantee: DidId,
		) -> DispatchResult {
			Self::act_as_controller(origin, did, DidAction::RevokeAccess { dataset, grantee })
		}

		/// Records that the grantee `did` used `dataset` under `grantor`'s grant, which must
		/// hold at this block.
		///
		/// Origin: signed by a controller of the grantee `did`.
		///
		/// Emits [`Event::AccessRecorded`].
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::record_access())]
		pub fn record_access(
			origin: OriginFor<T>,
			did: DidId,
			dataset: CidOf<T>,
			grantor: DidId,
		) -> DispatchResult {
			Self::act_as_controller(origin, did, DidAction::RecordAccess { dataset, grantor })
		}

		/// Applies an operation the DID's auth key signed. The nonce is used up even when the
		/// action fails, so a failing operation cannot be replayed; the outcome is in
		/// [`Event::OperationApplied`].
		///
		/// Origin: authorized; the transaction is unsigned and carries `signature`, the auth
		/// key's signature over [`types::operation_message`], which
		/// [`Pallet::authorize_operation`] checks before the pool accepts it.
		///
		/// Emits [`Event::OperationApplied`] and the action's own event when it succeeds.
		#[pallet::call_index(9)]
		#[pallet::weight(
			T::WeightInfo::submit_operation().saturating_add(Pallet::<T>::action_weight(&operation.action))
		)]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_operation())]
		#[pallet::authorize(Pallet::<T>::authorize_operation)]
		pub fn submit_operation(
			origin: OriginFor<T>,
			operation: DidOperationOf<T>,
			signature: DidSignature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			// `authorize_operation` verified the signature before the call got here.
			let _ = signature;
			Self::do_submit_operation(operation)
		}

		/// Sets or clears the differential-privacy budget of the grant `did` gave `grantee`
		/// for `dataset`: with a budget, only private jobs whose ε (for a δ no larger than the
		/// budget's) fits what is left may be drawn to the grantee's nodes, and each spends
		/// its ε when drawn.
		///
		/// Origin: signed by a controller of the granting DID `did`.
		///
		/// Emits [`Event::PrivacyBudgetSet`].
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::set_privacy_budget())]
		pub fn set_privacy_budget(
			origin: OriginFor<T>,
			did: DidId,
			dataset: CidOf<T>,
			grantee: DidId,
			budget: Option<PrivacyBudget>,
		) -> DispatchResult {
			let action = DidAction::SetPrivacyBudget { dataset, grantee, budget };
			Self::act_as_controller(origin, did, action)
		}
	}

	impl<T: Config> Pallet<T> {
		/// Checks a DID-signed operation before it enters the pool or a block: the DID exists
		/// and is not revoked, the nonce is its current one, and its auth key signed the
		/// operation for this chain. The cheap checks come first, the signature last.
		///
		/// The transaction provides one tag per DID and nonce, so the pool keeps a single
		/// operation for each, and lives [`Config::OperationLongevity`] blocks.
		pub fn authorize_operation(
			_source: TransactionSource,
			operation: &DidOperationOf<T>,
			signature: &DidSignature,
		) -> TransactionValidityWithRefund {
			let document =
				Documents::<T>::get(operation.did).ok_or(InvalidTransaction::BadSigner)?;
			if document.revoked.is_some() {
				return Err(InvalidTransaction::BadSigner.into());
			}
			if operation.nonce < document.nonce {
				return Err(InvalidTransaction::Stale.into());
			}
			if operation.nonce > document.nonce {
				return Err(InvalidTransaction::Future.into());
			}
			let now = frame_system::Pallet::<T>::block_number();
			if OperatedAt::<T>::get(operation.did) == Some(now) {
				// One a block: the next waits in the pool for the next block.
				return Err(InvalidTransaction::ExhaustsResources.into());
			}
			if document.deposit < T::FailedOperationFee::get() {
				// It could not pay for failing.
				return Err(InvalidTransaction::Payment.into());
			}
			let genesis = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
			let message = types::operation_message(&genesis, operation);
			if !document.auth_key.verify(&message, signature) {
				return Err(InvalidTransaction::BadProof.into());
			}
			ValidTransaction::with_tag_prefix("TesseraDidOperation")
				.priority(T::OperationPriority::get())
				.and_provides((operation.did, operation.nonce))
				.longevity(T::OperationLongevity::get())
				.propagate(true)
				.build()
				.map(|validity| (validity, Weight::zero()))
		}
	}
}
