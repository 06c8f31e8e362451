//! Benchmarks of every call and of the authorize path of DID-signed operations, at their
//! worst: longest CIDs, fullest controller lists, grants up to the bound.

use super::*;
use crate::types::{creation_message, operation_message, rotation_message};
use alloc::vec;
use frame_support::{
	pallet_prelude::{Authorize, TransactionSource},
	traits::{fungible::Mutate, Get},
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use polkadot_sdk::sp_runtime::traits::{Bounded, Zero};
use polkadot_sdk::{
	frame_benchmarking::v2::*,
	sp_core::{crypto::KeyTypeId, sr25519},
	sp_io::crypto::{sr25519_generate, sr25519_sign},
};

/// Where benchmark DID keys live in the keystore.
const BENCH_KEY_TYPE: KeyTypeId = KeyTypeId(*b"tdid");

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 4u32.into());
	who
}

fn new_key() -> sr25519::Public {
	sr25519_generate(BENCH_KEY_TYPE, None)
}

fn sign(key: &sr25519::Public, message: &[u8]) -> DidSignature {
	DidSignature::Sr25519(sr25519_sign(BENCH_KEY_TYPE, key, message).expect("the keystore signs"))
}

fn longest_cid<T: Config>(fill: u8) -> CidOf<T> {
	vec![fill; T::MaxCidLen::get() as usize].try_into().expect("exactly the bound")
}

/// A DID created by a funded account with the longest metadata; returns the DID, its key and
/// its creator.
fn created<T: Config>(index: u32) -> (DidId, sr25519::Public, T::AccountId) {
	let creator = funded::<T>("creator", index);
	let (did, key) = create_for::<T>(&creator, Some(longest_cid::<T>(1)));
	(did, key, creator)
}

/// A DID with a fresh key, created by `creator`, which pays its deposit; returns the DID and
/// its key.
pub(crate) fn create_for<T: Config>(
	creator: &T::AccountId,
	metadata: Option<CidOf<T>>,
) -> (DidId, sr25519::Public) {
	let key = new_key();
	Pallet::<T>::do_create(
		creator.clone(),
		AuthKey::Sr25519(key),
		sign(&key, &creation_message(creator)),
		Some(EncryptionKey([7; 32])),
		metadata,
	)
	.expect("creation succeeds");
	(AuthKey::Sr25519(key).did(), key)
}

/// A live document for `did`, whatever its key, so that a grant can name it.
fn bare_document<T: Config>(did: &DidId) {
	if Documents::<T>::contains_key(did) {
		return;
	}
	let creator = funded::<T>("bare DID", 0);
	let now = frame_system::Pallet::<T>::block_number();
	Documents::<T>::insert(
		did,
		DidDocument {
			controllers: BoundedVec::truncate_from(vec![creator.clone()]),
			auth_key: AuthKey::Sr25519(new_key()),
			encryption_key: None,
			metadata: None,
			depositor: creator,
			deposit: Zero::zero(),
			nonce: 0,
			created: now,
			updated: now,
			revoked: None,
		},
	);
}

/// Live DIDs `grantor` and `grantee`, and a grant of `dataset` between them that never
/// expires and carries no privacy budget, so that any job may use it.
pub(crate) fn grant_between<T: Config>(dataset: &[u8], grantor: &DidId, grantee: &DidId) {
	bare_document::<T>(grantor);
	bare_document::<T>(grantee);
	let dataset = CidOf::<T>::truncate_from(dataset.to_vec());
	GrantsOf::<T>::insert(grantor, (&dataset, grantee), ());
	Grants::<T>::insert(
		(&dataset, grantor, grantee),
		Grant {
			granted_at: frame_system::Pallet::<T>::block_number(),
			expires_at: BlockNumberFor::<T>::max_value(),
			encrypted_key: longest_cid::<T>(2),
			accesses: 0,
			budget: None,
			spent_epsilon_milli: 0,
		},
	);
}

/// Adds controllers to `did` until one place is left.
fn fill_controllers<T: Config>(did: DidId) {
	for index in 1..T::MaxControllers::get().saturating_sub(1) {
		let account = account::<T::AccountId>("controller", index, 0);
		Documents::<T>::mutate(did, |document| {
			let document = document.as_mut().expect("the DID exists");
			document.controllers.try_push(account).expect("below the bound");
		});
	}
}

/// Gives grants from `grantor` to `grantee` until one place is left.
fn fill_grants<T: Config>(grantor: DidId, grantee: DidId) {
	let expires_at = BlockNumberFor::<T>::max_value();
	for index in 1..T::MaxGrantsPerDid::get() {
		let dataset: CidOf<T> = index.to_le_bytes().to_vec().try_into().expect("a short CID");
		let action = DidAction::GrantAccess {
			dataset,
			grantee,
			expires_at,
			encrypted_key: longest_cid::<T>(3),
		};
		let document = Documents::<T>::get(grantor).expect("the DID exists");
		Pallet::<T>::do_act_for_benchmarks(grantor, document, action).expect("granted");
	}
}

fn granted<T: Config>() -> (DidId, DidId, T::AccountId, T::AccountId) {
	let (grantor, _, grantor_account) = created::<T>(0);
	let (grantee, _, grantee_account) = created::<T>(1);
	fill_grants::<T>(grantor, grantee);
	let expires_at = BlockNumberFor::<T>::max_value();
	let action = DidAction::GrantAccess {
		dataset: longest_cid::<T>(2),
		grantee,
		expires_at,
		encrypted_key: longest_cid::<T>(3),
	};
	let document = Documents::<T>::get(grantor).expect("the DID exists");
	Pallet::<T>::do_act_for_benchmarks(grantor, document, action).expect("granted");
	(grantor, grantee, grantor_account, grantee_account)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn create() {
		let creator = funded::<T>("creator", 0);
		let key = new_key();
		let proof = sign(&key, &creation_message(&creator));

		#[extrinsic_call]
		_(
			RawOrigin::Signed(creator),
			AuthKey::Sr25519(key),
			proof,
			Some(EncryptionKey([7; 32])),
			Some(longest_cid::<T>(1)),
		);

		assert!(Documents::<T>::contains_key(AuthKey::Sr25519(key).did()));
	}

	#[benchmark]
	fn rotate_keys() {
		let (did, _, creator) = created::<T>(0);
		let key = new_key();
		let nonce = Documents::<T>::get(did).expect("the DID exists").nonce;
		let proof = sign(&key, &rotation_message(&did, nonce));

		#[extrinsic_call]
		_(
			RawOrigin::Signed(creator),
			did,
			AuthKey::Sr25519(key),
			proof,
			Some(EncryptionKey([8; 32])),
		);

		assert_eq!(Documents::<T>::get(did).map(|d| d.auth_key), Some(AuthKey::Sr25519(key)));
	}

	#[benchmark]
	fn set_metadata() {
		let (did, _, creator) = created::<T>(0);
		fill_controllers::<T>(did);

		#[extrinsic_call]
		_(RawOrigin::Signed(creator), did, Some(longest_cid::<T>(9)));

		assert_eq!(Documents::<T>::get(did).and_then(|d| d.metadata), Some(longest_cid::<T>(9)));
	}

	#[benchmark]
	fn add_controller() {
		let (did, _, creator) = created::<T>(0);
		fill_controllers::<T>(did);
		let newcomer = account::<T::AccountId>("newcomer", 0, 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(creator), did, newcomer.clone());

		assert!(Documents::<T>::get(did).is_some_and(|d| d.controllers.contains(&newcomer)));
	}

	#[benchmark]
	fn remove_controller() {
		let (did, _, creator) = created::<T>(0);
		fill_controllers::<T>(did);
		let last = account::<T::AccountId>("last", 0, 0);
		Documents::<T>::mutate(did, |document| {
			let document = document.as_mut().expect("the DID exists");
			document.controllers.try_push(last.clone()).expect("one place was left");
		});

		#[extrinsic_call]
		_(RawOrigin::Signed(creator), did, last.clone());

		assert!(Documents::<T>::get(did).is_some_and(|d| !d.controllers.contains(&last)));
	}

	#[benchmark]
	fn revoke() {
		let (did, _, creator) = created::<T>(0);

		#[extrinsic_call]
		_(RawOrigin::Signed(creator), did);

		assert!(Documents::<T>::get(did).is_some_and(|d| d.revoked.is_some()));
	}

	#[benchmark]
	fn grant_access() {
		let (grantor, _, creator) = created::<T>(0);
		let (grantee, _, _) = created::<T>(1);
		fill_grants::<T>(grantor, grantee);
		let dataset = longest_cid::<T>(2);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(creator),
			grantor,
			dataset.clone(),
			grantee,
			BlockNumberFor::<T>::max_value(),
			longest_cid::<T>(3),
		);

		assert!(Grants::<T>::contains_key((dataset, grantor, grantee)));
	}

	#[benchmark]
	fn revoke_access() {
		let (grantor, grantee, creator, _) = granted::<T>();
		let dataset = longest_cid::<T>(2);

		#[extrinsic_call]
		_(RawOrigin::Signed(creator), grantor, dataset.clone(), grantee);

		assert!(!Grants::<T>::contains_key((dataset, grantor, grantee)));
	}

	#[benchmark]
	fn record_access() {
		let (grantor, grantee, _, grantee_account) = granted::<T>();
		let dataset = longest_cid::<T>(2);

		#[extrinsic_call]
		_(RawOrigin::Signed(grantee_account), grantee, dataset.clone(), grantor);

		assert_eq!(Grants::<T>::get((dataset, grantor, grantee)).map(|g| g.accesses), Some(1));
	}

	/// The check at a job's posting that some grant of its dataset admits it, at its most:
	/// every grant the owner may give, all on that dataset, each to a revoked grantee.
	#[benchmark]
	fn some_grant_allows() {
		let (grantor, ..) = created::<T>(0);
		let dataset = longest_cid::<T>(2);
		let now = frame_system::Pallet::<T>::block_number();
		for index in 0..T::MaxGrantsPerDid::get() {
			let grantee = DidId(polkadot_sdk::sp_io::hashing::blake2_256(&codec::Encode::encode(
				&(b"grantee", index),
			)));
			grant_between::<T>(&dataset, &grantor, &grantee);
			Documents::<T>::mutate(grantee, |document| {
				if let Some(document) = document {
					document.revoked = Some(now);
				}
			});
		}
		let admitted;

		#[block]
		{
			admitted = <Pallet<T> as tessera_primitives::ConsentInspect>::some_grant_allows(
				&dataset, &grantor, None,
			);
		}

		assert!(!admitted);
	}

	#[benchmark]
	fn set_privacy_budget() {
		let (grantor, grantee, grantor_account, _) = granted::<T>();
		let dataset = longest_cid::<T>(2);
		let budget = Some(tessera_primitives::PrivacyBudget {
			epsilon_milli: 8_000,
			delta: polkadot_sdk::sp_runtime::Perbill::from_parts(10_000),
		});

		#[extrinsic_call]
		_(RawOrigin::Signed(grantor_account), grantor, dataset.clone(), grantee, budget);

		assert_eq!(Grants::<T>::get((dataset, grantor, grantee)).and_then(|g| g.budget), budget);
	}

	/// The overhead of a DID-signed operation around its action, at its most: a light
	/// action that fails, so that the fee is taken from the deposit; the call adds the
	/// action's own weight.
	#[benchmark]
	fn submit_operation() {
		let (did, key, _) = created::<T>(0);
		let stranger: T::AccountId = account("stranger", 0, 0);
		let action = DidAction::RemoveController { account: stranger };
		let operation = DidOperation { did, nonce: 0, action };
		let genesis = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
		let signature = sign(&key, &operation_message(&genesis, &operation));

		#[extrinsic_call]
		_(RawOrigin::Authorized, operation, signature);

		let document = Documents::<T>::get(did).expect("created");
		assert_eq!(document.nonce, 1);
		assert!(document.deposit < T::Deposit::get(), "the failure was charged");
	}

	#[benchmark]
	fn authorize_operation() -> Result<(), BenchmarkError> {
		let (did, key, _) = created::<T>(0);
		let operation = DidOperation {
			did,
			nonce: 0,
			action: DidAction::SetMetadata { metadata: Some(longest_cid::<T>(4)) },
		};
		let genesis = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
		let signature = sign(&key, &operation_message(&genesis, &operation));
		let call = Call::<T>::submit_operation { operation, signature };

		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or("submit_operation has authorize logic")?
				.map_err(|_| "a valid operation is authorized")?;
		}

		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
