//! A test runtime with balances and the node registry, and helpers to drive it.

use crate::{self as pallet_node_registry, types::key_ownership_message, Roles};
use polkadot_sdk::{
	frame_support::{self, derive_impl, parameter_types, traits::Hooks, weights::Weight},
	frame_system, pallet_balances,
	sp_core::{sr25519, Pair, H256},
	sp_io::TestExternalities,
	sp_keystore::{testing::MemoryKeystore, KeystoreExt},
	sp_runtime::{
		traits::BlakeTwo256, transaction_validity::TransactionPriority, BuildStorage, Perbill,
	},
};
use std::sync::Arc;
use tessera_primitives::{
	Capabilities, NodeId, NodePublic, NodeRole, NodeSignature, NodeSigned, NodeWorkload, Outcome,
	ReputationSink, SlashReason,
};

pub type AccountId = u64;
pub type Balance = u64;
type TxExtension = frame_system::AuthorizeCall<Test>;
pub type Extrinsic = polkadot_sdk::sp_runtime::testing::TestXt<RuntimeCall, TxExtension>;
type Block = polkadot_sdk::sp_runtime::generic::Block<
	polkadot_sdk::sp_runtime::generic::Header<u64, BlakeTwo256>,
	Extrinsic,
>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		NodeRegistry: pallet_node_registry,
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

impl<LocalCall> frame_system::offchain::CreateTransactionBase<LocalCall> for Test
where
	RuntimeCall: From<LocalCall>,
{
	type RuntimeCall = RuntimeCall;
	type Extrinsic = Extrinsic;
}

impl<LocalCall> frame_system::offchain::CreateTransaction<LocalCall> for Test
where
	RuntimeCall: From<LocalCall>,
{
	type Extension = TxExtension;
	fn create_transaction(call: RuntimeCall, extension: TxExtension) -> Extrinsic {
		Extrinsic::new_transaction(call, extension)
	}
}

impl<LocalCall> frame_system::offchain::CreateAuthorizedTransaction<LocalCall> for Test
where
	RuntimeCall: From<LocalCall>,
{
	fn create_extension() -> TxExtension {
		TxExtension::new()
	}
}

pub const TREASURY: AccountId = 99;
pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const INITIAL_BALANCE: Balance = 10_000;
pub const MIN_BASIC: Balance = 10;
pub const NODE_DEPOSIT: Balance = 4;
pub const MIN_GPU: Balance = 100;
pub const MIN_TEE: Balance = 500;
pub const PERIOD: u64 = 10;
pub const UNBONDING: u64 = 20;

parameter_types! {
	pub const Treasury: AccountId = TREASURY;
	/// Nodes with open jobs, as the proof-of-compute pallet would report them.
	pub static Busy: Vec<NodeId> = Vec::new();
	/// Nodes the registry reported deactivated to the workload, in order.
	pub static Deactivated: Vec<NodeId> = Vec::new();
}

pub struct TestWorkload;
impl NodeWorkload for TestWorkload {
	fn has_open_jobs(node: NodeId) -> bool {
		Busy::get().contains(&node)
	}
	fn node_deactivated(node: NodeId) {
		Deactivated::mutate(|nodes| nodes.push(node));
	}
}

/// What the registry told the reputation pallet, in order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Reported {
	Outcome(NodeId, Outcome),
	Slashed(NodeId, SlashReason),
	Forgotten(NodeId),
}

parameter_types! {
	pub static ReputationReports: Vec<Reported> = Vec::new();
}

pub struct TestReputation;
impl ReputationSink for TestReputation {
	fn report(node: NodeId, outcome: Outcome) {
		ReputationReports::mutate(|reports| reports.push(Reported::Outcome(node, outcome)));
	}
	fn slashed(node: NodeId, reason: SlashReason) {
		ReputationReports::mutate(|reports| reports.push(Reported::Slashed(node, reason)));
	}
	fn forget(node: NodeId) {
		ReputationReports::mutate(|reports| reports.push(Reported::Forgotten(node)));
	}
	fn report_weight() -> Weight {
		Weight::from_parts(1_000, 0)
	}
	fn slashed_weight() -> Weight {
		Weight::from_parts(10_000, 0)
	}
	fn forget_weight() -> Weight {
		Weight::from_parts(100_000, 0)
	}
}

impl pallet_node_registry::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type NodeDeposit = frame_support::traits::ConstU64<NODE_DEPOSIT>;
	type MinStakeBasic = frame_support::traits::ConstU64<MIN_BASIC>;
	type MinStakeGpu = frame_support::traits::ConstU64<MIN_GPU>;
	type MinStakeTee = frame_support::traits::ConstU64<MIN_TEE>;
	type PriorityStake = frame_support::traits::ConstU64<1_000>;
	type FailedVerificationSlash = FailedVerificationSlash;
	type ForgedResultSlash = ForgedResultSlash;
	type MissedHeartbeatSlash = MissedHeartbeatSlash;
	type MaxOffences = frame_support::traits::ConstU32<3>;
	type SlashBeneficiary = Treasury;
	type HeartbeatPeriod = frame_support::traits::ConstU64<PERIOD>;
	type MaxMissedHeartbeats = frame_support::traits::ConstU32<3>;
	type UnbondingPeriod = frame_support::traits::ConstU64<UNBONDING>;
	type SweepBatch = frame_support::traits::ConstU32<2>;
	type MaxNodes = frame_support::traits::ConstU32<16>;
	type MaxNodesPerOwner = frame_support::traits::ConstU32<3>;
	type MaxRegionLen = frame_support::traits::ConstU32<16>;
	type MaxEndpointLen = frame_support::traits::ConstU32<32>;
	type HeartbeatPriority = HeartbeatPriority;
	type Workload = TestWorkload;
	type Dids = TestDids;
	type Reputation = TestReputation;
	type WeightInfo = ();
}

/// The DID each account controls: `DidId([account; 32])`.
pub struct TestDids;
impl tessera_primitives::DidControl<AccountId> for TestDids {
	fn is_controller(did: &tessera_primitives::DidId, account: &AccountId) -> bool {
		*did == tessera_primitives::DidId([*account as u8; 32])
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn controlled_by(account: &AccountId) -> tessera_primitives::DidId {
		tessera_primitives::DidId([*account as u8; 32])
	}
}

parameter_types! {
	pub const FailedVerificationSlash: Perbill = Perbill::from_percent(10);
	pub const ForgedResultSlash: Perbill = Perbill::from_percent(50);
	pub const MissedHeartbeatSlash: Perbill = Perbill::from_percent(10);
	pub const HeartbeatPriority: TransactionPriority = 1 << 20;
}

/// Funds Alice, Bob and the treasury, gives the externalities a keystore, and starts at
/// block 1.
pub fn new_test_ext() -> TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![(ALICE, INITIAL_BALANCE), (BOB, INITIAL_BALANCE), (TREASURY, 1)],
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
		NodeRegistry::do_try_state().expect("invariants hold after the test");
	});
}

/// Advances to block `n`, running the registry's `on_initialize` on the way.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		NodeRegistry::on_initialize(next);
		NodeRegistry::do_try_state().expect("invariants hold after every block");
	}
}

/// The node key derived from `seed`.
pub fn node_pair(seed: &str) -> sr25519::Pair {
	sr25519::Pair::from_string(&format!("//{seed}"), None).expect("a valid derivation path")
}

/// `pair` as a node key.
pub fn node_public(pair: &sr25519::Pair) -> NodePublic {
	pair.public().into()
}

/// `pair`'s signature over `message`, as a node signature.
pub fn node_sign(pair: &sr25519::Pair, message: &[u8]) -> NodeSignature {
	pair.sign(message).into()
}

/// A basic node's capabilities: no GPU, no TEE.
pub fn basic_capabilities() -> Capabilities {
	Capabilities::new(false, false, 500, 1_000, 8)
}

pub fn roles(list: &[NodeRole]) -> Roles {
	list.to_vec().try_into().expect("at most four roles")
}

pub fn region(name: &str) -> crate::RegionOf<Test> {
	name.as_bytes().to_vec().try_into().expect("a short region")
}

pub fn hw_hash(report: &str) -> H256 {
	H256(polkadot_sdk::sp_io::hashing::blake2_256(report.as_bytes()))
}

/// Registers a basic trainer for `owner` with the key derived from `seed`; returns its id.
pub fn register_node(owner: AccountId, seed: &str, stake: Balance) -> NodeId {
	let pair = node_pair(seed);
	let node = pallet_node_registry::NextNodeId::<Test>::get();
	NodeRegistry::register(
		RuntimeOrigin::signed(owner),
		roles(&[NodeRole::Trainer]),
		region("eu-west"),
		basic_capabilities(),
		hw_hash(seed),
		node_public(&pair),
		node_sign(&pair, &key_ownership_message(&NodeRegistry::genesis_hash(), &owner)),
		stake,
	)
	.expect("registration succeeds");
	node
}

/// A heartbeat for `node` in the current period, signed by `pair`.
pub fn signed_heartbeat(
	node: NodeId,
	pair: &sr25519::Pair,
) -> (crate::Heartbeat<u64>, NodeSignature) {
	let now = System::block_number();
	let heartbeat = crate::Heartbeat { node, period: NodeRegistry::period_of(now), block: now };
	let signature = node_sign(pair, &heartbeat.signed_bytes(&NodeRegistry::genesis_hash()));
	(heartbeat, signature)
}
