//! # Node Registry Pallet
//!
//! The compute nodes of Tessera: who runs them, what they offer, what they staked and
//! whether they are alive. In Tessera's runtime this is pallet index 50; the figures in
//! parentheses below are that runtime's settings.
//!
//! ## Overview
//!
//! An account registers a node with its roles, region, packed [`Capabilities`], the hash of
//! its hardware report, its node key and a stake ([`Pallet::register`]). The stake is held
//! from the owner's balance with the `fungible` hold API under [`HoldReason::NodeStake`]
//! (it shows as `reserved`); the minimum depends on the hardware tier: basic, GPU, TEE
//! ([`Config::MinStakeBasic`], [`Config::MinStakeGpu`], [`Config::MinStakeTee`]: 1, 10 and
//! 50 TSRA), and [`Config::PriorityStake`] (100 TSRA) or more gives priority in assignment.
//! Beside it, [`Config::NodeDeposit`] (10 TSRA) is held under [`HoldReason::NodeDeposit`]
//! for the node's records until it is removed: unlike the stake it is never slashed, so
//! every slot of the bounded registry costs its holder at least the deposit for as long as
//! it is taken (filling the registry's 9 000 places with junk nodes costs at least 99 000
//! TSRA with the basic stake). One account may run several nodes.
//!
//! A node proves it is alive with one heartbeat per period, an authorized transaction its
//! off-chain worker signs with the node key. At the start of every period a sweep checks, a
//! bounded batch of nodes per block, who sent a heartbeat in the period that just ended:
//! each miss is a warning ([`Event::HeartbeatMissed`]), and
//! [`Config::MaxMissedHeartbeats`] (3) misses in a row cost [`Config::MissedHeartbeatSlash`]
//! (10%) of the stake and deactivate the node; [`Pallet::reactivate`] brings it back.
//!
//! Other pallets slash nodes for confirmed faults through [`Slasher`] and read them through
//! [`NodeInspect`], both implemented here and wired in the runtime.
//!
//! ## Terminology
//!
//! - **Node key**: an sr25519 key of key type `tsra` in the node's keystore. It is unique
//!   across nodes; registering it needs a signature by it over the owner's account
//!   ([`types::key_ownership_message`]), so nobody can claim a key they do not control.
//! - **Period**: [`Config::HeartbeatPeriod`] blocks (600); block `n` lies in period
//!   `n / period`.
//! - **Offence**: a confirmed fault reported through [`Slasher`]. The
//!   [`Config::MaxOffences`]-th costs the whole stake and deactivates the node.
//! - **Unbonding**: after `deregister` the node gets no work, but its stake stays held and
//!   slashable for [`Config::UnbondingPeriod`] blocks (24 hours), then `withdraw_unbonded`
//!   releases it and the deposit.
//!
//! ## Interface
//!
//! ### For node operators
//! - [`Pallet::register`], [`Pallet::update`], [`Pallet::bond_extra`],
//!   [`Pallet::attest_hardware`], [`Pallet::deregister`], [`Pallet::withdraw_unbonded`],
//!   [`Pallet::reactivate`].
//!
//! ### For off-chain workers
//! - [`Pallet::heartbeat`]: an authorized (unsigned) call; see [`Pallet::authorize_heartbeat`].
//!
//! ### For other pallets
//! - [`NodeInspect`] and [`Slasher`].
//!
//! ### For clients
//! - The runtime API [`runtime_api::NodeRegistryApi`].

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
pub mod benchmarking;
mod impls;
#[cfg(test)]
mod mock;
mod offchain;
pub mod runtime_api;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use pallet::*;
pub use types::{Heartbeat, NodeInfo, PeriodIndex, Roles};
pub use weights::WeightInfo;

use polkadot_sdk::{
	frame_support::{self, traits::fungible},
	frame_system, sp_core, sp_runtime,
};
use tessera_primitives::{
	dispatch_after_authorize, Capabilities, DidControl, DidId, NodeId, NodeInspect, NodePublic,
	NodeRole, NodeSignature, NodeSigned, NodeStatus, NodeWorkload, ReputationSink, Slasher,
};

const LOG_TARGET: &str = "runtime::node-registry";

/// The balance type of the configured currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// A node's record as this runtime stores it.
pub type NodeInfoOf<T> = NodeInfo<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	frame_system::pallet_prelude::BlockNumberFor<T>,
	RegionOf<T>,
>;

/// A node's region, bounded by [`Config::MaxRegionLen`].
pub type RegionOf<T> = frame_support::BoundedVec<u8, <T as Config>::MaxRegionLen>;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{pallet_prelude::*, traits::fungible::MutateHold};
	use frame_system::{offchain::CreateAuthorizedTransaction, pallet_prelude::*};
	use sp_runtime::{
		traits::{Saturating, Zero},
		Perbill, SaturatedConversion,
	};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the node registry.
	///
	/// The runtime must include `frame_system::AuthorizeCall` in its transaction extensions
	/// and implement `CreateAuthorizedTransaction`, or heartbeats never reach a block.
	#[pallet::config]
	pub trait Config:
		polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>>
		+ CreateAuthorizedTransaction<Call<Self>>
	{
		/// The currency stakes are held in.
		type Currency: MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ fungible::Mutate<Self::AccountId>;

		/// The overarching hold reason, which includes this pallet's [`HoldReason`].
		type RuntimeHoldReason: From<HoldReason>;

		/// Held from a node's owner, beside the stake, from registration until the node's
		/// record is removed by `withdraw_unbonded`, and then returned in full. It pays for
		/// the records a node makes the chain keep and is never slashed, so that a slot of
		/// the registry costs something even when its stake has been slashed away: filling
		/// the registry takes [`Config::MaxNodes`] × (this + [`Config::MinStakeBasic`]), of
		/// which [`Config::MaxNodes`] × this stays held whatever is slashed. Must exceed the
		/// existential deposit (checked by `integrity_test`).
		#[pallet::constant]
		type NodeDeposit: Get<BalanceOf<Self>>;

		/// The least stake of a node without GPU or TEE.
		#[pallet::constant]
		type MinStakeBasic: Get<BalanceOf<Self>>;

		/// The least stake of a node that declares a GPU.
		#[pallet::constant]
		type MinStakeGpu: Get<BalanceOf<Self>>;

		/// The least stake of a node that declares a TEE.
		#[pallet::constant]
		type MinStakeTee: Get<BalanceOf<Self>>;

		/// Nodes with at least this stake get priority in assignment.
		#[pallet::constant]
		type PriorityStake: Get<BalanceOf<Self>>;

		/// Share of the stake a failed verification costs.
		#[pallet::constant]
		type FailedVerificationSlash: Get<Perbill>;

		/// Share of the stake a forged result costs.
		#[pallet::constant]
		type ForgedResultSlash: Get<Perbill>;

		/// Share of the stake [`Config::MaxMissedHeartbeats`] missed heartbeats in a row cost.
		#[pallet::constant]
		type MissedHeartbeatSlash: Get<Perbill>;

		/// The offence that costs the whole stake and deactivates the node (the third, by
		/// default).
		#[pallet::constant]
		type MaxOffences: Get<u32>;

		/// Where slashed stake goes when the slasher names no beneficiary (a treasury).
		type SlashBeneficiary: Get<Self::AccountId>;

		/// Blocks in a heartbeat period.
		#[pallet::constant]
		type HeartbeatPeriod: Get<BlockNumberFor<Self>>;

		/// Missed periods in a row after which a node is slashed and deactivated.
		#[pallet::constant]
		type MaxMissedHeartbeats: Get<u32>;

		/// Blocks between `deregister` and the release of the stake.
		#[pallet::constant]
		type UnbondingPeriod: Get<BlockNumberFor<Self>>;

		/// Nodes the heartbeat sweep checks per block.
		#[pallet::constant]
		type SweepBatch: Get<u32>;

		/// Registered nodes at most. Bounded so that a sweep always ends within a period;
		/// filling it costs [`Config::MaxNodes`] × ([`Config::NodeDeposit`] +
		/// [`Config::MinStakeBasic`]) held. Must not be zero.
		#[pallet::constant]
		type MaxNodes: Get<u32>;

		/// Nodes one account may run.
		#[pallet::constant]
		type MaxNodesPerOwner: Get<u32>;

		/// Bytes in a region name.
		#[pallet::constant]
		type MaxRegionLen: Get<u32>;

		/// Bytes in a node's content endpoint.
		#[pallet::constant]
		type MaxEndpointLen: Get<u32>;

		/// Pool priority of heartbeats.
		#[pallet::constant]
		type HeartbeatPriority: Get<TransactionPriority>;

		/// Open work per node, so that a busy node cannot deregister.
		type Workload: NodeWorkload;

		/// Tells who controls a DID, for nodes linked to their owner's DID.
		type Dids: DidControl<Self::AccountId>;

		/// Where heartbeats, misses, slashes and removals are reported, so that reputation
		/// follows them.
		type Reputation: ReputationSink;

		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Stake of a registered compute node.
		NodeStake,
		/// The deposit of a registered node's records, until they are removed.
		NodeDeposit,
	}

	/// The id the next registered node gets.
	#[pallet::storage]
	pub type NextNodeId<T> = StorageValue<_, NodeId, ValueQuery>;

	/// Registered nodes (active, inactive or unbonding) by id.
	///
	/// `Twox64Concat` is safe: the chain assigns ids in sequence, nobody chooses them.
	#[pallet::storage]
	pub type Nodes<T: Config> = StorageMap<_, Twox64Concat, NodeId, NodeInfoOf<T>>;

	/// The number of entries in [`Nodes`].
	#[pallet::storage]
	pub type NodeCount<T> = StorageValue<_, u32, ValueQuery>;

	/// The node each node key belongs to; makes node keys unique.
	///
	/// `Blake2_128Concat`: keys are chosen by users.
	#[pallet::storage]
	pub type NodeOfKey<T: Config> = StorageMap<_, Blake2_128Concat, NodePublic, NodeId>;

	/// Where each node serves the content it committed (its trainer's HTTP API, e.g.
	/// `http://203.0.113.7:7070`): validators fetch from here to check availability.
	#[pallet::storage]
	pub type Endpoints<T: Config> =
		StorageMap<_, Twox64Concat, NodeId, BoundedVec<u8, T::MaxEndpointLen>>;

	/// The DID each node is linked to by its owner: a dataset owner's consent grants to that
	/// DID let the node train on the dataset. Paid for by the node's deposit.
	#[pallet::storage]
	pub type DidOfNode<T: Config> = StorageMap<_, Twox64Concat, NodeId, DidId>;

	/// The nodes an account runs.
	///
	/// `Blake2_128Concat`: accounts are chosen by users.
	#[pallet::storage]
	pub type NodesOf<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<NodeId, T::MaxNodesPerOwner>,
		ValueQuery,
	>;

	/// How many active nodes offer each role: the length of its [`RoleIndex`].
	#[pallet::storage]
	pub type RoleCount<T> = StorageMap<_, Twox64Concat, NodeRole, u32, ValueQuery>;

	/// The active nodes offering each role, at positions `0..RoleCount`: what draws sample,
	/// so that nodes that left never dilute them. A node that leaves is replaced at its
	/// position by the last one.
	#[pallet::storage]
	pub type RoleIndex<T> = StorageDoubleMap<_, Twox64Concat, NodeRole, Twox64Concat, u32, NodeId>;

	/// Where each active node stands in the [`RoleIndex`] of each of its roles.
	#[pallet::storage]
	pub type RolePosition<T> =
		StorageDoubleMap<_, Twox64Concat, NodeRole, Twox64Concat, NodeId, u32>;

	/// The heartbeat sweep in progress, if any.
	#[pallet::storage]
	pub type CurrentSweep<T> = StorageValue<_, types::Sweep>;

	/// Events of the node registry.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A node registered and its stake and deposit are held.
		NodeRegistered {
			/// The new node.
			node: NodeId,
			/// The account that runs it.
			owner: T::AccountId,
			/// The stake held for it.
			stake: BalanceOf<T>,
			/// The deposit held for its records.
			deposit: BalanceOf<T>,
		},
		/// A node's roles, region or capabilities changed.
		NodeUpdated {
			/// The node.
			node: NodeId,
		},
		/// A node said where it serves its content.
		EndpointSet {
			/// The node.
			node: NodeId,
			/// The endpoint, UTF-8.
			endpoint: BoundedVec<u8, T::MaxEndpointLen>,
		},
		/// A node's owner linked it to a DID, or unlinked it.
		DidLinked {
			/// The node.
			node: NodeId,
			/// The DID, or `None` once unlinked.
			did: Option<DidId>,
		},
		/// More stake is held for a node.
		StakeBonded {
			/// The node.
			node: NodeId,
			/// The stake added.
			amount: BalanceOf<T>,
			/// The node's stake now.
			total: BalanceOf<T>,
		},
		/// A node reported a new hardware hash.
		HardwareAttested {
			/// The node.
			node: NodeId,
			/// blake2-256 of its new hardware report.
			hw_hash: sp_core::H256,
		},
		/// A node deregistered; its stake is released from block `until` on.
		NodeUnbonding {
			/// The node.
			node: NodeId,
			/// The first block `withdraw_unbonded` succeeds in.
			until: BlockNumberFor<T>,
		},
		/// An unbonded node's stake and deposit were released and its record removed.
		NodeRemoved {
			/// The removed node.
			node: NodeId,
			/// The stake returned to the owner.
			released: BalanceOf<T>,
			/// The deposit returned to the owner.
			deposit: BalanceOf<T>,
		},
		/// A node gets work again.
		NodeReactivated {
			/// The node.
			node: NodeId,
		},
		/// A node no longer gets work.
		NodeDeactivated {
			/// The node.
			node: NodeId,
			/// Why.
			reason: tessera_primitives::node::InactiveReason,
		},
		/// A heartbeat arrived.
		HeartbeatReceived {
			/// The node that sent it.
			node: NodeId,
			/// The period it is for.
			period: PeriodIndex,
		},
		/// A node sent no heartbeat in a period.
		HeartbeatMissed {
			/// The node.
			node: NodeId,
			/// The period it missed.
			period: PeriodIndex,
			/// Periods missed in a row, this one included.
			consecutive: u32,
		},
		/// Stake was taken from a node.
		NodeSlashed {
			/// The node.
			node: NodeId,
			/// The confirmed fault.
			reason: tessera_primitives::SlashReason,
			/// The stake taken.
			amount: BalanceOf<T>,
			/// Who received it.
			beneficiary: T::AccountId,
		},
	}

	/// Errors of the node registry.
	#[pallet::error]
	pub enum Error<T> {
		/// No node has this id.
		UnknownNode,
		/// The caller does not own this node.
		NotOwner,
		/// An endpoint must be an `http://` or `https://` URL.
		BadEndpoint,
		/// The node's owner does not control the DID.
		NotDidController,
		/// The node key already belongs to a node.
		NodeKeyInUse,
		/// The node key's signature over the owner account does not verify.
		BadKeyOwnershipProof,
		/// The stake is below the minimum for the node's capabilities.
		StakeBelowMinimum,
		/// A node needs at least one role.
		NoRoles,
		/// A role was given twice.
		DuplicateRole,
		/// The region is empty.
		EmptyRegion,
		/// The capabilities set reserved bits.
		InvalidCapabilities,
		/// The registry holds [`Config::MaxNodes`] nodes already.
		TooManyNodes,
		/// The account runs [`Config::MaxNodesPerOwner`] nodes already.
		TooManyNodesForOwner,
		/// The node is unbonding.
		Unbonding,
		/// The node is already active.
		AlreadyActive,
		/// The node still has unfinished jobs.
		HasOpenJobs,
		/// The node has not deregistered.
		NotUnbonding,
		/// The unbonding period has not ended yet.
		StillUnbonding,
		/// The node is not active.
		NotActive,
		/// The node already sent a heartbeat for this period.
		DuplicateHeartbeat,
		/// The heartbeat is for another period than the current one.
		WrongPeriod,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::sweep_heartbeats(now)
		}

		fn offchain_worker(now: BlockNumberFor<T>) {
			Self::send_heartbeats(now);
		}

		fn integrity_test() {
			assert!(!T::HeartbeatPeriod::get().is_zero(), "HeartbeatPeriod must not be zero");
			assert!(T::SweepBatch::get() > 0, "SweepBatch must not be zero");
			assert!(T::MaxOffences::get() > 0, "MaxOffences must not be zero");
			assert!(T::MaxMissedHeartbeats::get() > 0, "MaxMissedHeartbeats must not be zero");
			assert!(T::MaxNodes::get() > 0, "MaxNodes must not be zero");
			assert!(
				T::NodeDeposit::get() > <T::Currency as fungible::Inspect<_>>::minimum_balance(),
				"NodeDeposit must exceed the existential deposit, or a registry slot costs dust"
			);
			let period: u32 = T::HeartbeatPeriod::get().saturated_into();
			assert!(
				u64::from(T::SweepBatch::get()) * u64::from(period.saturating_sub(1))
					>= u64::from(T::MaxNodes::get()),
				"a heartbeat sweep must be able to check MaxNodes nodes within one period"
			);
			assert!(
				T::MinStakeBasic::get() <= T::MinStakeGpu::get()
					&& T::MinStakeGpu::get() <= T::MinStakeTee::get(),
				"tier minimums must rise from basic to GPU to TEE"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call(weight(<T as Config>::WeightInfo))]
	impl<T: Config> Pallet<T> {
		/// Registers a compute node and holds `stake` and [`Config::NodeDeposit`] from the
		/// caller's balance.
		///
		/// Origin: signed; the caller becomes the node's owner.
		///
		/// - `roles`: the kinds of work the node offers, at least one, none twice, in any order.
		/// - `region`: where the node runs, not empty.
		/// - `capabilities`: the packed hardware description; reserved bits must be zero.
		/// - `hw_hash`: blake2-256 of the node's hardware report.
		/// - `node_key`: the node's `tsra` key, not used by any other node.
		/// - `key_proof`: the node key's signature over
		///   [`types::key_ownership_message`] of this chain's genesis hash and the caller.
		/// - `stake`: at least the minimum for the capabilities' tier.
		///
		/// Emits [`Event::NodeRegistered`].
		#[pallet::call_index(0)]
		pub fn register(
			origin: OriginFor<T>,
			roles: Roles,
			region: RegionOf<T>,
			capabilities: Capabilities,
			hw_hash: sp_core::H256,
			node_key: NodePublic,
			key_proof: NodeSignature,
			stake: BalanceOf<T>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_register(
				owner,
				roles,
				region,
				capabilities,
				hw_hash,
				node_key,
				key_proof,
				stake,
			)
		}

		/// Changes a node's roles, region and capabilities.
		///
		/// Origin: signed by the node's owner. The held stake must cover the new
		/// capabilities' tier; use [`Pallet::bond_extra`] first if it does not.
		///
		/// Emits [`Event::NodeUpdated`].
		#[pallet::call_index(1)]
		pub fn update(
			origin: OriginFor<T>,
			node: NodeId,
			roles: Roles,
			region: RegionOf<T>,
			capabilities: Capabilities,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_update(owner, node, roles, region, capabilities)
		}

		/// Holds `amount` more of the owner's balance as the node's stake.
		///
		/// Origin: signed by the node's owner. Not for unbonding nodes.
		///
		/// Emits [`Event::StakeBonded`].
		#[pallet::call_index(2)]
		pub fn bond_extra(
			origin: OriginFor<T>,
			node: NodeId,
			amount: BalanceOf<T>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_bond_extra(owner, node, amount)
		}

		/// Records a new hardware hash for the node.
		///
		/// Origin: signed by the node's owner.
		///
		/// Emits [`Event::HardwareAttested`].
		#[pallet::call_index(3)]
		pub fn attest_hardware(
			origin: OriginFor<T>,
			node: NodeId,
			hw_hash: sp_core::H256,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::mutate_owned(&owner, node, |info| {
				info.hw_hash = hw_hash;
				Ok(())
			})?;
			Self::deposit_event(Event::HardwareAttested { node, hw_hash });
			Ok(())
		}

		/// Stops the node getting work and starts its unbonding period. The stake stays held,
		/// and slashable, until the period ends.
		///
		/// Origin: signed by the node's owner. Fails while the node has open jobs.
		///
		/// Emits [`Event::NodeUnbonding`].
		#[pallet::call_index(4)]
		pub fn deregister(origin: OriginFor<T>, node: NodeId) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_deregister(owner, node)
		}

		/// Releases an unbonded node's stake and deposit and removes its record; its node key
		/// may be registered again.
		///
		/// Origin: signed by the node's owner, once the unbonding period has ended.
		///
		/// Emits [`Event::NodeRemoved`].
		#[pallet::call_index(5)]
		#[pallet::weight(
			T::WeightInfo::withdraw_unbonded().saturating_add(T::Reputation::forget_weight())
		)]
		pub fn withdraw_unbonded(origin: OriginFor<T>, node: NodeId) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_withdraw_unbonded(owner, node)
		}

		/// Makes an inactive node active again. Its missed-heartbeat count starts over, and
		/// its stake must cover its tier.
		///
		/// Origin: signed by the node's owner.
		///
		/// Emits [`Event::NodeReactivated`].
		#[pallet::call_index(6)]
		pub fn reactivate(origin: OriginFor<T>, node: NodeId) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_reactivate(owner, node)
		}

		/// Records that a node is alive in the current period.
		///
		/// Origin: authorized; the transaction is unsigned and carries `signature`, the node
		/// key's signature over the SCALE-encoded `heartbeat`, which
		/// [`Pallet::authorize_heartbeat`] checks before the pool accepts it.
		///
		/// Emits [`Event::HeartbeatReceived`], and [`Event::HeartbeatMissed`] for earlier
		/// periods the sweep had not yet accounted for.
		#[pallet::call_index(7)]
		#[pallet::weight(dispatch_after_authorize(
			T::WeightInfo::heartbeat(),
			T::WeightInfo::authorize_heartbeat(),
		)
		.saturating_add(Pallet::<T>::worst_reputation_weight()))]
		#[pallet::authorize(Pallet::<T>::authorize_heartbeat)]
		pub fn heartbeat(
			origin: OriginFor<T>,
			heartbeat: Heartbeat<BlockNumberFor<T>>,
			signature: NodeSignature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			// `authorize_heartbeat` verified the signature before the call got here.
			let _ = signature;
			Self::do_heartbeat(heartbeat)
		}

		/// Says where the node serves the content behind the CIDs it commits: the base URL
		/// of its trainer's HTTP API, which validators fetch from to check availability.
		///
		/// Origin: signed by the node's owner. Emits [`Event::EndpointSet`].
		#[pallet::call_index(8)]
		pub fn set_endpoint(
			origin: OriginFor<T>,
			node: NodeId,
			endpoint: BoundedVec<u8, T::MaxEndpointLen>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_set_endpoint(owner, node, endpoint)
		}

		/// Links the node to `did`, whose consent grants let it train on the data of owners
		/// who grant access only to some DIDs; `None` unlinks it. A node takes part in a
		/// draw for such data only while linked to a granted DID.
		///
		/// Origin: signed by the node's owner, who must control `did`. Emits
		/// [`Event::DidLinked`].
		#[pallet::call_index(9)]
		pub fn link_did(origin: OriginFor<T>, node: NodeId, did: Option<DidId>) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_link_did(owner, node, did)
		}
	}

	impl<T: Config> Pallet<T> {
		/// Checks a heartbeat before it enters the pool or a block: the node exists and is
		/// active, the period is the current one and has no heartbeat yet, the block is not
		/// in the future, and the node's registered key signed it. The cheap checks come
		/// first, the signature last.
		///
		/// The transaction provides one tag per node and period, so the pool keeps a single
		/// heartbeat for each, and lives only until the period ends.
		pub fn authorize_heartbeat(
			_source: TransactionSource,
			heartbeat: &Heartbeat<BlockNumberFor<T>>,
			signature: &NodeSignature,
		) -> TransactionValidityWithRefund {
			use sp_runtime::RuntimeAppPublic;

			let now = frame_system::Pallet::<T>::block_number();
			let period = Self::period_of(now);
			let info = Nodes::<T>::get(heartbeat.node).ok_or(InvalidTransaction::BadSigner)?;
			if !info.status.is_active() {
				return Err(InvalidTransaction::BadSigner.into());
			}
			if heartbeat.period < period || info.last_heartbeat == Some(period) {
				return Err(InvalidTransaction::Stale.into());
			}
			if heartbeat.period > period || heartbeat.block > now {
				return Err(InvalidTransaction::Future.into());
			}
			if !info.node_key.verify(&heartbeat.signed_bytes(&Self::genesis_hash()), signature) {
				return Err(InvalidTransaction::BadProof.into());
			}
			let period_end = Self::period_start(period.saturating_add(1));
			let longevity: u64 = period_end.saturating_sub(now).saturated_into();
			ValidTransaction::with_tag_prefix("TesseraHeartbeat")
				.priority(T::HeartbeatPriority::get())
				.and_provides((heartbeat.node, heartbeat.period))
				.longevity(longevity.max(1))
				.propagate(true)
				.build()
				.map(|validity| (validity, Weight::zero()))
		}
	}
}
