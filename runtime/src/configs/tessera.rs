//! Configuration of Tessera's own pallets, and how their off-chain workers build
//! transactions.

use frame_support::{
	parameter_types,
	traits::{ConstU32, ConstU64},
	PalletId,
};
use frame_system::EnsureRoot;
use pallet_reputation::{DecayRule, TierRule, TierRules};
use polkadot_sdk::*;
use sp_runtime::{generic::Era, traits::AccountIdConversion, FixedU128, Perbill, Permill};

use super::randomness::RelayChainRandomness;
use crate::{
	AccountId, Balance, Balances, BlockNumber, Did, ModelApprovers, ModelRegistry, NodeRegistry,
	ProofOfCompute, ProofOfComputeTraps, Reputation, Runtime, RuntimeCall, RuntimeHoldReason,
	TxExtension, UncheckedExtrinsic, DAYS, HOURS, UNIT,
};

impl<LocalCall> frame_system::offchain::CreateTransactionBase<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	type RuntimeCall = RuntimeCall;
	type Extrinsic = UncheckedExtrinsic;
}

impl<LocalCall> frame_system::offchain::CreateTransaction<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	type Extension = TxExtension;

	fn create_transaction(call: RuntimeCall, extension: TxExtension) -> UncheckedExtrinsic {
		UncheckedExtrinsic::new_transaction(call, extension)
	}
}

/// Off-chain workers send authorized calls: general transactions whose `AuthorizeCall`
/// extension runs the call's own `#[pallet::authorize]` check. The other extensions see a
/// non-signed origin and neither take a nonce nor charge a fee.
impl<LocalCall> frame_system::offchain::CreateAuthorizedTransaction<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	fn create_extension() -> TxExtension {
		cumulus_pallet_weight_reclaim::StorageWeightReclaim::new((
			frame_system::AuthorizeCall::<Runtime>::new(),
			frame_system::CheckNonZeroSender::<Runtime>::new(),
			frame_system::CheckSpecVersion::<Runtime>::new(),
			frame_system::CheckTxVersion::<Runtime>::new(),
			frame_system::CheckGenesis::<Runtime>::new(),
			frame_system::CheckEra::<Runtime>::from(Era::Immortal),
			frame_system::CheckNonce::<Runtime>::from(0),
			frame_system::CheckWeight::<Runtime>::new(),
			pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0),
			frame_metadata_hash_extension::CheckMetadataHash::<Runtime>::new(false),
		))
	}
}

parameter_types! {
	/// Receives slashed stake that no challenger or panel claims.
	pub const TreasuryPalletId: PalletId = PalletId(*b"tsr/trsy");
	pub TreasuryAccount: AccountId = TreasuryPalletId::get().into_account_truncating();
	/// Held for a node's records until it is removed, and never slashed: ten units, as much
	/// as a GPU node's least stake, so that filling the registry's 9 000 slots holds
	/// 90 000 units whatever is slashed (99 000 with the basic stakes).
	pub const NodeDeposit: Balance = 10 * UNIT;
	pub const MinStakeBasic: Balance = UNIT;
	pub const MinStakeGpu: Balance = 10 * UNIT;
	pub const MinStakeTee: Balance = 50 * UNIT;
	pub const PriorityStake: Balance = 100 * UNIT;
	pub const FailedVerificationSlash: Perbill = Perbill::from_percent(10);
	pub const ForgedResultSlash: Perbill = Perbill::from_percent(50);
	pub const MissedHeartbeatSlash: Perbill = Perbill::from_percent(10);
	pub const MissedVerdictSlash: Perbill = Perbill::from_percent(10);
	/// About an hour at six-second blocks.
	pub const HeartbeatPeriod: BlockNumber = 600;
	pub const UnbondingPeriod: BlockNumber = 24 * HOURS;
	/// Heartbeats go ahead of ordinary transactions: a node must not be slashed for a
	/// crowded pool.
	pub const HeartbeatPriority: sp_runtime::transaction_validity::TransactionPriority =
		sp_runtime::transaction_validity::TransactionPriority::MAX / 2;
}

impl pallet_node_registry::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type NodeDeposit = NodeDeposit;
	type MinStakeBasic = MinStakeBasic;
	type MinStakeGpu = MinStakeGpu;
	type MinStakeTee = MinStakeTee;
	type PriorityStake = PriorityStake;
	type FailedVerificationSlash = FailedVerificationSlash;
	type ForgedResultSlash = ForgedResultSlash;
	type MissedHeartbeatSlash = MissedHeartbeatSlash;
	type MaxOffences = ConstU32<3>;
	type SlashBeneficiary = TreasuryAccount;
	type HeartbeatPeriod = HeartbeatPeriod;
	type MaxMissedHeartbeats = ConstU32<3>;
	type UnbondingPeriod = UnbondingPeriod;
	// 16 × 599 blocks checks every one of MaxNodes within a period.
	type SweepBatch = ConstU32<16>;
	type MaxNodes = ConstU32<9_000>;
	type MaxNodesPerOwner = ConstU32<16>;
	type MaxRegionLen = ConstU32<32>;
	type MaxEndpointLen = ConstU32<128>;
	type HeartbeatPriority = HeartbeatPriority;
	// Until proof-of-compute assigns jobs, no node has open work.
	type Workload = ProofOfCompute;
	type Dids = Did;
	type Reputation = Reputation;
	type WeightInfo = pallet_node_registry::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// Pays for a DID document and the grants it may give without funds.
	pub const DidDeposit: Balance = UNIT;
	/// A DID-signed operation that fails costs a hundredth of the DID's deposit: a hundred
	/// failures use it up, and then the DID's key can send nothing more.
	pub const FailedDidOperationFee: Balance = DidDeposit::get() / 100;
	/// DID-signed operations queue behind heartbeats.
	pub const DidOperationPriority: sp_runtime::transaction_validity::TransactionPriority =
		sp_runtime::transaction_validity::TransactionPriority::MAX / 4;
}

impl pallet_did::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Deposit = DidDeposit;
	type MaxControllers = ConstU32<8>;
	// A CIDv1 with a 64-byte digest is 68 bytes.
	type MaxCidLen = ConstU32<96>;
	type MaxGrantsPerDid = ConstU32<64>;
	type OperationLongevity = ConstU64<64>;
	type OperationPriority = DidOperationPriority;
	type FailedOperationFee = FailedDidOperationFee;
	type FeeBeneficiary = TreasuryAccount;
	type WeightInfo = pallet_did::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	pub const ModelDeposit: Balance = 10 * UNIT;
	pub const ProposalDeposit: Balance = UNIT;
	/// About a day at six-second blocks.
	pub const VotingPeriod: BlockNumber = DAYS;
	pub const MigrationWindow: BlockNumber = DAYS;
}

impl pallet_model_registry::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type ModelDeposit = ModelDeposit;
	type ProposalDeposit = ProposalDeposit;
	type RejectedDepositBeneficiary = TreasuryAccount;
	type Approvers = ModelApprovers;
	// One approver suffices until root or the approvers raise it for M-of-N.
	type DefaultApprovalThreshold = ConstU32<1>;
	type ThresholdOrigin = EnsureRoot<AccountId>;
	type VotingPeriod = VotingPeriod;
	type MigrationWindow = MigrationWindow;
	type MaxVersions = ConstU32<1_000>;
	type Jobs = ProofOfCompute;
	type Dids = Did;
	type WeightInfo = pallet_model_registry::weights::SubstrateWeight<Runtime>;
}

impl pallet_membership::Config<pallet_membership::Instance1> for Runtime {
	type RuntimeEvent = crate::RuntimeEvent;
	type AddOrigin = EnsureRoot<AccountId>;
	type RemoveOrigin = EnsureRoot<AccountId>;
	type SwapOrigin = EnsureRoot<AccountId>;
	type ResetOrigin = EnsureRoot<AccountId>;
	type PrimeOrigin = EnsureRoot<AccountId>;
	type MembershipInitialized = ();
	// A smaller approver set lowers a threshold it could no longer reach.
	type MembershipChanged = ModelRegistry;
	// The model registry records at most this many votes per side.
	type MaxMembers = ConstU32<{ pallet_model_registry::types::MAX_APPROVERS }>;
	type WeightInfo = pallet_membership::weights::SubstrateWeight<Runtime>;
}

/// A tier's rule: the least score (percent) and verified contributions it asks for, its
/// spot-check rate as a percentage of the base rate, and its reward multiplier (percent).
const fn tier(score: u32, history: u32, spot_check: u128, reward: u128) -> TierRule {
	// `FixedU128` has 18 decimals: one percent is 10^16.
	const PERCENT: u128 = 10u128.pow(16);
	TierRule {
		min_score: Permill::from_percent(score),
		min_history: history,
		spot_check_factor: FixedU128::from_inner(spot_check * PERCENT),
		reward_multiplier: FixedU128::from_inner(reward * PERCENT),
	}
}

parameter_types! {
	/// The base spot-check rate times 0.2, 0.5, 1 and 2 from the top tier down.
	pub const Tiers: TierRules = TierRules {
		excellent: tier(90, 200, 20, 115),
		trusted: tier(75, 100, 50, 110),
		developing: tier(50, 50, 100, 100),
		new: tier(0, 0, 200, 100),
	};
	/// The base spot-check rate until governance sets another.
	pub const DefaultSpotCheckBase: Permill = Permill::from_percent(10);
	/// 100 Mbit/s earns a full bandwidth dimension.
	pub const ReferenceBandwidth: u64 = 12_500_000;
	pub const ViolationPenalty: Permill = Permill::from_percent(20);
	pub const DataFaultPenalty: Permill = Permill::from_percent(10);
	/// 5% of the distance from neutral per 1 000 blocks after the first 1 000, keeping at
	/// least half of it.
	pub const Decay: DecayRule<BlockNumber> = DecayRule {
		grace: 1_000,
		step: 1_000,
		per_step: Permill::from_percent(5),
		floor: Permill::from_percent(50),
	};
}

impl pallet_reputation::Config for Runtime {
	type Nodes = NodeRegistry;
	type Randomness = RelayChainRandomness;
	type Tiers = Tiers;
	type DefaultSpotCheckBase = DefaultSpotCheckBase;
	type PriorSamples = ConstU32<20>;
	type MemoryLength = ConstU32<1_000>;
	type ReferenceBandwidth = ReferenceBandwidth;
	type EpochLength = ConstU32<DAYS>;
	type ViolationPenalty = ViolationPenalty;
	type ViolationWindow = ConstU32<10_000>;
	type DataFaultPenalty = DataFaultPenalty;
	type Decay = Decay;
	// 5 × 20% is the whole score.
	type MaxViolations = ConstU32<5>;
	type ForceOrigin = EnsureRoot<AccountId>;
	type WeightInfo = pallet_reputation::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = BenchmarkNode;
}

/// Registers nodes for the reputation benchmarks through the node registry.
#[cfg(feature = "runtime-benchmarks")]
pub struct BenchmarkNode;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_reputation::BenchmarkHelper for BenchmarkNode {
	fn registered_node() -> tessera_primitives::NodeId {
		let owner = pallet_node_registry::benchmarking::funded::<Runtime>("reputation", 0);
		pallet_node_registry::benchmarking::registered::<Runtime>(&owner).0
	}
}

parameter_types! {
	pub const MinJobBudget: Balance = UNIT;
	/// Ten units per million work units: the demo's fine-tuning of the iris MLP (300 steps
	/// of 16 samples through 16 hidden units, 76 800 work units) earns 0.768 units a replica.
	pub const RewardPerMillionWorkUnits: Balance = 10 * UNIT;
	pub const ChallengeBond: Balance = 10 * UNIT;
	pub const AvailabilitySample: Perbill = Perbill::from_percent(10);
	/// Asking for an availability check costs the checked node bandwidth and a validator
	/// its time: a check that finds the content served pays the node two units.
	pub const AvailabilityBond: Balance = 2 * UNIT;
	/// What the treasury pays a validator for proving content available: about what a
	/// panel member earns for a segment, for a fetch that is cheaper than a re-execution.
	pub const AvailabilityFee: Balance = UNIT / 20;
	/// A job's storage costs its requester a tenth of a unit and ten micro-units a byte
	/// until it is pruned: a two-replica, two-checkpoint job about 0.12 units, the largest
	/// (five replicas, 256 checkpoints, 32 KiB of inline text) under five.
	pub const JobDepositBase: Balance = UNIT / 10;
	pub const JobDepositPerByte: Balance = UNIT / 100_000;
	/// Per validator and re-executed segment, from the job's budget.
	pub const PanelFee: Balance = UNIT / 10;
	/// Per aggregated round, from the job's budget; grows with the participants.
	pub const AggregatorFee: Balance = UNIT / 10;
	/// A round proceeds at its deadline once four participants in five delivered.
	pub const RoundQuorum: Perbill = Perbill::from_percent(80);
	pub const CommitmentPriority: sp_runtime::transaction_validity::TransactionPriority =
		sp_runtime::transaction_validity::TransactionPriority::MAX / 2;
}

impl pallet_proof_of_compute::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Nodes = NodeRegistry;
	type Slasher = NodeRegistry;
	type Reputation = Reputation;
	type Outcome = ModelRegistry;
	type Traps = ProofOfComputeTraps;
	type Inputs = ModelRegistry;
	type Consent = Did;
	type Randomness = RelayChainRandomness;
	type MaxRedundancy = frame_support::traits::ConstU8<5>;
	type MaxReplacements = ConstU32<10>;
	type MaxCheckpoints = ConstU32<256>;
	type MaxPendingJobs = ConstU32<256>;
	type MaxDuePerBlock = ConstU32<64>;
	type CandidateSample = ConstU32<64>;
	type AssignmentsPerBlock = ConstU32<4>;
	/// A week at six-second blocks.
	type MaxJobDuration = ConstU32<{ 7 * DAYS }>;
	type MinBudget = MinJobBudget;
	type RewardPerMillionWorkUnits = RewardPerMillionWorkUnits;
	/// Two minutes at six-second blocks for every replica to commit before reveals open.
	type RevealDelay = ConstU32<20>;
	/// Ten minutes at six-second blocks; root may set another window.
	type DefaultChallengeWindow = ConstU32<100>;
	type ForceOrigin = EnsureRoot<AccountId>;
	/// One revealed state in ten is checked unasked.
	type AvailabilitySample = AvailabilitySample;
	/// Eighteen seconds at six-second blocks to fetch checked content.
	type AvailabilityWindow = ConstU32<3>;
	type AvailabilityBond = AvailabilityBond;
	type AvailabilityFee = AvailabilityFee;
	type JobDepositBase = JobDepositBase;
	type JobDepositPerByte = JobDepositPerByte;
	/// About 100 minutes at six-second blocks after a job ends.
	type Retention = ConstU32<1_000>;
	type ChallengeBond = ChallengeBond;
	type PanelSize = ConstU32<3>;
	/// Five minutes at six-second blocks to re-execute one segment.
	type PanelWindow = ConstU32<50>;
	// At the least stake the registry admits (1 TSRA) a silent seat costs what answering
	// would have earned (the 0.1 TSRA panel fee), and more above it; it is not an offence.
	type MissedVerdictSlash = MissedVerdictSlash;
	type MaxAggregatorDraws = frame_support::traits::ConstU8<3>;
	type PanelFee = PanelFee;
	type Treasury = TreasuryAccount;
	/// Ten minutes at six-second blocks for a federated round's updates.
	type RoundWindow = ConstU32<100>;
	type RoundQuorum = RoundQuorum;
	/// A minute at six-second blocks before the next aggregator in turn may aggregate.
	type AggregatorGrace = ConstU32<10>;
	type AggregatorFee = AggregatorFee;
	type CommitmentPriority = CommitmentPriority;
	type WeightInfo = pallet_proof_of_compute::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = BenchmarkNode;
}

#[cfg(feature = "runtime-benchmarks")]
impl pallet_proof_of_compute::BenchmarkHelper for BenchmarkNode {
	fn trainer(index: u32) -> (tessera_primitives::NodeId, tessera_primitives::NodePublic) {
		let owner = pallet_node_registry::benchmarking::funded::<Runtime>("trainer", index);
		pallet_node_registry::benchmarking::registered::<Runtime>(&owner)
	}
	fn validator(index: u32) -> (tessera_primitives::NodeId, tessera_primitives::NodePublic) {
		let owner = pallet_node_registry::benchmarking::funded::<Runtime>("validator", index);
		pallet_node_registry::benchmarking::registered::<Runtime>(&owner)
	}
	fn link_did(node: tessera_primitives::NodeId, did: tessera_primitives::DidId) {
		pallet_node_registry::DidOfNode::<Runtime>::insert(node, did);
	}
}

parameter_types! {
	/// One assignment in a hundred may be a trap job.
	pub const TrapRate: Perbill = Perbill::from_percent(1);
	/// Trap tasks the vault holds at most, armed or waiting for seals.
	pub const MaxVaultTasks: u32 = 16;
}

impl pallet_proof_of_compute::traps::Config for Runtime {
	type Jobs = ProofOfCompute;
	// A trap springs on as many approvers' seals as a proposal needs approvals.
	type TrapQuorum = pallet_model_registry::CurrentApprovalThreshold<Runtime>;
	type DefaultTrapRate = TrapRate;
	type MaxVaultTasks = MaxVaultTasks;
	type TrapOrigin = frame_system::EnsureSignedBy<ModelApprovers, AccountId>;
	type ForceOrigin = EnsureRoot<AccountId>;
	type WeightInfo = pallet_proof_of_compute::traps::weights::SubstrateWeight<Runtime>;
}
