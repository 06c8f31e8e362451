//! # Tessera runtime
//!
//! The Cumulus parachain runtime of Tessera. It carries the parachain plumbing of the
//! polkadot-sdk parachain template (parachain system, Aura collators, XCM queues) and,
//! from pallet index 50 on, Tessera's own pallets. The same runtime runs alone under
//! `tessera-node --dev`, where blocks are sealed manually instead of by the relay chain.

#![cfg_attr(not(feature = "std"), no_std)]
// `#[frame_support::runtime]` expands deeply enough to need a higher recursion limit.
#![recursion_limit = "256"]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

pub mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
pub mod configs;
pub mod genesis_config_presets;

use alloc::{borrow::Cow, vec::Vec};
use polkadot_sdk::{staging_parachain_info as parachain_info, *};
use sp_runtime::{
	generic, impl_opaque_keys,
	traits::{BlakeTwo256, IdentifyAccount, Verify},
	MultiAddress, MultiSignature,
};
use sp_version::RuntimeVersion;

pub use sp_consensus_aura::sr25519::AuthorityId as AuraId;

/// A signature of an extrinsic: sr25519, ed25519 or ecdsa.
pub type Signature = MultiSignature;

/// An account on the chain: the public key that signs its extrinsics.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;

/// A balance, in the smallest indivisible unit (see [`UNIT`]).
pub type Balance = u128;

/// The number of extrinsics an account has sent.
pub type Nonce = u32;

/// A block or state hash.
pub type Hash = sp_core::H256;

/// A block number.
pub type BlockNumber = u32;

/// How an extrinsic names an account.
pub type Address = MultiAddress<AccountId, ()>;

/// Block header.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;

/// Block.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// Transaction extensions, checked for every extrinsic in this order.
///
/// `AuthorizeCall` comes first: it lets a call's own `#[pallet::authorize]` logic vouch
/// for an unsigned extrinsic (Tessera's off-chain workers send signed payloads that way),
/// and the checks after it then see the authorized origin. The whole pipeline is wrapped
/// in `StorageWeightReclaim`, which corrects the proof size weight once the extrinsic ran.
pub type TxExtension = cumulus_pallet_weight_reclaim::StorageWeightReclaim<
	Runtime,
	(
		frame_system::AuthorizeCall<Runtime>,
		frame_system::CheckNonZeroSender<Runtime>,
		frame_system::CheckSpecVersion<Runtime>,
		frame_system::CheckTxVersion<Runtime>,
		frame_system::CheckGenesis<Runtime>,
		frame_system::CheckEra<Runtime>,
		frame_system::CheckNonce<Runtime>,
		frame_system::CheckWeight<Runtime>,
		pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
		frame_metadata_hash_extension::CheckMetadataHash<Runtime>,
	),
>;

/// Extrinsic as it arrives from the outside world.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;

/// Storage migrations run on the next runtime upgrade, each guarded by its pallet's storage
/// version so that it runs once: the traps' storage leaves proof of compute's prefix for
/// their own pallet's, traps sealed by job give way to the vault, the training of traps
/// posted is spent, proof of compute's federations keep the randomness of the round before,
/// and its jobs name their kind.
type Migrations = (
	pallet_proof_of_compute::traps::migrations::v1::MoveFromParent<Runtime, ProofOfCompute>,
	pallet_proof_of_compute::traps::migrations::v2::FromTheVault<Runtime>,
	pallet_proof_of_compute::traps::migrations::v3::SpendPosted<Runtime>,
	pallet_proof_of_compute::migrations::v1::KeepPreviousSeed<Runtime>,
	pallet_proof_of_compute::migrations::v2::JobKindField<Runtime>,
);

/// Dispatches blocks and extrinsics to the pallets.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

/// Types the node needs without knowing the runtime's extrinsic format.
pub mod opaque {
	use super::*;
	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
}

impl_opaque_keys! {
	/// The keys a collator registers for a session.
	pub struct SessionKeys {
		/// Aura block authoring key.
		pub aura: Aura,
	}
}

/// Runtime version, as reported to the node and to clients. `spec_version` goes up with every
/// runtime a chain may upgrade to, for `set_code` takes no other and [`Migrations`] run only
/// when it changes; `transaction_version` goes up whenever a call's index or arguments change,
/// so that offline signers refuse to sign the old encoding.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: Cow::Borrowed("tessera"),
	impl_name: Cow::Borrowed("tessera"),
	authoring_version: 1,
	spec_version: 2,
	impl_version: 0,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 2,
	system_version: 1,
};

/// Target block time. Every window in Tessera's pallets is counted in blocks of this length.
pub const MILLI_SECS_PER_BLOCK: u64 = 6000;

/// Aura slot length. It cannot change once the chain runs: block production would stop.
pub const SLOT_DURATION: u64 = MILLI_SECS_PER_BLOCK;

/// Blocks per minute.
pub const MINUTES: BlockNumber = 60_000 / (MILLI_SECS_PER_BLOCK as BlockNumber);
/// Blocks per hour.
pub const HOURS: BlockNumber = MINUTES * 60;
/// Blocks per day.
pub const DAYS: BlockNumber = HOURS * 24;

/// One TSRA, the native token, in its smallest units (12 decimals).
pub const UNIT: Balance = 1_000_000_000_000;
/// A thousandth of a [`UNIT`].
pub const MILLI_UNIT: Balance = 1_000_000_000;
/// A millionth of a [`UNIT`].
pub const MICRO_UNIT: Balance = 1_000_000;

/// The smallest balance an account may hold.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;

/// Asynchronous backing parameters, as in the polkadot-sdk parachain template.
mod async_backing {
	/// Parachain blocks the runtime accepts before the relay chain includes them.
	pub const UNINCLUDED_SEGMENT_CAPACITY: u32 = 3;
	/// Parachain blocks processed per relay chain parent.
	pub const BLOCK_PROCESSING_VELOCITY: u32 = 1;
	/// Relay chain slot length in milliseconds.
	pub const RELAY_CHAIN_SLOT_DURATION_MILLIS: u32 = 6000;
}
pub use async_backing::*;

/// Decides whether a collator may build on a given parent, given the unincluded segment.
type ConsensusHook = cumulus_pallet_aura_ext::FixedVelocityConsensusHook<
	Runtime,
	RELAY_CHAIN_SLOT_DURATION_MILLIS,
	BLOCK_PROCESSING_VELOCITY,
	UNINCLUDED_SEGMENT_CAPACITY,
>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	// System support.
	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type ParachainSystem = cumulus_pallet_parachain_system;
	#[runtime::pallet_index(2)]
	pub type Timestamp = pallet_timestamp;
	#[runtime::pallet_index(3)]
	pub type ParachainInfo = parachain_info;
	#[runtime::pallet_index(4)]
	pub type WeightReclaim = cumulus_pallet_weight_reclaim;

	// Money.
	#[runtime::pallet_index(10)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(11)]
	pub type TransactionPayment = pallet_transaction_payment;

	// Governance.
	#[runtime::pallet_index(15)]
	pub type Sudo = pallet_sudo;

	// Collator support. Authorship must come before session, session before Aura.
	#[runtime::pallet_index(20)]
	pub type Authorship = pallet_authorship;
	#[runtime::pallet_index(21)]
	pub type CollatorSelection = pallet_collator_selection;
	#[runtime::pallet_index(22)]
	pub type Session = pallet_session;
	#[runtime::pallet_index(23)]
	pub type Aura = pallet_aura;
	#[runtime::pallet_index(24)]
	pub type AuraExt = cumulus_pallet_aura_ext;

	// XCM.
	#[runtime::pallet_index(30)]
	pub type XcmpQueue = cumulus_pallet_xcmp_queue;
	#[runtime::pallet_index(31)]
	pub type PolkadotXcm = pallet_xcm;
	#[runtime::pallet_index(32)]
	pub type CumulusXcm = cumulus_pallet_xcm;
	#[runtime::pallet_index(33)]
	pub type MessageQueue = pallet_message_queue;

	// Tessera.
	#[runtime::pallet_index(50)]
	pub type NodeRegistry = pallet_node_registry;
	#[runtime::pallet_index(51)]
	pub type Reputation = pallet_reputation;
	#[runtime::pallet_index(52)]
	pub type Did = pallet_did;
	#[runtime::pallet_index(53)]
	pub type ModelRegistry = pallet_model_registry;
	/// Who approves training proposals and datasets.
	#[runtime::pallet_index(54)]
	pub type ModelApprovers = pallet_membership<Instance1>;
	#[runtime::pallet_index(55)]
	pub type ProofOfCompute = pallet_proof_of_compute;
	/// Proof of compute's trap jobs, a child pallet of it.
	#[runtime::pallet_index(56)]
	pub type ProofOfComputeTraps = pallet_proof_of_compute::traps;
}

cumulus_pallet_parachain_system::register_validate_block! {
	Runtime = Runtime,
	BlockExecutor = cumulus_pallet_aura_ext::BlockExecutor::<Runtime, Executive>,
}
