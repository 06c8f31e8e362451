//! A test runtime with balances and all five Tessera pallets, wired together through the
//! traits in `tessera-primitives` as `runtime/src/configs/tessera.rs` wires them, with small
//! constants so that jobs, disputes and retention run their course in a few blocks.
//!
//! It does not use `tessera-runtime`, whose blocks need the parachain inherents.

use codec::Encode;
use pallet_reputation::{DecayRule, TierRule, TierRules};
use polkadot_sdk::{
	frame_support::{
		self, derive_impl, parameter_types,
		traits::{ConstU32, ConstU64, ConstU8, SortedMembers},
		weights::Weight,
	},
	frame_system::{self, EnsureRoot},
	pallet_balances,
	sp_core::{sr25519, Pair as _, H256},
	sp_io::{hashing::blake2_256, TestExternalities},
	sp_runtime::{
		generic,
		traits::{BlakeTwo256, IdentityLookup},
		transaction_validity::TransactionPriority,
		BuildStorage, FixedU128, Perbill, Permill,
	},
};
use tessera_primitives::{Capabilities, DatasetConsent, NodePublic, NodeRole, NodeSignature};

pub type AccountId = u64;
pub type Balance = u64;
type TxExtension = frame_system::AuthorizeCall<Test>;
/// What off-chain workers pool: authorized transactions.
pub type Extrinsic = polkadot_sdk::sp_runtime::testing::TestXt<RuntimeCall, TxExtension>;
type Block = generic::Block<generic::Header<u64, BlakeTwo256>, Extrinsic>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		NodeRegistry: pallet_node_registry,
		Reputation: pallet_reputation,
		Did: pallet_did,
		ModelRegistry: pallet_model_registry,
		ProofOfCompute: pallet_proof_of_compute,
		ProofOfComputeTraps: pallet_proof_of_compute::traps,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId;
	type Lookup = IdentityLookup<AccountId>;
	type AccountData = pallet_balances::AccountData<Balance>;
}

// The existential deposit is the prelude's 1: no balance can leave dust behind, so no
// transfer can burn any.
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

/// Honest accounts: requesters, DID creators, model owners.
pub const HONEST: [AccountId; 3] = [1, 2, 3];
/// The model registry's approvers, who also set traps.
pub const APPROVERS: [AccountId; 2] = [10, 11];
/// An attacker with little to spend.
pub const HOSTILE: AccountId = 66;
/// Receives slashes, rejected deposits and failed DID operations' fees; pays bounties.
pub const TREASURY: AccountId = 99;
/// Node key `k` is owned, when registered, by `OWNER_BASE + k` unless an action registers
/// it for another account.
pub const OWNER_BASE: AccountId = 100;
/// How many node keys the fuzzer signs with; the first `REGISTERED` are registered at the
/// start of every case.
pub const NODE_KEYS: u8 = 10;
pub const REGISTERED: u8 = 7;
/// How many DID auth keys the fuzzer signs with.
pub const DID_KEYS: u8 = 5;
pub const INITIAL_BALANCE: Balance = 1_000_000;
pub const HOSTILE_BALANCE: Balance = 150;

/// The model's root state and the approved dataset every generated job names.
pub const BASE_WEIGHTS: &[u8] = b"bafkbase";
pub const BASE_DIGEST: H256 = H256::repeat_byte(1);
pub const DATASET: &[u8] = b"bafkdata";
/// A dataset whose owner grants it only to some DIDs.
pub const GRANTED_DATASET: &[u8] = b"bafkgranted";

parameter_types! {
	pub const Treasury: AccountId = TREASURY;
	pub const NodeDeposit: Balance = 10;
	pub const FailedVerificationSlash: Perbill = Perbill::from_percent(10);
	pub const ForgedResultSlash: Perbill = Perbill::from_percent(50);
	pub const MissedHeartbeatSlash: Perbill = Perbill::from_percent(10);
	pub const MissedVerdictSlash: Perbill = Perbill::from_percent(10);
	pub const HeartbeatPriority: TransactionPriority = TransactionPriority::MAX / 2;
	pub const DidOperationPriority: TransactionPriority = TransactionPriority::MAX / 4;
	pub const CommitmentPriority: TransactionPriority = TransactionPriority::MAX / 2;
	pub const DefaultSpotCheckBase: Permill = Permill::from_percent(10);
	pub const ViolationPenalty: Permill = Permill::from_percent(20);
	pub const DataFaultPenalty: Permill = Permill::from_percent(10);
	pub const Decay: DecayRule<u64> = DecayRule {
		grace: 20,
		step: 20,
		per_step: Permill::from_percent(5),
		floor: Permill::from_percent(50),
	};
	pub const Tiers: TierRules = TierRules {
		excellent: tier(90, 20, 20, 115),
		trusted: tier(75, 10, 50, 110),
		developing: tier(50, 5, 100, 100),
		new: tier(0, 0, 200, 100),
	};
	/// One sampled availability check in ten reveals, as in the runtime.
	pub const AvailabilitySample: Perbill = Perbill::from_percent(10);
	/// More traps than the runtime's 1%, so that some cases spring one.
	pub const TrapRate: Perbill = Perbill::from_percent(10);
	pub const RoundQuorum: Perbill = Perbill::from_percent(80);
	/// Varies the relay chain randomness stand-in between cases.
	pub static Seed: H256 = H256::repeat_byte(7);
}

/// A tier's rule, as the runtime writes it: least score and history, spot-check factor
/// and reward multiplier in percent.
const fn tier(score: u32, history: u32, spot_check: u128, reward: u128) -> TierRule {
	const PERCENT: u128 = 10u128.pow(16);
	TierRule {
		min_score: Permill::from_percent(score),
		min_history: history,
		spot_check_factor: FixedU128::from_inner(spot_check * PERCENT),
		reward_multiplier: FixedU128::from_inner(reward * PERCENT),
	}
}

impl pallet_node_registry::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type NodeDeposit = NodeDeposit;
	type MinStakeBasic = ConstU64<100>;
	type MinStakeGpu = ConstU64<1_000>;
	type MinStakeTee = ConstU64<5_000>;
	type PriorityStake = ConstU64<10_000>;
	type FailedVerificationSlash = FailedVerificationSlash;
	type ForgedResultSlash = ForgedResultSlash;
	type MissedHeartbeatSlash = MissedHeartbeatSlash;
	type MaxOffences = ConstU32<3>;
	type SlashBeneficiary = Treasury;
	type HeartbeatPeriod = ConstU64<HEARTBEAT_PERIOD>;
	type MaxMissedHeartbeats = ConstU32<3>;
	type UnbondingPeriod = ConstU64<10>;
	type SweepBatch = ConstU32<4>;
	type MaxNodes = ConstU32<16>;
	type MaxNodesPerOwner = ConstU32<3>;
	type MaxRegionLen = ConstU32<16>;
	type MaxEndpointLen = ConstU32<32>;
	type HeartbeatPriority = HeartbeatPriority;
	type Workload = ProofOfCompute;
	type Dids = Did;
	type Reputation = Reputation;
	type WeightInfo = ();
}

pub const HEARTBEAT_PERIOD: u64 = 20;

impl pallet_did::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Deposit = ConstU64<100>;
	type MaxControllers = ConstU32<2>;
	type MaxCidLen = ConstU32<64>;
	type MaxGrantsPerDid = ConstU32<4>;
	type OperationLongevity = ConstU64<16>;
	type OperationPriority = DidOperationPriority;
	type FailedOperationFee = ConstU64<1>;
	type FeeBeneficiary = Treasury;
	type WeightInfo = ();
}

/// The approvers: a fixed set, where the runtime has a membership pallet.
pub struct Approvers;
impl SortedMembers<AccountId> for Approvers {
	fn sorted_members() -> Vec<AccountId> {
		APPROVERS.to_vec()
	}
}

impl pallet_model_registry::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type ModelDeposit = ConstU64<50>;
	type ProposalDeposit = ConstU64<20>;
	type RejectedDepositBeneficiary = Treasury;
	type Approvers = Approvers;
	type DefaultApprovalThreshold = ConstU32<1>;
	type ThresholdOrigin = EnsureRoot<AccountId>;
	type VotingPeriod = ConstU64<5>;
	type MigrationWindow = ConstU64<5>;
	type MaxVersions = ConstU32<4>;
	type Jobs = ProofOfCompute;
	type Dids = Did;
	type WeightInfo = ();
}

/// The relay chain's randomness: fresh every block, varied between cases by [`Seed`].
pub struct TestRandomness;
impl frame_support::traits::Randomness<H256, u64> for TestRandomness {
	fn random(subject: &[u8]) -> (H256, u64) {
		let block = System::block_number();
		(H256(blake2_256(&(subject, Seed::get(), block).encode())), block)
	}
}

impl pallet_reputation::Config for Test {
	type Nodes = NodeRegistry;
	type Randomness = TestRandomness;
	type Tiers = Tiers;
	type DefaultSpotCheckBase = DefaultSpotCheckBase;
	type PriorSamples = ConstU32<20>;
	type MemoryLength = ConstU32<100>;
	type ReferenceBandwidth = ConstU64<12_500_000>;
	type EpochLength = ConstU64<20>;
	type ViolationPenalty = ViolationPenalty;
	type ViolationWindow = ConstU64<100>;
	type DataFaultPenalty = DataFaultPenalty;
	type Decay = Decay;
	type MaxViolations = ConstU32<5>;
	type ForceOrigin = EnsureRoot<AccountId>;
	type WeightInfo = ();
}

impl pallet_proof_of_compute::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Nodes = NodeRegistry;
	type Slasher = NodeRegistry;
	type Reputation = Reputation;
	type Outcome = ModelRegistry;
	type Traps = ProofOfComputeTraps;
	type Inputs = ModelRegistry;
	type Consent = Did;
	type Randomness = TestRandomness;
	type MaxRedundancy = ConstU8<5>;
	type MaxReplacements = ConstU32<3>;
	type MaxCheckpoints = ConstU32<8>;
	type MaxPendingJobs = ConstU32<8>;
	type MaxDuePerBlock = ConstU32<8>;
	type CandidateSample = ConstU32<64>;
	type AssignmentsPerBlock = ConstU32<4>;
	type MaxJobDuration = ConstU64<MAX_JOB_DURATION>;
	type MinBudget = ConstU64<100>;
	type RewardPerMillionWorkUnits = ConstU64<6_250>;
	type RevealDelay = ConstU64<2>;
	type DefaultChallengeWindow = ConstU64<4>;
	type ForceOrigin = EnsureRoot<AccountId>;
	type AvailabilitySample = AvailabilitySample;
	type AvailabilityWindow = ConstU64<3>;
	type AvailabilityBond = ConstU64<100>;
	type AvailabilityFee = ConstU64<10>;
	type JobDepositBase = ConstU64<5>;
	type JobDepositPerByte = ConstU64<1>;
	type Retention = ConstU64<10>;
	type ChallengeBond = ConstU64<300>;
	type PanelSize = ConstU32<3>;
	type PanelWindow = ConstU64<4>;
	type MissedVerdictSlash = MissedVerdictSlash;
	type MaxAggregatorDraws = ConstU8<3>;
	type PanelFee = ConstU64<10>;
	type Treasury = Treasury;
	type RoundWindow = ConstU64<6>;
	type RoundQuorum = RoundQuorum;
	type AggregatorGrace = ConstU64<2>;
	type AggregatorFee = ConstU64<50>;
	type CommitmentPriority = CommitmentPriority;
	type WeightInfo = ();
}

impl pallet_proof_of_compute::traps::Config for Test {
	type Jobs = ProofOfCompute;
	type TrapQuorum = pallet_model_registry::CurrentApprovalThreshold<Test>;
	type DefaultTrapRate = TrapRate;
	type MaxVaultTasks = ConstU32<4>;
	type TrapOrigin = frame_system::EnsureSignedBy<Approvers, AccountId>;
	type ForceOrigin = EnsureRoot<AccountId>;
	type WeightInfo = ();
}

pub const MAX_JOB_DURATION: u64 = 200;

/// Node key `k`.
pub fn node_pair(key: u8) -> sr25519::Pair {
	sr25519::Pair::from_seed(&[key + 1; 32])
}

/// DID auth key `k`.
pub fn did_pair(key: u8) -> sr25519::Pair {
	sr25519::Pair::from_seed(&[key + 101; 32])
}

pub fn sign(pair: &sr25519::Pair, message: &[u8]) -> NodeSignature {
	pair.sign(message).into()
}

/// The node key index whose public key is `key`, if it is one of the fuzzer's.
pub fn key_index(key: &NodePublic) -> Option<u8> {
	(0..NODE_KEYS).find(|k| NodePublic::from(node_pair(*k).public()) == *key)
}

/// What a block leaves `on_poll` and `on_idle`: half a second, and a megabyte of proof.
pub const BLOCK_WEIGHT: Weight = Weight::from_parts(500_000_000_000, 1024 * 1024);

/// The roles of the nodes registered at the start: key 0 a GPU trainer, 1–2 trainers,
/// 3 a trainer and aggregator, 4–5 validators, 6 a validator and aggregator.
pub fn initial_roles(key: u8) -> (Vec<NodeRole>, bool) {
	match key {
		0 => (vec![NodeRole::Trainer], true),
		1 | 2 => (vec![NodeRole::Trainer], false),
		3 => (vec![NodeRole::Trainer, NodeRole::Aggregator], false),
		4 | 5 => (vec![NodeRole::Validator], false),
		_ => (vec![NodeRole::Validator, NodeRole::Aggregator], false),
	}
}

pub fn capabilities(gpu: bool) -> Capabilities {
	Capabilities::new(gpu, false, 500, 1_000, 8)
}

/// Every account the genesis funds.
pub fn funded() -> Vec<(AccountId, Balance)> {
	HONEST
		.into_iter()
		.chain(APPROVERS)
		.chain([TREASURY])
		.chain((0..NODE_KEYS).map(|k| OWNER_BASE + AccountId::from(k)))
		.map(|who| (who, INITIAL_BALANCE))
		.chain([(HOSTILE, HOSTILE_BALANCE)])
		.collect()
}

/// Genesis: funded accounts, one model (id 0, root state `bafkbase`/`0x01…`, owned by the
/// first honest account and open to anyone's proposals), two approved datasets (a public
/// one, and one granted by DID key 0's DID), block 1, and the first [`REGISTERED`] node keys
/// registered by their owners.
pub fn new_ext(seed: u64) -> TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> { balances: funded(), ..Default::default() }
		.assimilate_storage(&mut storage)
		.unwrap();
	let owner_did = crate::actions::did_of(0);
	pallet_model_registry::GenesisConfig::<Test> {
		models: vec![(
			pallet_model_registry::Owner::Account(HONEST[0]),
			b"iris-mlp".to_vec(),
			b"mlp".to_vec(),
			b"bafkmeta".to_vec(),
			BASE_WEIGHTS.to_vec(),
			BASE_DIGEST,
			pallet_model_registry::TrainingPolicy::Anyone,
		)],
		datasets: vec![
			(DATASET.to_vec(), 4, b"CC0-1.0".to_vec(), owner_did, DatasetConsent::Public),
			(GRANTED_DATASET.to_vec(), 4, b"CC0-1.0".to_vec(), owner_did, DatasetConsent::Granted),
		],
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = TestExternalities::new(storage);
	ext.execute_with(|| {
		Seed::set(H256(blake2_256(&seed.encode())));
		System::set_block_number(1);
		use frame_support::traits::IntegrityTest;
		AllPalletsWithSystem::integrity_test();
		for key in 0..REGISTERED {
			let (roles, gpu) = initial_roles(key);
			let stake = if gpu { 2_000 } else { 500 };
			crate::actions::register(OWNER_BASE + AccountId::from(key), key, roles, gpu, stake)
				.expect("the initial nodes register");
		}
		start_block();
	});
	ext
}

/// Runs what a block runs before its extrinsics: `on_initialize`, then (after the
/// inherents) `on_poll`.
pub fn start_block() {
	use frame_support::traits::{OnInitialize, OnPoll};
	let now = System::block_number();
	AllPalletsWithSystem::on_initialize(now);
	let mut meter = frame_support::weights::WeightMeter::with_limit(BLOCK_WEIGHT);
	AllPalletsWithSystem::on_poll(now, &mut meter);
}

/// Runs what a block runs after its extrinsics: `on_idle` with a generous weight, then
/// `on_finalize`.
pub fn end_block() {
	use frame_support::traits::{OnFinalize, OnIdle};
	let now = System::block_number();
	AllPalletsWithSystem::on_idle(now, BLOCK_WEIGHT);
	AllPalletsWithSystem::on_finalize(now);
}

/// Opens the next block: its number, no events, then [`start_block`].
pub fn next_block() {
	System::reset_events();
	System::set_block_number(System::block_number() + 1);
	start_block();
}
