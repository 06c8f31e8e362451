//! The hardware report whose BLAKE2b-256 is a node's `hw_hash` on chain.
//!
//! Only facts that stay put while the machine does are reported (no free memory, no clock
//! speeds), so the hash changes when the hardware or its software platform changes and
//! `attest_hardware` is due, not between two runs.

use serde::Serialize;
use sysinfo::{CpuRefreshKind, Disks, MemoryRefreshKind, RefreshKind, System};
use tessera_primitives::digest::{bytes_digest, H256};

/// What this machine offers for training.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HardwareReport {
	/// The processor's brand string.
	pub cpu: String,
	/// The instruction-set architecture.
	pub arch: String,
	/// Vector extensions the CPU reports; reference mode does not depend on them.
	pub cpu_features: Vec<&'static str>,
	/// Logical processors.
	pub logical_cpus: usize,
	/// Physical cores, where the platform says.
	pub physical_cores: Option<usize>,
	/// Installed memory in MiB.
	pub memory_mib: u64,
	/// Total disk space in GB over all mounted disks.
	pub disk_gb: u64,
	/// Operating system and version.
	pub os: String,
	/// The backends this trainer build can run on.
	pub backends: Vec<&'static str>,
	/// The trainer's version.
	pub trainer_version: &'static str,
}

impl HardwareReport {
	/// Reads the report from this machine.
	pub fn detect() -> Self {
		let system = System::new_with_specifics(
			RefreshKind::new()
				.with_cpu(CpuRefreshKind::new())
				.with_memory(MemoryRefreshKind::new().with_ram()),
		);
		let disks = Disks::new_with_refreshed_list();
		Self {
			cpu: system.cpus().first().map(|cpu| cpu.brand().trim().to_owned()).unwrap_or_default(),
			arch: System::cpu_arch().unwrap_or_else(|| std::env::consts::ARCH.to_owned()),
			cpu_features: cpu_features(),
			logical_cpus: system.cpus().len(),
			physical_cores: system.physical_core_count(),
			memory_mib: system.total_memory() / (1024 * 1024),
			disk_gb: disks.list().iter().map(|disk| disk.total_space()).sum::<u64>()
				/ 1_000_000_000,
			os: System::long_os_version().unwrap_or_else(|| std::env::consts::OS.to_owned()),
			backends: crate::backend::Backend::available()
				.iter()
				.map(|backend| backend.name())
				.collect(),
			trainer_version: env!("CARGO_PKG_VERSION"),
		}
	}

	/// The canonical encoding that is hashed: compact JSON with fields in declaration order.
	pub fn canonical_json(&self) -> Vec<u8> {
		serde_json::to_vec(self).expect("a report of strings and numbers always serialises")
	}

	/// The node's `hw_hash`.
	pub fn hash(&self) -> H256 {
		bytes_digest(&self.canonical_json())
	}
}

#[cfg(target_arch = "x86_64")]
fn cpu_features() -> Vec<&'static str> {
	let mut features = Vec::new();
	macro_rules! detect {
		($($feature:tt),*) => {$(
			if std::arch::is_x86_feature_detected!($feature) {
				features.push($feature);
			}
		)*};
	}
	detect!("sse4.2", "avx", "avx2", "fma", "avx512f");
	features
}

#[cfg(not(target_arch = "x86_64"))]
fn cpu_features() -> Vec<&'static str> {
	Vec::new()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_report_is_stable_and_its_hash_is_the_digest_of_its_canonical_json() {
		let report = HardwareReport::detect();
		assert_eq!(report, HardwareReport::detect());
		assert!(report.logical_cpus > 0 && report.memory_mib > 0);
		assert!(report.backends.contains(&"reference"));
		let json: serde_json::Value = serde_json::from_slice(&report.canonical_json()).unwrap();
		assert_eq!(json["trainer_version"], env!("CARGO_PKG_VERSION"));
		assert_eq!(report.hash(), bytes_digest(&report.canonical_json()));
	}
}
