//! A test runtime with the reputation pallet, a registry of three nodes and settable
//! randomness.

use crate::{self as pallet_reputation, DecayRule, TierRule, TierRules};
use codec::Encode;
use polkadot_sdk::{
	frame_support::{self, derive_impl, parameter_types, traits::Randomness},
	frame_system::{self, EnsureRoot},
	sp_core::H256,
	sp_io::{hashing::blake2_256, TestExternalities},
	sp_runtime::{BuildStorage, FixedU128, Permill},
};
use tessera_primitives::{Capabilities, NodeId, NodeInspect, NodePublic, NodeRole};

type Block = frame_system::mocking::MockBlock<Test>;
pub type AccountId = u64;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Reputation: pallet_reputation,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
}

pub const PRIOR: u32 = 20;
pub const MEMORY: u32 = 1_000;
pub const REFERENCE_BANDWIDTH: u64 = 1_000_000;
pub const EPOCH: u64 = 100;
pub const VIOLATION_WINDOW: u64 = 10_000;
pub const GRACE: u64 = 1_000;
pub const DECAY_STEP: u64 = 1_000;

parameter_types! {
	/// The nodes the registry knows; each is owned by the account of the same number.
	pub static Registered: Vec<NodeId> = vec![1, 2, 3];
	/// What the relay chain's randomness would be.
	pub static Seed: H256 = H256::repeat_byte(7);
	pub Tiers: TierRules = TierRules {
		excellent: tier(90, 200, FixedU128::from_rational(2, 10), FixedU128::from_rational(115, 100)),
		trusted: tier(75, 100, FixedU128::from_rational(5, 10), FixedU128::from_rational(110, 100)),
		developing: tier(50, 50, FixedU128::from_u32(1), FixedU128::from_u32(1)),
		new: tier(0, 0, FixedU128::from_u32(2), FixedU128::from_u32(1)),
	};
	pub const DefaultSpotCheckBase: Permill = Permill::from_percent(10);
	pub const ViolationPenalty: Permill = Permill::from_percent(20);
	pub const DataFaultPenalty: Permill = Permill::from_percent(10);
	pub const Decay: DecayRule<u64> = DecayRule {
		grace: GRACE,
		step: DECAY_STEP,
		per_step: Permill::from_percent(5),
		floor: Permill::from_percent(50),
	};
}

fn tier(score: u32, history: u32, spot_check_factor: FixedU128, reward: FixedU128) -> TierRule {
	TierRule {
		min_score: Permill::from_percent(score),
		min_history: history,
		spot_check_factor,
		reward_multiplier: reward,
	}
}

pub struct TestNodes;
impl NodeInspect<AccountId> for TestNodes {
	type Balance = u64;
	fn is_active(node: NodeId) -> bool {
		Registered::get().contains(&node)
	}
	fn owner(node: NodeId) -> Option<AccountId> {
		Self::is_active(node).then_some(u64::from(node))
	}
	fn has_role(node: NodeId, role: NodeRole) -> bool {
		Self::is_active(node) && role == NodeRole::Trainer
	}
	fn capabilities(node: NodeId) -> Option<Capabilities> {
		Self::is_active(node).then(Capabilities::default)
	}
	fn node_key(_: NodeId) -> Option<NodePublic> {
		None
	}
	fn node_of_key(_: &NodePublic) -> Option<NodeId> {
		None
	}
	fn stake(_: NodeId) -> u64 {
		0
	}
	fn active_count(role: NodeRole) -> u32 {
		Registered::get().into_iter().filter(|node| Self::has_role(*node, role)).count() as u32
	}
	fn active_at(role: NodeRole, position: u32) -> Option<NodeId> {
		Registered::get()
			.into_iter()
			.filter(|node| Self::has_role(*node, role))
			.nth(position as usize)
	}
	fn endpoint(_: NodeId) -> Option<Vec<u8>> {
		None
	}
	fn did(_: NodeId) -> Option<tessera_primitives::DidId> {
		None
	}
}

pub struct TestRandomness;
impl Randomness<H256, u64> for TestRandomness {
	fn random(subject: &[u8]) -> (H256, u64) {
		(H256(blake2_256(&(subject, Seed::get()).encode())), System::block_number())
	}
}

impl pallet_reputation::Config for Test {
	type Nodes = TestNodes;
	type Randomness = TestRandomness;
	type Tiers = Tiers;
	type DefaultSpotCheckBase = DefaultSpotCheckBase;
	type PriorSamples = frame_support::traits::ConstU32<PRIOR>;
	type MemoryLength = frame_support::traits::ConstU32<MEMORY>;
	type ReferenceBandwidth = frame_support::traits::ConstU64<REFERENCE_BANDWIDTH>;
	type EpochLength = frame_support::traits::ConstU64<EPOCH>;
	type ViolationPenalty = ViolationPenalty;
	type ViolationWindow = frame_support::traits::ConstU64<VIOLATION_WINDOW>;
	type DataFaultPenalty = DataFaultPenalty;
	type Decay = Decay;
	type MaxViolations = frame_support::traits::ConstU32<5>;
	type ForceOrigin = EnsureRoot<AccountId>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = TestNodes;
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper for TestNodes {
	fn registered_node() -> NodeId {
		1
	}
}

/// Starts at block 1 with nodes 1, 2 and 3 registered.
pub fn new_test_ext() -> TestExternalities {
	let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut ext = TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs a test and checks the pallet's invariants afterwards.
pub fn test(body: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		body();
		Reputation::do_try_state().expect("invariants hold after the test");
	});
}

/// Jumps to block `n`; the pallet has no per-block work, so no hook needs to run.
pub fn jump_to_block(n: u64) {
	System::set_block_number(n);
}
