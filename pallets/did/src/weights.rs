//! Weights for `pallet_did`.
//!
//! PROVISIONAL: counted from the storage each call touches plus a fixed compute allowance,
//! until `scripts/benchmark-pallets.sh did` regenerates this file from the benchmarks in
//! `benchmarking.rs`.

#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use polkadot_sdk::frame_support::{traits::Get, weights::Weight};

/// Weight functions needed for `pallet_did`.
pub trait WeightInfo {
	fn create() -> Weight;
	fn rotate_keys() -> Weight;
	fn set_metadata() -> Weight;
	fn add_controller() -> Weight;
	fn remove_controller() -> Weight;
	fn revoke() -> Weight;
	fn grant_access() -> Weight;
	fn revoke_access() -> Weight;
	fn record_access() -> Weight;
	fn submit_operation() -> Weight;
	fn authorize_operation() -> Weight;
}

/// Weights for `pallet_did` using the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: polkadot_sdk::frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn create() -> Weight {
		Weight::from_parts(90_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	fn rotate_keys() -> Weight {
		Weight::from_parts(80_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn set_metadata() -> Weight {
		Weight::from_parts(25_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn add_controller() -> Weight {
		Weight::from_parts(25_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn remove_controller() -> Weight {
		Weight::from_parts(25_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn revoke() -> Weight {
		Weight::from_parts(60_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	fn grant_access() -> Weight {
		Weight::from_parts(40_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	fn revoke_access() -> Weight {
		Weight::from_parts(30_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	fn record_access() -> Weight {
		Weight::from_parts(30_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	fn submit_operation() -> Weight {
		Weight::from_parts(20_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn authorize_operation() -> Weight {
		Weight::from_parts(80_000_000, 4_000).saturating_add(T::DbWeight::get().reads(2_u64))
	}
}

impl WeightInfo for () {
	fn create() -> Weight {
		Weight::from_parts(90_000_000, 4_000)
	}
	fn rotate_keys() -> Weight {
		Weight::from_parts(80_000_000, 4_000)
	}
	fn set_metadata() -> Weight {
		Weight::from_parts(25_000_000, 4_000)
	}
	fn add_controller() -> Weight {
		Weight::from_parts(25_000_000, 4_000)
	}
	fn remove_controller() -> Weight {
		Weight::from_parts(25_000_000, 4_000)
	}
	fn revoke() -> Weight {
		Weight::from_parts(60_000_000, 4_000)
	}
	fn grant_access() -> Weight {
		Weight::from_parts(40_000_000, 4_000)
	}
	fn revoke_access() -> Weight {
		Weight::from_parts(30_000_000, 4_000)
	}
	fn record_access() -> Weight {
		Weight::from_parts(30_000_000, 4_000)
	}
	fn submit_operation() -> Weight {
		Weight::from_parts(20_000_000, 4_000)
	}
	fn authorize_operation() -> Weight {
		Weight::from_parts(80_000_000, 4_000)
	}
}
