//! A test runtime with balances and the DID pallet, and helpers for keys and operations.

use crate::{self as pallet_did, types, AuthKey, CidOf, DidActionOf, DidOperationOf, DidSignature};
use polkadot_sdk::{
	frame_support::{self, derive_impl, parameter_types},
	frame_system, pallet_balances,
	sp_core::{ed25519, sr25519, Pair, H256},
	sp_io::TestExternalities,
	sp_keystore::{testing::MemoryKeystore, KeystoreExt},
	sp_runtime::{transaction_validity::TransactionPriority, BuildStorage},
};
use std::sync::Arc;
use tessera_primitives::DidId;

pub type AccountId = u64;
pub type Balance = u64;
type TxExtension = frame_system::AuthorizeCall<Test>;
type Extrinsic = polkadot_sdk::sp_runtime::testing::TestXt<RuntimeCall, TxExtension>;
type Block = polkadot_sdk::sp_runtime::generic::Block<
	polkadot_sdk::sp_runtime::generic::Header<u64, polkadot_sdk::sp_runtime::traits::BlakeTwo256>,
	Extrinsic,
>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Did: pallet_did,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const CHARLIE: AccountId = 3;
pub const INITIAL_BALANCE: Balance = 1_000;
pub const DEPOSIT: Balance = 100;
pub const FAILED_OPERATION_FEE: Balance = 30;
pub const TREASURY: AccountId = 99;
pub const MAX_GRANTS: u32 = 3;

parameter_types! {
	pub const OperationPriority: TransactionPriority = 1 << 10;
}

impl pallet_did::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Deposit = frame_support::traits::ConstU64<DEPOSIT>;
	type MaxControllers = frame_support::traits::ConstU32<2>;
	type MaxCidLen = frame_support::traits::ConstU32<64>;
	type MaxGrantsPerDid = frame_support::traits::ConstU32<MAX_GRANTS>;
	type OperationLongevity = frame_support::traits::ConstU64<16>;
	type OperationPriority = OperationPriority;
	type FailedOperationFee = frame_support::traits::ConstU64<FAILED_OPERATION_FEE>;
	type FeeBeneficiary = frame_support::traits::ConstU64<TREASURY>;
	type WeightInfo = ();
}

/// Funds Alice, Bob and Charlie, gives the externalities a keystore, and starts at block 1.
pub fn new_test_ext() -> TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![
			(ALICE, INITIAL_BALANCE),
			(BOB, INITIAL_BALANCE),
			(CHARLIE, INITIAL_BALANCE),
		],
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = TestExternalities::new(storage);
	ext.register_extension(KeystoreExt(Arc::new(MemoryKeystore::new())));
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs a test and checks the pallet's invariants afterwards.
pub fn test(body: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		body();
		Did::do_try_state().expect("invariants hold after the test");
	});
}

/// What `on_idle` has left over in each block of [`run_to_block`].
pub const IDLE_WEIGHT: polkadot_sdk::frame_support::weights::Weight =
	polkadot_sdk::frame_support::weights::Weight::from_parts(500_000_000_000, 1024 * 1024);

/// Advances to block `n`, running `on_idle` with [`IDLE_WEIGHT`] on the way and checking
/// the invariants after every block.
pub fn run_to_block(n: u64) {
	use polkadot_sdk::frame_support::traits::Hooks;
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Did::on_idle(next, IDLE_WEIGHT);
		Did::do_try_state().expect("invariants hold after every block");
	}
}

/// An auth key that signs, of either scheme.
pub enum Signer {
	Sr25519(sr25519::Pair),
	Ed25519(ed25519::Pair),
}

impl Signer {
	pub fn sr25519(seed: &str) -> Self {
		Self::Sr25519(sr25519::Pair::from_string(&format!("//{seed}"), None).expect("a valid path"))
	}

	pub fn ed25519(seed: &str) -> Self {
		Self::Ed25519(ed25519::Pair::from_string(&format!("//{seed}"), None).expect("a valid path"))
	}

	pub fn public(&self) -> AuthKey {
		match self {
			Self::Sr25519(pair) => AuthKey::Sr25519(pair.public()),
			Self::Ed25519(pair) => AuthKey::Ed25519(pair.public()),
		}
	}

	pub fn did(&self) -> DidId {
		self.public().did()
	}

	pub fn sign(&self, message: &[u8]) -> DidSignature {
		match self {
			Self::Sr25519(pair) => DidSignature::Sr25519(pair.sign(message)),
			Self::Ed25519(pair) => DidSignature::Ed25519(pair.sign(message)),
		}
	}
}

pub fn cid(text: &str) -> CidOf<Test> {
	text.as_bytes().to_vec().try_into().expect("a short CID")
}

/// Creates the DID of `signer` with `creator` as its controller; returns the DID.
pub fn create_did(creator: AccountId, signer: &Signer) -> DidId {
	Did::create(
		RuntimeOrigin::signed(creator),
		signer.public(),
		signer.sign(&types::creation_message(&creator)),
		None,
		None,
	)
	.expect("creation succeeds");
	signer.did()
}

/// The DID's current nonce.
pub fn nonce(did: DidId) -> u64 {
	crate::Documents::<Test>::get(did).expect("a DID").nonce
}

/// `action` for `did` at its current nonce, signed by `signer` for this chain.
pub fn signed_operation(
	did: DidId,
	signer: &Signer,
	action: DidActionOf<Test>,
) -> (DidOperationOf<Test>, DidSignature) {
	let operation = crate::DidOperation { did, nonce: nonce(did), action };
	let genesis: H256 = System::block_hash(0);
	let signature = signer.sign(&types::operation_message(&genesis, &operation));
	(operation, signature)
}
