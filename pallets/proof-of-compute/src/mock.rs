//! A test runtime: balances, proof of compute and its traps pallet, and recording stand-ins
//! for the node registry, reputation and the model registry.

use crate::{self as pallet_proof_of_compute, types::*};
use polkadot_sdk::{
	frame_support::{self, derive_impl, parameter_types, traits::Hooks},
	frame_system, pallet_balances,
	sp_core::{sr25519, Pair as _, H256},
	sp_runtime::{
		generic,
		traits::{BlakeTwo256, IdentityLookup},
		BuildStorage, FixedU128, Permill,
	},
};
use tessera_primitives::did::DidId;
use tessera_primitives::NodeSigned as _;
use tessera_primitives::{
	Architecture, BackendClass, Capabilities, Cid, CommitmentPayload, ConsentInspect,
	DatasetConsent, HyperParameters, JobId, JobOutcome, JobSpec, NodeId, NodeInspect, NodePublic,
	NodeRole, NodeSignature, Outcome, ReputationInspect, ReputationSink, SlashReason, Slasher,
	TrainedWeights, TrainingInputs, TrustTier,
};

pub type AccountId = u64;
pub type Balance = u64;
type TxExtension = frame_system::AuthorizeCall<Test>;
/// What the off-chain worker pools: authorized transactions.
pub type Extrinsic = polkadot_sdk::sp_runtime::testing::TestXt<RuntimeCall, TxExtension>;
type Block = generic::Block<generic::Header<u64, BlakeTwo256>, Extrinsic>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
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

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

pub const REQUESTER: AccountId = 1;
pub const CHALLENGER: AccountId = 2;
/// The model registry's approver set: two members, both needed to spring a trap.
pub const APPROVER: AccountId = 3;
pub const SECOND_APPROVER: AccountId = 4;

/// The approvers, who set traps.
pub struct TrapSetters;
impl frame_support::traits::SortedMembers<AccountId> for TrapSetters {
	fn sorted_members() -> Vec<AccountId> {
		vec![APPROVER, SECOND_APPROVER]
	}
}
pub const INITIAL_BALANCE: Balance = 1_000_000;
pub const BUDGET: Balance = 4_000;
/// A job of `spec` trains 32 samples a step through 64 hidden units: 2 048 work units a
/// step, so 12.8 a step at this rate.
pub const REWARD_PER_MILLION_WORK_UNITS: Balance = 6_250;
pub const REVEAL_DELAY: u64 = 5;
pub const CHALLENGE_WINDOW: u64 = 10;
pub const BOND: Balance = 500;
pub const PANEL_FEE: Balance = 30;
pub const PANEL_WINDOW: u64 = 8;
pub const MAX_AGGREGATOR_DRAWS: u8 = 3;
pub const AVAILABILITY_WINDOW: u64 = 3;
pub const AVAILABILITY_BOND: Balance = 200;
pub const AVAILABILITY_FEE: Balance = 20;
pub const RETENTION: u64 = 20;
pub const ROUND_WINDOW: u64 = 12;
pub const GRACE: u64 = 4;
pub const AGGREGATOR_FEE: Balance = 1_000;
/// Every node's stake; slashes take it from the owner's free balance.
pub const STAKE: Balance = 1_000;
/// Where slashed stake goes, and what pays bounties.
pub const TREASURY: AccountId = 99;
/// Trainers are nodes 0–4, validators 5–8.
pub const VALIDATORS: [NodeId; 4] = [5, 6, 7, 8];
/// Node `n` is owned by account `OWNER_BASE + n`, unless a test gives it another owner.
pub const OWNER_BASE: AccountId = 100;
/// The most blocks from a job's creation to its deadline.
pub const MAX_JOB_DURATION: u64 = 1_000;

/// A registered node as the stand-in registry knows it.
#[derive(Clone, Debug)]
pub struct TestNode {
	pub id: NodeId,
	pub owner: AccountId,
	pub active: bool,
	pub trainer: bool,
	pub validator: bool,
	pub gpu: bool,
}

parameter_types! {
	/// The datasets the model registry approved: CID, owner DID and who may train on it.
	pub static ApprovedDatasets: Vec<(Vec<u8>, DidId, DatasetConsent)> =
		vec![(b"bafkdata".to_vec(), DATA_OWNER, DatasetConsent::Public)];
	/// The DID each node is linked to.
	pub static NodeDids: Vec<(NodeId, DidId)> = Vec::new();
	/// Live grants: dataset, grantor, grantee.
	pub static Grants: Vec<(Vec<u8>, DidId, DidId)> = Vec::new();
	/// Revoked DIDs.
	pub static RevokedDids: Vec<DidId> = Vec::new();
	/// The uses recorded in grants' audit trails: dataset, grantor, grantee.
	pub static RecordedUses: Vec<(JobId, Vec<u8>, DidId, DidId)> = Vec::new();
	/// Grantees whose grant has a privacy budget: ε left in thousandths, and the largest δ.
	pub static PrivacyLeft: Vec<(DidId, u32, polkadot_sdk::sp_runtime::Perbill)> = Vec::new();
	/// The states registered as model versions.
	pub static RegisteredVersions: Vec<TrainedWeights> = vec![TrainedWeights {
		weights: Cid::truncate_from(b"bafkbase".to_vec()),
		digest: H256::repeat_byte(1),
	}];
	/// The registered versions a job produced, and the job.
	pub static ProducedVersions: Vec<(TrainedWeights, JobId)> = Vec::new();
	pub static Nodes: Vec<TestNode> = (0..9)
		.map(|id| TestNode {
			id,
			owner: OWNER_BASE + AccountId::from(id),
			active: true,
			trainer: id < 5,
			validator: id >= 5,
			gpu: id < 2,
		})
		.collect();
	pub static Slashes: Vec<(NodeId, SlashReason)> = Vec::new();
	pub static Reports: Vec<(NodeId, Outcome)> = Vec::new();
	pub static SpotChecked: Vec<NodeId> = Vec::new();
	pub static Finished: Vec<(JobId, Option<TrainedWeights>)> = Vec::new();
	pub static Seed: H256 = H256::repeat_byte(7);
	/// Three, unless a test tries another size.
	pub static PanelSizeOverride: u32 = 3;
	/// Jobs hold no storage deposit unless a test says so, so that balances elsewhere are
	/// budgets and rewards alone.
	pub static JobDepositBaseOf: Balance = 0;
	pub static JobDepositPerByteOf: Balance = 0;
	/// No reveal is checked unasked unless a test says so.
	pub static AvailabilitySampleRate: polkadot_sdk::sp_runtime::Perbill =
		polkadot_sdk::sp_runtime::Perbill::zero();
	pub const RoundQuorum: polkadot_sdk::sp_runtime::Perbill =
		polkadot_sdk::sp_runtime::Perbill::from_percent(80);
	pub const MissedVerdictSlash: polkadot_sdk::sp_runtime::Perbill =
		polkadot_sdk::sp_runtime::Perbill::from_percent(5);
	pub const TrapRateDefault: polkadot_sdk::sp_runtime::Perbill =
		polkadot_sdk::sp_runtime::Perbill::from_percent(1);
}

/// The node key of node `id`.
pub fn node_pair(id: NodeId) -> sr25519::Pair {
	sr25519::Pair::from_seed(&[id as u8 + 1; 32])
}

pub struct TestNodes;
impl TestNodes {
	/// The active nodes with `role`, by id.
	fn active_with(role: NodeRole) -> impl Iterator<Item = NodeId> {
		Nodes::get()
			.into_iter()
			.filter(|n| n.active)
			.map(|n| n.id)
			.filter(move |id| Self::has_role(*id, role))
	}
}

impl NodeInspect<AccountId> for TestNodes {
	type Balance = Balance;
	fn is_active(node: NodeId) -> bool {
		Nodes::get().iter().any(|n| n.id == node && n.active)
	}
	fn owner(node: NodeId) -> Option<AccountId> {
		Nodes::get().iter().find(|n| n.id == node).map(|n| n.owner)
	}
	fn has_role(node: NodeId, role: NodeRole) -> bool {
		Nodes::get().iter().any(|n| {
			n.id == node
				&& match role {
					NodeRole::Trainer => n.trainer,
					NodeRole::Validator => n.validator,
					_ => false,
				}
		})
	}
	fn capabilities(node: NodeId) -> Option<Capabilities> {
		Nodes::get()
			.iter()
			.find(|n| n.id == node)
			.map(|n| Capabilities::new(n.gpu, false, 100, 100, 100))
	}
	fn node_key(node: NodeId) -> Option<NodePublic> {
		Nodes::get().iter().any(|n| n.id == node).then(|| node_pair(node).public().into())
	}
	fn node_of_key(key: &NodePublic) -> Option<NodeId> {
		Nodes::get().iter().map(|n| n.id).find(|id| Self::node_key(*id).as_ref() == Some(key))
	}
	fn stake(_: NodeId) -> Balance {
		STAKE
	}
	fn active_count(role: NodeRole) -> u32 {
		Self::active_with(role).count() as u32
	}
	fn active_at(role: NodeRole, position: u32) -> Option<NodeId> {
		Self::active_with(role).nth(position as usize)
	}
	/// Node `n` serves its content at `http://node-n`.
	fn endpoint(node: NodeId) -> Option<Vec<u8>> {
		Nodes::get()
			.iter()
			.any(|n| n.id == node)
			.then(|| format!("http://node-{node}").into_bytes())
	}
	fn did(node: NodeId) -> Option<DidId> {
		NodeDids::get().into_iter().find(|(id, _)| *id == node).map(|(_, did)| did)
	}
}

/// What a slash for `reason` takes from a node's [`STAKE`]: the node registry's shares.
pub fn slash_amount(reason: SlashReason) -> Balance {
	match reason {
		SlashReason::FailedVerification => STAKE / 10,
		SlashReason::ForgedResult => STAKE / 2,
		SlashReason::AbandonedJob(share)
		| SlashReason::DataUnavailable(share)
		| SlashReason::MissedVerdict(share) => share * STAKE,
		_ => STAKE,
	}
}

/// Moves the slashed share from the owner's free balance to the beneficiary (the treasury
/// by default), as the node registry moves it from the owner's stake hold.
pub struct TestSlasher;
impl Slasher<AccountId, Balance> for TestSlasher {
	fn slash(
		node: NodeId,
		reason: SlashReason,
		beneficiary: Option<AccountId>,
	) -> Result<Balance, polkadot_sdk::sp_runtime::DispatchError> {
		use frame_support::traits::{fungible::Mutate, tokens::Preservation};
		Slashes::mutate(|slashes| slashes.push((node, reason)));
		let owner = TestNodes::owner(node).ok_or("unknown node")?;
		let amount = slash_amount(reason);
		Balances::transfer(
			&owner,
			&beneficiary.unwrap_or(TREASURY),
			amount,
			Preservation::Expendable,
		)
	}
}

pub struct TestReputation;
impl ReputationSink for TestReputation {
	fn report(node: NodeId, outcome: Outcome) {
		Reports::mutate(|reports| reports.push((node, outcome)));
	}
	fn slashed(_: NodeId, _: SlashReason) {}
	fn forget(_: NodeId) {}
	fn report_weight() -> frame_support::weights::Weight {
		Default::default()
	}
	fn slashed_weight() -> frame_support::weights::Weight {
		Default::default()
	}
	fn forget_weight() -> frame_support::weights::Weight {
		Default::default()
	}
}
impl ReputationInspect for TestReputation {
	fn score(node: NodeId) -> Permill {
		Permill::from_percent(50 + node * 10)
	}
	fn tier(_: NodeId) -> TrustTier {
		TrustTier::New
	}
	fn spot_check_rate(_: NodeId) -> Permill {
		Permill::zero()
	}
	fn should_spot_check(node: NodeId, _: JobId) -> bool {
		SpotChecked::get().contains(&node)
	}
	/// Node 2 is trusted: 1.10.
	fn reward_multiplier(node: NodeId) -> FixedU128 {
		if node == 2 {
			FixedU128::from_rational(110, 100)
		} else {
			FixedU128::from_u32(1)
		}
	}
	fn should_spot_check_weight() -> frame_support::weights::Weight {
		Default::default()
	}
}

pub struct TestOutcome;
impl JobOutcome for TestOutcome {
	fn finalized(job: JobId, result: &TrainedWeights) -> frame_support::weights::Weight {
		Finished::mutate(|finished| finished.push((job, Some(result.clone()))));
		Default::default()
	}
	fn failed(job: JobId) -> frame_support::weights::Weight {
		Finished::mutate(|finished| finished.push((job, None)));
		Default::default()
	}
	/// More than any step of the pallet's own, so that leaving it out shows.
	fn max_weight() -> frame_support::weights::Weight {
		frame_support::weights::Weight::from_parts(5_000_000_000, 50_000)
	}
}

/// What the tests' consent check charges for walking a data owner's grants.
pub const GRANT_WALK_WEIGHT: frame_support::weights::Weight =
	frame_support::weights::Weight::from_parts(7_000_000, 7_000);

/// The DID that owns the tests' dataset.
pub const DATA_OWNER: DidId = DidId([4; 32]);

/// The model registry's approved datasets and registered versions: public `bafkdata` and
/// the state `bafkbase`/`0x01…`, unless a test sets others.
pub struct TestInputs;
impl TrainingInputs for TestInputs {
	fn dataset_terms(dataset: &[u8]) -> Option<(DidId, DatasetConsent)> {
		ApprovedDatasets::get()
			.into_iter()
			.find(|(cid, ..)| cid == dataset)
			.map(|(_, owner, consent)| (owner, consent))
	}
	fn is_registered_version(state: &TrainedWeights) -> bool {
		RegisteredVersions::get().contains(state)
	}
	fn producer(state: &TrainedWeights) -> Option<JobId> {
		ProducedVersions::get()
			.into_iter()
			.find(|(version, _)| version == state)
			.map(|(_, job)| job)
	}
	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmarks(dataset: &[u8], owner: &DidId, state: &TrainedWeights) {
		ApprovedDatasets::mutate(|datasets| {
			datasets.push((dataset.to_vec(), *owner, DatasetConsent::Granted))
		});
		RegisteredVersions::mutate(|versions| versions.push(state.clone()));
	}
}

/// The DID pallet's grants, kept in lists.
pub struct TestConsent;
impl ConsentInspect for TestConsent {
	fn is_allowed(dataset: &[u8], grantor: &DidId, grantee: &DidId) -> bool {
		Grants::get().contains(&(dataset.to_vec(), *grantor, *grantee))
			&& Self::is_live(grantor)
			&& Self::is_live(grantee)
	}
	fn is_live(did: &DidId) -> bool {
		!RevokedDids::get().contains(did)
	}
	fn within_budget(
		_: &[u8],
		_: &DidId,
		grantee: &DidId,
		spend: Option<(u32, polkadot_sdk::sp_runtime::Perbill)>,
	) -> bool {
		match (PrivacyLeft::get().into_iter().find(|(did, ..)| did == grantee), spend) {
			(None, _) => true,
			(Some(_), None) => false,
			(Some((_, left, largest)), Some((epsilon, delta))) => {
				epsilon <= left && delta <= largest
			}
		}
	}
	fn some_grant_allows(
		dataset: &[u8],
		grantor: &DidId,
		spend: Option<(u32, polkadot_sdk::sp_runtime::Perbill)>,
	) -> bool {
		Grants::get().into_iter().any(|(data, owner, grantee)| {
			data == dataset
				&& owner == *grantor
				&& Self::is_allowed(dataset, grantor, &grantee)
				&& Self::within_budget(dataset, grantor, &grantee, spend)
		})
	}
	fn some_grant_allows_weight() -> frame_support::weights::Weight {
		GRANT_WALK_WEIGHT
	}
	fn record_use(
		job: JobId,
		dataset: &[u8],
		grantor: &DidId,
		grantee: &DidId,
		epsilon: Option<u32>,
	) {
		if !Self::is_allowed(dataset, grantor, grantee) {
			return;
		}
		RecordedUses::mutate(|uses| uses.push((job, dataset.to_vec(), *grantor, *grantee)));
		PrivacyLeft::mutate(|budgets| {
			for (did, left, _) in budgets.iter_mut() {
				if did == grantee {
					*left = left.saturating_sub(epsilon.unwrap_or_default());
				}
			}
		});
	}
	#[cfg(feature = "runtime-benchmarks")]
	fn grant_for_benchmarks(dataset: &[u8], grantor: &DidId, grantee: &DidId) {
		Grants::mutate(|grants| grants.push((dataset.to_vec(), *grantor, *grantee)));
	}
}

pub struct TestRandomness;
impl frame_support::traits::Randomness<H256, u64> for TestRandomness {
	fn random(subject: &[u8]) -> (H256, u64) {
		let mut bytes = Seed::get().as_bytes().to_vec();
		bytes.extend_from_slice(subject);
		(H256(polkadot_sdk::sp_io::hashing::blake2_256(&bytes)), System::block_number())
	}
}

impl crate::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Nodes = TestNodes;
	type Slasher = TestSlasher;
	type Reputation = TestReputation;
	type Outcome = TestOutcome;
	type Traps = ProofOfComputeTraps;
	type Inputs = TestInputs;
	type Consent = TestConsent;
	type Randomness = TestRandomness;
	type MaxRedundancy = frame_support::traits::ConstU8<5>;
	type MaxReplacements = frame_support::traits::ConstU32<3>;
	type MaxCheckpoints = frame_support::traits::ConstU32<8>;
	type MaxPendingJobs = frame_support::traits::ConstU32<4>;
	type MaxDuePerBlock = frame_support::traits::ConstU32<4>;
	type CandidateSample = frame_support::traits::ConstU32<64>;
	type AssignmentsPerBlock = frame_support::traits::ConstU32<2>;
	type MaxJobDuration = frame_support::traits::ConstU64<MAX_JOB_DURATION>;
	type MinBudget = frame_support::traits::ConstU64<100>;
	type RewardPerMillionWorkUnits = frame_support::traits::ConstU64<REWARD_PER_MILLION_WORK_UNITS>;
	type RevealDelay = frame_support::traits::ConstU64<REVEAL_DELAY>;
	type DefaultChallengeWindow = frame_support::traits::ConstU64<CHALLENGE_WINDOW>;
	type ForceOrigin = frame_system::EnsureRoot<u64>;
	type AvailabilitySample = AvailabilitySampleRate;
	type AvailabilityWindow = frame_support::traits::ConstU64<AVAILABILITY_WINDOW>;
	type AvailabilityBond = frame_support::traits::ConstU64<AVAILABILITY_BOND>;
	type JobDepositBase = JobDepositBaseOf;
	type JobDepositPerByte = JobDepositPerByteOf;
	type AvailabilityFee = frame_support::traits::ConstU64<AVAILABILITY_FEE>;
	type Retention = frame_support::traits::ConstU64<RETENTION>;
	type ChallengeBond = frame_support::traits::ConstU64<BOND>;
	type PanelSize = PanelSizeOverride;
	type PanelWindow = frame_support::traits::ConstU64<PANEL_WINDOW>;
	type MissedVerdictSlash = MissedVerdictSlash;
	type MaxAggregatorDraws = frame_support::traits::ConstU8<MAX_AGGREGATOR_DRAWS>;
	type PanelFee = frame_support::traits::ConstU64<PANEL_FEE>;
	type Treasury = frame_support::traits::ConstU64<TREASURY>;
	type RoundWindow = frame_support::traits::ConstU64<ROUND_WINDOW>;
	type RoundQuorum = RoundQuorum;
	type AggregatorGrace = frame_support::traits::ConstU64<GRACE>;
	type AggregatorFee = frame_support::traits::ConstU64<AGGREGATOR_FEE>;
	type CommitmentPriority = frame_support::traits::ConstU64<100>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = TestNodes;
}

impl crate::traps::Config for Test {
	type Jobs = ProofOfCompute;
	type TrapQuorum = frame_support::traits::ConstU32<2>;
	type DefaultTrapRate = TrapRateDefault;
	type MaxVaultTasks = frame_support::traits::ConstU32<4>;
	type TrapOrigin = frame_system::EnsureSignedBy<TrapSetters, AccountId>;
	type ForceOrigin = frame_system::EnsureRoot<u64>;
	type WeightInfo = ();
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper for TestNodes {
	fn trainer(index: NodeId) -> (NodeId, NodePublic) {
		(index, node_pair(index).public().into())
	}
	fn validator(index: NodeId) -> (NodeId, NodePublic) {
		let id = VALIDATORS[index as usize % VALIDATORS.len()];
		(id, node_pair(id).public().into())
	}
	fn link_did(node: NodeId, did: DidId) {
		NodeDids::mutate(|dids| dids.push((node, did)));
	}
}

/// A job of `steps` steps committing every 10: `steps / 10` checkpoints.
pub fn spec(steps: u32, backend: BackendClass) -> JobSpec {
	JobSpec {
		architecture: Architecture::Mlp { hidden: vec![64].try_into().unwrap() },
		base_weights: Cid::truncate_from(b"bafkbase".to_vec()),
		base_digest: H256::repeat_byte(1),
		dataset: Cid::truncate_from(b"bafkdata".to_vec()),
		hyper_parameters: HyperParameters {
			learning_rate: polkadot_sdk::sp_runtime::Perbill::from_percent(10),
			batch_size: 32,
			steps,
			checkpoint_every: 10,
			seed: 1,
			optimizer: tessera_primitives::Optimizer::Sgd,
		},
		texts: Default::default(),
		trainer_build: H256::repeat_byte(2),
		backend,
	}
}

/// What replica `node` reports at `checkpoint`; `digest` names the weights it ended with.
pub fn payload(
	job: JobId,
	node: NodeId,
	checkpoint: u32,
	digest: u8,
	last: bool,
) -> CommitmentPayload {
	CommitmentPayload {
		job,
		checkpoint,
		step: (checkpoint as u64 + 1) * 10,
		loss_digest: H256::repeat_byte(digest),
		gradient_digest: H256::repeat_byte(digest),
		weights_digest: H256::repeat_byte(digest),
		delta_root: H256::repeat_byte(digest),
		state_cid: Cid::truncate_from(alloc::vec![b'b', digest]),
		samples: 320,
		backend_class: BackendClass::CpuReference,
		node,
		work: last.then_some(100),
	}
}

/// The training state [`payload`] names for `digest`, as the chain names a start state.
pub fn state_of(digest: u8) -> TrainedWeights {
	let payload = payload(0, 0, 0, digest, false);
	TrainedWeights { weights: payload.state_cid, digest: payload.weights_digest }
}

pub fn salt(node: NodeId) -> [u8; 32] {
	[node as u8 + 40; 32]
}

pub fn signed_commit(commit: &Commit) -> NodeSignature {
	node_pair(commit.node).sign(&commit.signed_bytes(&ProofOfCompute::genesis_hash())).into()
}

pub fn signed_reveal(reveal: &Reveal) -> NodeSignature {
	node_pair(reveal.payload.node)
		.sign(&reveal.signed_bytes(&ProofOfCompute::genesis_hash()))
		.into()
}

/// What a block leaves over for `on_idle`: half a second, and a megabyte of proof.
pub const IDLE_WEIGHT: frame_support::weights::Weight =
	frame_support::weights::Weight::from_parts(500_000_000_000, 1024 * 1024);

/// Runs the next block's hooks: where the chain verifies a job whose last reveal came in.
pub fn next_block() {
	run_to(System::block_number() + 1);
}

pub fn run_to(block: u64) {
	while System::block_number() < block {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		ProofOfCompute::on_poll(next, &mut frame_support::weights::WeightMeter::new());
		ProofOfComputeTraps::on_poll(next, &mut frame_support::weights::WeightMeter::new());
		let used = ProofOfCompute::on_idle(next, IDLE_WEIGHT);
		ProofOfComputeTraps::on_idle(next, IDLE_WEIGHT.saturating_sub(used));
		// Every invariant holds at every block boundary, not only where a test ends.
		ProofOfCompute::do_try_state().expect("the pallet's invariants hold");
		ProofOfComputeTraps::do_try_state().expect("the traps pallet's invariants hold");
	}
}

pub fn new_test_ext() -> polkadot_sdk::sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: [REQUESTER, CHALLENGER, APPROVER, SECOND_APPROVER, TREASURY]
			.into_iter()
			.chain((0..9).map(|n| OWNER_BASE + n))
			.map(|who| (who, INITIAL_BALANCE))
			.collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = polkadot_sdk::sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// The test externalities with every mock node's key in the keystore, which the benchmarks
/// sign with.
#[cfg(feature = "runtime-benchmarks")]
pub fn new_bench_ext() -> polkadot_sdk::sp_io::TestExternalities {
	use polkadot_sdk::sp_keystore::{testing::MemoryKeystore, Keystore, KeystoreExt};
	let keystore = MemoryKeystore::new();
	for node in Nodes::get() {
		let seed: String =
			[node.id as u8 + 1; 32].iter().map(|byte| format!("{byte:02x}")).collect();
		keystore
			.sr25519_generate_new(tessera_primitives::NODE_KEY_TYPE, Some(&format!("0x{seed}")))
			.expect("a valid seed");
	}
	let mut ext = new_test_ext();
	ext.register_extension(KeystoreExt::new(keystore));
	ext
}
