//! Weights for `pallet_reputation`.
//!
//! PROVISIONAL: counted from the storage each call touches plus a fixed compute allowance,
//! until `scripts/benchmark-pallets.sh reputation` regenerates this file from the benchmarks
//! in `benchmarking.rs`.

#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use polkadot_sdk::frame_support::{traits::Get, weights::Weight};

/// Weight functions needed for `pallet_reputation`.
pub trait WeightInfo {
	fn force_reset() -> Weight;
	fn report() -> Weight;
	fn slashed() -> Weight;
	fn forget() -> Weight;
	fn should_spot_check() -> Weight;
}

/// Weights for `pallet_reputation` using the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: polkadot_sdk::frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn force_reset() -> Weight {
		Weight::from_parts(25_000_000, 3_600)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn report() -> Weight {
		Weight::from_parts(25_000_000, 3_600)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn slashed() -> Weight {
		Weight::from_parts(25_000_000, 3_600)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn forget() -> Weight {
		Weight::from_parts(10_000_000, 3_600)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn should_spot_check() -> Weight {
		Weight::from_parts(25_000_000, 3_600).saturating_add(T::DbWeight::get().reads(3_u64))
	}
}

impl WeightInfo for () {
	fn force_reset() -> Weight {
		Weight::from_parts(25_000_000, 3_600)
	}
	fn report() -> Weight {
		Weight::from_parts(25_000_000, 3_600)
	}
	fn slashed() -> Weight {
		Weight::from_parts(25_000_000, 3_600)
	}
	fn forget() -> Weight {
		Weight::from_parts(10_000_000, 3_600)
	}
	fn should_spot_check() -> Weight {
		Weight::from_parts(25_000_000, 3_600)
	}
}
