//! Weights for `pallet_node_registry`.
//!
//! PROVISIONAL: counted from the storage each call touches (reads and writes at the
//! database weights of the runtime) plus a fixed compute allowance, until
//! `scripts/benchmark-pallets.sh` regenerates this file from the benchmarks in
//! `benchmarking.rs`.

#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use polkadot_sdk::frame_support::{traits::Get, weights::Weight};

/// Weight functions needed for `pallet_node_registry`.
pub trait WeightInfo {
	fn register() -> Weight;
	fn update() -> Weight;
	fn bond_extra() -> Weight;
	fn attest_hardware() -> Weight;
	fn deregister() -> Weight;
	fn withdraw_unbonded() -> Weight;
	fn reactivate() -> Weight;
	fn heartbeat() -> Weight;
	fn authorize_heartbeat() -> Weight;
	fn sweep_heartbeats(n: u32) -> Weight;
}

/// Weights for `pallet_node_registry` using the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: polkadot_sdk::frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn register() -> Weight {
		Weight::from_parts(120_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(6_u64))
			.saturating_add(T::DbWeight::get().writes(7_u64))
	}
	fn update() -> Weight {
		Weight::from_parts(30_000_000, 3_500)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn bond_extra() -> Weight {
		Weight::from_parts(60_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	fn attest_hardware() -> Weight {
		Weight::from_parts(25_000_000, 3_500)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn deregister() -> Weight {
		Weight::from_parts(25_000_000, 3_500)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn withdraw_unbonded() -> Weight {
		Weight::from_parts(70_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(6_u64))
	}
	fn reactivate() -> Weight {
		Weight::from_parts(25_000_000, 3_500)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn heartbeat() -> Weight {
		Weight::from_parts(30_000_000, 3_500)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	fn authorize_heartbeat() -> Weight {
		Weight::from_parts(60_000_000, 3_500).saturating_add(T::DbWeight::get().reads(2_u64))
	}
	fn sweep_heartbeats(n: u32) -> Weight {
		Weight::from_parts(10_000_000, 1_500)
			.saturating_add(Weight::from_parts(80_000_000, 4_000).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().reads((3_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(1_u64))
			.saturating_add(T::DbWeight::get().writes((4_u64).saturating_mul(n.into())))
	}
}

/// For tests: computation and proof size alone, without database costs.
impl WeightInfo for () {
	fn register() -> Weight {
		Weight::from_parts(120_000_000, 4_000)
	}
	fn update() -> Weight {
		Weight::from_parts(30_000_000, 3_500)
	}
	fn bond_extra() -> Weight {
		Weight::from_parts(60_000_000, 4_000)
	}
	fn attest_hardware() -> Weight {
		Weight::from_parts(25_000_000, 3_500)
	}
	fn deregister() -> Weight {
		Weight::from_parts(25_000_000, 3_500)
	}
	fn withdraw_unbonded() -> Weight {
		Weight::from_parts(70_000_000, 4_000)
	}
	fn reactivate() -> Weight {
		Weight::from_parts(25_000_000, 3_500)
	}
	fn heartbeat() -> Weight {
		Weight::from_parts(30_000_000, 3_500)
	}
	fn authorize_heartbeat() -> Weight {
		Weight::from_parts(60_000_000, 3_500)
	}
	fn sweep_heartbeats(n: u32) -> Weight {
		Weight::from_parts(10_000_000, 1_500)
			.saturating_add(Weight::from_parts(80_000_000, 4_000).saturating_mul(n.into()))
	}
}
