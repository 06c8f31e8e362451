//! Weights for `pallet_model_registry`.
//!
//! PROVISIONAL: counted from the storage each call touches plus a fixed compute allowance,
//! until `scripts/benchmark-pallets.sh model-registry` regenerates this file from the
//! benchmarks in `benchmarking.rs`.

#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use polkadot_sdk::frame_support::{traits::Get, weights::Weight};

/// Weight functions needed for `pallet_model_registry`.
pub trait WeightInfo {
	fn register_model() -> Weight;
	fn deprecate_version() -> Weight;
	fn propose_training() -> Weight;
	fn propose_dataset() -> Weight;
	fn approve() -> Weight;
	fn reject() -> Weight;
	fn close() -> Weight;
	fn job_finalized() -> Weight;
	fn job_failed() -> Weight;
}

/// Weights for `pallet_model_registry` using the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: polkadot_sdk::frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn register_model() -> Weight {
		Weight::from_parts(60_000_000, 6_000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
	fn deprecate_version() -> Weight {
		Weight::from_parts(25_000_000, 6_000)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn propose_training() -> Weight {
		Weight::from_parts(50_000_000, 6_000)
			.saturating_add(T::DbWeight::get().reads(5_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	fn propose_dataset() -> Weight {
		Weight::from_parts(40_000_000, 6_000)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	fn approve() -> Weight {
		Weight::from_parts(80_000_000, 6_000)
			.saturating_add(T::DbWeight::get().reads(6_u64))
			.saturating_add(T::DbWeight::get().writes(6_u64))
	}
	fn reject() -> Weight {
		Weight::from_parts(50_000_000, 6_000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	fn close() -> Weight {
		Weight::from_parts(40_000_000, 6_000)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	fn job_finalized() -> Weight {
		Weight::from_parts(60_000_000, 6_000)
			.saturating_add(T::DbWeight::get().reads(5_u64))
			.saturating_add(T::DbWeight::get().writes(6_u64))
	}
	fn job_failed() -> Weight {
		Weight::from_parts(40_000_000, 6_000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
}

impl WeightInfo for () {
	fn register_model() -> Weight {
		Weight::from_parts(60_000_000, 6_000)
	}
	fn deprecate_version() -> Weight {
		Weight::from_parts(25_000_000, 6_000)
	}
	fn propose_training() -> Weight {
		Weight::from_parts(50_000_000, 6_000)
	}
	fn propose_dataset() -> Weight {
		Weight::from_parts(40_000_000, 6_000)
	}
	fn approve() -> Weight {
		Weight::from_parts(80_000_000, 6_000)
	}
	fn reject() -> Weight {
		Weight::from_parts(50_000_000, 6_000)
	}
	fn close() -> Weight {
		Weight::from_parts(40_000_000, 6_000)
	}
	fn job_finalized() -> Weight {
		Weight::from_parts(60_000_000, 6_000)
	}
	fn job_failed() -> Weight {
		Weight::from_parts(40_000_000, 6_000)
	}
}
