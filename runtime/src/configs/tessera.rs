//! Configuration of Tessera's own pallets, and how their off-chain workers build
//! transactions.

use frame_support::{parameter_types, traits::ConstU32, PalletId};
use polkadot_sdk::*;
use sp_runtime::{generic::Era, traits::AccountIdConversion, Perbill};

use crate::{
	AccountId, Balance, Balances, BlockNumber, Runtime, RuntimeCall, RuntimeHoldReason,
	TxExtension, UncheckedExtrinsic, HOURS, UNIT,
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
	pub const MinStakeBasic: Balance = UNIT;
	pub const MinStakeGpu: Balance = 10 * UNIT;
	pub const MinStakeTee: Balance = 50 * UNIT;
	pub const PriorityStake: Balance = 100 * UNIT;
	pub const FailedVerificationSlash: Perbill = Perbill::from_percent(10);
	pub const ForgedResultSlash: Perbill = Perbill::from_percent(50);
	pub const MissedHeartbeatSlash: Perbill = Perbill::from_percent(10);
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
	type HeartbeatPriority = HeartbeatPriority;
	// Until proof-of-compute assigns jobs, no node has open work.
	type Workload = ();
	type WeightInfo = pallet_node_registry::weights::SubstrateWeight<Runtime>;
}
