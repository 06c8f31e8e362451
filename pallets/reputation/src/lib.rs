//! # Reputation Pallet
//!
//! How far Tessera trusts each compute node, built from what the node did. In Tessera's
//! runtime this is pallet index 51; the figures in parentheses below are that runtime's
//! settings.
//!
//! ## Overview
//!
//! Other pallets report what nodes do through [`ReputationSink`]: heartbeats kept or missed,
//! jobs delivered or abandoned, results verified or found wrong, model versions helped
//! produce, transfers measured, slashes. Each report moves one of seven dimensions, kept in
//! basis points: uptime, proof success, bandwidth, lineage, slash-free epochs, job
//! completion and violations. (In Tessera's runtime nothing reports model lineage or
//! measured transfers yet, so those two dimensions move only by slashes, faults and decay.)
//! Their weighted sum, less a penalty for recent slashes, is the node's score
//! ([`types::Dimensions::score`]), in parts per million, integer arithmetic only:
//!
//! ```text
//! (30% uptime + 25% proof + 15% bandwidth + 10% lineage + 10% slash-free + 10% completion)
//!   × (100% − 20% per slash in the last 10 000 blocks)
//! ```
//!
//! The score and the node's history of verified contributions place it in a [`TrustTier`],
//! which sets how often its results are spot-checked and how much its rewards are
//! multiplied by ([`Config::Tiers`]):
//!
//! | tier | score | verified contributions | results spot-checked | reward multiplier |
//! |---|---|---|---|---|
//! | excellent | ≥ 90% | ≥ 200 | 0.2 × base (2%) | 1.15 |
//! | trusted | ≥ 75% | ≥ 100 | 0.5 × base (5%) | 1.10 |
//! | developing | ≥ 50% | ≥ 50 | 1 × base (10%) | 1.00 |
//! | new | — | — | 2 × base (20%) | 1.00 |
//!
//! The base rate is [`Config::DefaultSpotCheckBase`] (10%) until root changes it with
//! [`Pallet::set_spot_check_base`] (storage [`SpotCheckBase`]); zero turns spot-checks off.
//! Other pallets read all of it through [`ReputationInspect`].
//!
//! A node nothing is known about is neutral: every dimension at 50%, so its score is 50%,
//! and its tier `new` until it has a history. A slash for a verification, forgery or trap
//! fault sets every dimension to zero, so the score drops to 0 and the tier to `new`; the
//! node climbs back report by report. A data-availability fault costs
//! [`Config::DataFaultPenalty`] (10%) of every positive dimension.
//!
//! ## Terminology
//!
//! - **Dimension**: a running mean of observations in basis points ([`types::Mean`]),
//!   started from [`Config::PriorSamples`] pseudo-observations and holding at most
//!   [`Config::MemoryLength`] samples, so recent behaviour weighs more than old.
//! - **Work outcome**: any report but a heartbeat. Heartbeats show a node is online, not
//!   that it does good work, so they do not stop decay.
//! - **Decay**: after [`Config::Decay`]'s grace without work outcomes (1 000 blocks), every
//!   dimension fades towards neutral step by step (5% of its distance per 1 000 blocks),
//!   never losing more than its floor allows (it keeps at least half its distance). Decay is
//!   computed when a record is read or written, from the block of the last work outcome;
//!   there is no per-block loop over nodes.
//! - **Violation**: a slash within the last [`Config::ViolationWindow`] blocks (10 000); each
//!   costs [`Config::ViolationPenalty`] (20%) of the score, at most all of it.
//! - **Slash-free epoch**: [`Config::EpochLength`] blocks without a slash; accrued lazily.
//!
//! ## Spot-check randomness
//!
//! [`ReputationInspect::should_spot_check`] draws `blake2_256(node, job, randomness) mod
//! 10 000 < rate` in basis points, with `randomness` from [`Config::Randomness`]. Tessera's
//! runtime feeds it the relay chain's BABE randomness of the block's relay parent (the
//! relay block author's VRF output, `CURRENT_BLOCK_RANDOMNESS` in the relay state proof the
//! collator must include with every block). The proof-of-compute pallet draws only after a
//! result was committed to, so the committing node cannot know the randomness: in the block
//! after the last reveal, so that no replica can time its reveal to a block that draws no
//! spot-check, and always in `on_poll`, after the parachain inherent has brought the relay
//! state proof in (`runtime/src/configs/randomness.rs`). Its bias is bounded by what a relay
//! block author can do (publish a block or not: one bit per slot it owns) and what a
//! collator can do (choose among the few relay parents it may build on, or leave the
//! drawing transaction out of its block). A `--dev` chain has no relay
//! chain; its mocked relay state carries no block randomness, and the runtime falls back
//! to the parent block hash, which the single dev block author can predict. That is
//! acceptable only on a development chain.
//!
//! ## Interface
//!
//! ### For other pallets
//! - [`ReputationSink`] to report, [`ReputationInspect`] to read and draw.
//!
//! ### For governance
//! - [`Pallet::force_reset`], [`Pallet::set_spot_check_base`].
//!
//! ### For clients
//! - The runtime API [`runtime_api::ReputationApi`].

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod impls;
#[cfg(test)]
mod mock;
pub mod runtime_api;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use pallet::*;
pub use types::{DecayRule, Dimensions, Mean, Reputation, ReputationView, TierRule, TierRules};
pub use weights::WeightInfo;

use polkadot_sdk::{frame_support, frame_system, sp_runtime};
use tessera_primitives::{NodeId, NodeInspect, Outcome, SlashReason, TrustTier};

/// What the benchmarks need from the rest of the runtime.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper {
	/// Registers a node with [`Config::Nodes`] and returns its id.
	fn registered_node() -> NodeId;
}

/// A node's record as this runtime stores it.
pub type ReputationOf<T> =
	Reputation<frame_system::pallet_prelude::BlockNumberFor<T>, <T as Config>::MaxViolations>;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{pallet_prelude::*, traits::Randomness};
	use frame_system::pallet_prelude::*;
	use sp_runtime::Permill;

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the reputation pallet.
	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The registry of the nodes reputation is kept for.
		type Nodes: NodeInspect<Self::AccountId>;

		/// Randomness for spot-check draws that nobody knows before it is used; see the
		/// pallet docs for what Tessera's runtime uses.
		type Randomness: Randomness<Self::Hash, BlockNumberFor<Self>>;

		/// What each trust tier asks for and gives.
		#[pallet::constant]
		type Tiers: Get<TierRules>;

		/// The base spot-check rate until [`Config::ForceOrigin`] sets another; each tier
		/// checks a multiple of it.
		#[pallet::constant]
		type DefaultSpotCheckBase: Get<Permill>;

		/// Pseudo-observations at the starting value that every dimension of a new or
		/// slashed node weighs, so that its first reports move it only part of the way.
		#[pallet::constant]
		type PriorSamples: Get<u32>;

		/// The most samples a dimension holds; older ones are folded into fewer.
		#[pallet::constant]
		type MemoryLength: Get<u32>;

		/// The transfer rate, in bytes per second, that earns a full bandwidth dimension.
		#[pallet::constant]
		type ReferenceBandwidth: Get<u64>;

		/// Blocks in a slash-free epoch.
		#[pallet::constant]
		type EpochLength: Get<BlockNumberFor<Self>>;

		/// The share of the score each recent slash costs.
		#[pallet::constant]
		type ViolationPenalty: Get<Permill>;

		/// Blocks a slash counts as a violation for.
		#[pallet::constant]
		type ViolationWindow: Get<BlockNumberFor<Self>>;

		/// The share of every positive dimension a data-availability fault costs.
		#[pallet::constant]
		type DataFaultPenalty: Get<Permill>;

		/// How reputation fades towards neutral without work.
		#[pallet::constant]
		type Decay: Get<DecayRule<BlockNumberFor<Self>>>;

		/// Violations remembered per node. Must be large enough for the penalty to reach
		/// 100%, beyond which more violations change nothing.
		#[pallet::constant]
		type MaxViolations: Get<u32>;

		/// The origin that may reset a node's reputation and set the spot-check rate.
		type ForceOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;

		/// Sets up what the benchmarks need from other pallets.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper;
	}

	/// The reputation of each node that has been reported on. A node without a record is
	/// neutral.
	///
	/// Hasher: node ids are assigned by the node registry in sequence, not chosen by users.
	#[pallet::storage]
	pub type ReputationOfNode<T: Config> =
		StorageMap<_, Twox64Concat, NodeId, ReputationOf<T>, OptionQuery>;

	/// The spot-check rate that each tier's factor multiplies.
	#[pallet::storage]
	pub type SpotCheckBase<T: Config> =
		StorageValue<_, Permill, ValueQuery, T::DefaultSpotCheckBase>;

	/// Events of the reputation pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An outcome of a node's work was recorded.
		ReputationChanged {
			/// The node.
			node: NodeId,
			/// What the node did.
			outcome: Outcome,
			/// The node's score afterwards.
			score: Permill,
		},
		/// A slash of a node was recorded.
		SlashRecorded {
			/// The node.
			node: NodeId,
			/// Why it was slashed.
			reason: SlashReason,
			/// The node's score afterwards.
			score: Permill,
		},
		/// A node moved to another tier.
		TierChanged {
			/// The node.
			node: NodeId,
			/// The tier it left.
			from: TrustTier,
			/// The tier it is in now.
			to: TrustTier,
		},
		/// A node's reputation was reset to neutral by [`Config::ForceOrigin`].
		ReputationReset {
			/// The node.
			node: NodeId,
		},
		/// The reputation of a node that left the registry was dropped.
		ReputationForgotten {
			/// The node.
			node: NodeId,
		},
		/// [`Config::ForceOrigin`] set the base spot-check rate.
		SpotCheckBaseSet {
			/// The new base rate.
			base: Permill,
		},
	}

	/// Errors of the reputation pallet.
	#[pallet::error]
	pub enum Error<T> {
		/// No registered node has this id.
		UnknownNode,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::Tiers::get().is_ordered(), "a higher tier must not ask for less");
			assert!(T::MemoryLength::get() > 0, "MemoryLength must not be zero");
			assert!(
				T::PriorSamples::get() <= T::MemoryLength::get(),
				"PriorSamples must fit into MemoryLength"
			);
			assert!(T::ReferenceBandwidth::get() > 0, "ReferenceBandwidth must not be zero");
			assert!(!T::EpochLength::get().is_zero(), "EpochLength must not be zero");
			assert!(!T::Decay::get().step.is_zero(), "a decay step must not be zero blocks");
			let penalty = T::ViolationPenalty::get().deconstruct();
			assert!(
				penalty == 0
					|| T::MaxViolations::get().saturating_mul(penalty)
						>= Permill::one().deconstruct(),
				"MaxViolations must let the penalty reach 100%"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Resets a node's reputation to neutral, dropping its history and violations; for
		/// governance to correct a record after, for example, a fault was found to be
		/// misattributed.
		///
		/// Origin: [`Config::ForceOrigin`].
		///
		/// Emits [`Event::ReputationReset`], and [`Event::TierChanged`] if the tier moved.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::force_reset())]
		pub fn force_reset(origin: OriginFor<T>, node: NodeId) -> DispatchResult {
			T::ForceOrigin::ensure_origin(origin)?;
			Self::do_force_reset(node)
		}

		/// Sets the base spot-check rate; a node's rate is its tier's factor times this,
		/// at most 100%. Applies to draws from the next one on; zero stops spot-checks,
		/// leaving verification to replica agreement and challenges.
		///
		/// Origin: [`Config::ForceOrigin`].
		///
		/// Emits [`Event::SpotCheckBaseSet`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::set_spot_check_base())]
		pub fn set_spot_check_base(origin: OriginFor<T>, base: Permill) -> DispatchResult {
			T::ForceOrigin::ensure_origin(origin)?;
			SpotCheckBase::<T>::put(base);
			Self::deposit_event(Event::SpotCheckBaseSet { base });
			Ok(())
		}
	}
}
