//! A test runtime with balances and the model registry, a settable approver set, DIDs and a
//! job creator that records what it was asked to run.

use crate::{self as pallet_model_registry, Owner};
use polkadot_sdk::{
	frame_support::{
		self, derive_impl, parameter_types,
		traits::{ConstU32, ConstU64, SortedMembers},
	},
	frame_system, pallet_balances,
	sp_core::H256,
	sp_io::TestExternalities,
	sp_runtime::{BuildStorage, DispatchError},
};
use tessera_primitives::{Cid, DidControl, DidId, JobCreator, JobId, JobSpec};

pub type AccountId = u64;
pub type Balance = u64;
type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		ModelRegistry: pallet_model_registry,
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

pub const OWNER: AccountId = 1;
pub const REQUESTER: AccountId = 2;
pub const APPROVER_ACCOUNTS: [AccountId; 3] = [10, 11, 12];
pub const TREASURY: AccountId = 99;
pub const INITIAL_BALANCE: Balance = 10_000;
pub const MODEL_DEPOSIT: Balance = 50;
pub const PROPOSAL_DEPOSIT: Balance = 20;
pub const VOTING: u64 = 10;
pub const MIGRATION: u64 = 5;
pub const MAX_VERSIONS: u32 = 4;
pub const OWNER_DID: DidId = DidId([4; 32]);

/// A job the registry asked for.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RequestedJob {
	pub requester: AccountId,
	pub spec: JobSpec,
	pub budget: Balance,
	pub redundancy: u8,
	pub deadline: u64,
}

parameter_types! {
	pub static Approvers: Vec<AccountId> = APPROVER_ACCOUNTS.to_vec();
	/// DIDs and their controllers.
	pub static Controllers: Vec<(DidId, AccountId)> = vec![(OWNER_DID, OWNER)];
	pub static RequestedJobs: Vec<RequestedJob> = Vec::new();
	/// Whether the job creator refuses new jobs, as when the requester cannot pay.
	pub static RefuseJobs: bool = false;
	pub const Treasury: AccountId = TREASURY;
}

/// The approvers, kept in a settable list.
pub struct TestApprovers;
impl SortedMembers<AccountId> for TestApprovers {
	fn sorted_members() -> Vec<AccountId> {
		let mut members = Approvers::get();
		members.sort();
		members
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn add(who: &AccountId) {
		Approvers::mutate(|members| members.push(*who));
	}
}

pub struct TestDids;
impl DidControl<AccountId> for TestDids {
	fn is_controller(did: &DidId, account: &AccountId) -> bool {
		Controllers::get().contains(&(*did, *account))
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn controlled_by(account: &AccountId) -> DidId {
		let did = DidId([*account as u8; 32]);
		Controllers::mutate(|controllers| controllers.push((did, *account)));
		did
	}
}

/// Jobs get ids 100, 101, … in the order they are asked for.
pub struct TestJobs;
impl JobCreator<AccountId, Balance, u64> for TestJobs {
	fn create_job(
		requester: &AccountId,
		spec: JobSpec,
		budget: Balance,
		redundancy: u8,
		deadline: u64,
	) -> Result<JobId, DispatchError> {
		if RefuseJobs::get() {
			return Err(DispatchError::Other("cannot pay"));
		}
		RequestedJobs::mutate(|jobs| {
			jobs.push(RequestedJob { requester: *requester, spec, budget, redundancy, deadline });
			Ok(99 + jobs.len() as JobId)
		})
	}
	fn consent_check_weight() -> frame_support::weights::Weight {
		frame_support::weights::Weight::zero()
	}
}

impl pallet_model_registry::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type ModelDeposit = ConstU64<MODEL_DEPOSIT>;
	type ProposalDeposit = ConstU64<PROPOSAL_DEPOSIT>;
	type RejectedDepositBeneficiary = Treasury;
	type Approvers = TestApprovers;
	type DefaultApprovalThreshold = ConstU32<2>;
	type ThresholdOrigin = frame_system::EnsureRoot<AccountId>;
	type VotingPeriod = ConstU64<VOTING>;
	type MigrationWindow = ConstU64<MIGRATION>;
	type MaxVersions = ConstU32<MAX_VERSIONS>;
	type Jobs = TestJobs;
	type Dids = TestDids;
	type WeightInfo = ();
}

pub fn cid(text: &str) -> Cid {
	text.as_bytes().to_vec().try_into().expect("a short CID")
}

pub fn digest(byte: u8) -> H256 {
	H256::repeat_byte(byte)
}

/// Funds the owner, the requester, the approvers and the treasury; starts at block 1 with
/// one model (id 0, root digest `digest(1)`, owned by `OWNER`, open to anyone's training
/// proposals) and one dataset (id 0).
pub fn new_test_ext() -> TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut balances = vec![(OWNER, INITIAL_BALANCE), (REQUESTER, INITIAL_BALANCE), (TREASURY, 1)];
	balances.extend(APPROVER_ACCOUNTS.iter().map(|approver| (*approver, INITIAL_BALANCE)));
	pallet_balances::GenesisConfig::<Test> { balances, ..Default::default() }
		.assimilate_storage(&mut storage)
		.unwrap();
	pallet_model_registry::GenesisConfig::<Test> {
		models: vec![(
			Owner::Account(OWNER),
			b"digits-mlp".to_vec(),
			b"mlp".to_vec(),
			b"bafy-meta".to_vec(),
			b"bafy-weights-0".to_vec(),
			digest(1),
			crate::TrainingPolicy::Anyone,
		)],
		datasets: vec![(
			b"bafy-digits".to_vec(),
			4,
			b"CC0-1.0".to_vec(),
			OWNER_DID,
			tessera_primitives::DatasetConsent::Public,
		)],
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs a test and checks the pallet's invariants afterwards.
pub fn test(body: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		body();
		ModelRegistry::do_try_state().expect("invariants hold after the test");
	});
}
