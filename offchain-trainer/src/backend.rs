//! Where training runs, and what each choice promises.
//!
//! - [`Backend::Reference`] is the CPU mode whose digests replicas and validators compare.
//!   It runs on burn's portable `flex` backend with its `simd` and `rayon` features off, and
//!   does every matrix product with [`matmul`]'s exact kernel instead of the `gemm` crate:
//!   `gemm` picks an FMA or scalar kernel and a blocking from the CPU it finds at run time,
//!   which changes the bits of the result from one machine to the next. The exact kernel is
//!   an element-wise product followed by a sequential sum over the shared dimension, so
//!   every output is the same chain of IEEE-754 operations on every machine and at every
//!   `-C target-cpu` level. Element-wise `exp`/`ln` still come from the platform's libm:
//!   reference digests are promised for one trainer build on x86-64 Linux with glibc.
//! - [`Backend::Cpu`] is the same device with `gemm`'s fastest kernel: reproducible on one
//!   machine, not across machines.
//! - `Wgpu` and `Cuda` (cargo features `wgpu`, `cuda`) run on a GPU. Their reductions are
//!   parallel and their kernels are tuned per device, so their digests agree only between
//!   runs on the same device model and driver; jobs name their backend class for that
//!   reason, and disputes are always settled on the reference backend.

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// A place to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
	/// Bit-exact CPU training: the backend disputes are settled on.
	Reference,
	/// Fast CPU training with run-time selected GEMM kernels.
	Cpu,
	/// A GPU through wgpu (Vulkan, Metal, DirectX 12).
	#[cfg(feature = "wgpu")]
	Wgpu,
	/// An NVIDIA GPU through CUDA.
	#[cfg(feature = "cuda")]
	Cuda,
}

impl Backend {
	/// The backends this build can run on.
	pub fn available() -> &'static [Backend] {
		&[
			Backend::Reference,
			Backend::Cpu,
			#[cfg(feature = "wgpu")]
			Backend::Wgpu,
			#[cfg(feature = "cuda")]
			Backend::Cuda,
		]
	}

	/// The backend's name on the command line and in the API.
	pub fn name(self) -> &'static str {
		match self {
			Backend::Reference => "reference",
			Backend::Cpu => "cpu",
			#[cfg(feature = "wgpu")]
			Backend::Wgpu => "wgpu",
			#[cfg(feature = "cuda")]
			Backend::Cuda => "cuda",
		}
	}

	/// The device tensors live on, without autodiff.
	pub fn device(self) -> Device {
		match self {
			Backend::Reference | Backend::Cpu => Device::flex(),
			#[cfg(feature = "wgpu")]
			Backend::Wgpu => Device::new(burn::backend::DispatchDevice::Cube(Default::default())),
			#[cfg(feature = "cuda")]
			Backend::Cuda => Device::new(burn::backend::DispatchDevice::Cube(
				burn::backend::CubeDevice::Cuda(Default::default()),
			)),
		}
	}

	/// How this backend multiplies matrices.
	pub fn matmul(self) -> Matmul {
		match self {
			Backend::Reference => Matmul::Exact,
			_ => Matmul::Native,
		}
	}

	/// The chain's class of this backend (digests are compared only within a class), or
	/// `None` for the fast CPU mode, whose digests no other machine can be held to.
	pub fn class(self) -> Option<tessera_primitives::BackendClass> {
		use tessera_primitives::BackendClass;
		match self {
			Backend::Reference => Some(BackendClass::CpuReference),
			Backend::Cpu => None,
			#[cfg(any(feature = "wgpu", feature = "cuda"))]
			_ => Some(BackendClass::Gpu),
		}
	}
}

/// Which kernel computes matrix products.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Matmul {
	/// Element-wise products summed sequentially along the shared dimension: the same bits
	/// everywhere, at the cost of an `m·k·n` intermediate.
	Exact,
	/// The backend's own kernel.
	Native,
}

impl Matmul {
	/// `a · b` for `a: [m, k]`, `b: [k, n]`.
	pub fn apply(self, a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
		match self {
			Matmul::Exact => {
				(a.unsqueeze_dim::<3>(2) * b.unsqueeze::<3>()).sum_dim(1).squeeze_dim::<2>(1)
			}
			Matmul::Native => a.matmul(b),
		}
	}

	/// `a · b` for each of a batch: `a: [batch, m, k]`, `b: [batch, k, n]`.
	pub fn batched(self, a: Tensor<3>, b: Tensor<3>) -> Tensor<3> {
		match self {
			Matmul::Exact => {
				(a.unsqueeze_dim::<4>(3) * b.unsqueeze_dim::<4>(1)).sum_dim(2).squeeze_dim::<3>(2)
			}
			Matmul::Native => a.matmul(b),
		}
	}
}
