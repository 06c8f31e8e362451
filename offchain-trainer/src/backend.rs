//! Where training runs, and what each choice promises.
//!
//! - [`Backend::Reference`] is the CPU mode whose digests replicas and validators compare.
//!   It runs on burn's portable `flex` backend with its `simd` and `rayon` features off, and
//!   computes every matrix product, `exp`, `ln`, convolution patch and max-pooling with the
//!   [`ExactOps`] extension instead of burn's own kernels: `gemm` picks an FMA or scalar
//!   kernel and a blocking from the CPU it finds at run time, and `f32::exp` is the platform
//!   C library's, and both change bits from one machine to the next. [`kernel`]'s product
//!   makes every output one fixed chain of IEEE-754 multiplies and adds whatever the vector
//!   width, `-C target-cpu` level or thread count, and `exp`/`ln` come from the pure-Rust
//!   `libm`; everything else the models compute (sums, `sqrt`, division, comparisons) is
//!   correctly rounded or exact in burn's scalar code. Backward passes go through the same
//!   kernels.
//! - [`Backend::Cpu`] is the same device with `gemm`'s fastest kernel: reproducible on one
//!   machine, not across machines.
//! - `Wgpu` and `Cuda` (cargo features `wgpu`, `cuda`) run on a GPU. Their reductions are
//!   parallel and their kernels are tuned per device, so their digests agree only between
//!   runs on the same device model and driver; jobs name their backend class for that
//!   reason, and disputes are always settled on the reference backend.
//!
//! The reference backend's product is split across threads by output (`--threads`: the same
//! bits for 1, 2 or N) and, on x86-64, vectorised with AVX chosen at run time (the same
//! bits). Golden digests in `offchain-trainer/tests/determinism.rs` pin the results (with a
//! thread-count test); property tests check the kernel bit for bit against the promised
//! chain and to rounding against `gemm`; `scripts/determinism.sh` runs the golden tests
//! built for `-C target-cpu=x86-64`, for `native`, for x86-64 musl and for aarch64 (under
//! `qemu-aarch64`), and the test command runs it where its cross toolchains are installed.
//! The backend a request names is the runtime that runs it: built with both GPU features,
//! `wgpu` still runs on wgpu (burn's default device would be CUDA's).

mod exact;
pub mod image;
pub mod kernel;

use burn::{
	backend::{tensor::FloatTensor, Dispatch},
	tensor::{ops::PadMode, Device, Int, Tensor},
};
use exact::ExactOps;
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

	/// The device tensors live on, without autodiff: always the runtime the backend names.
	/// (burn's default cube device is CUDA's whenever CUDA is built in, so `wgpu` names its
	/// runtime rather than taking the default.)
	pub fn device(self) -> Device {
		match self {
			Backend::Reference | Backend::Cpu => Device::flex(),
			#[cfg(feature = "wgpu")]
			Backend::Wgpu => Device::new(burn::backend::DispatchDevice::Cube(
				burn::backend::CubeDevice::Wgpu(Default::default()),
			)),
			#[cfg(feature = "cuda")]
			Backend::Cuda => Device::new(burn::backend::DispatchDevice::Cube(
				burn::backend::CubeDevice::Cuda(Default::default()),
			)),
		}
	}

	/// The kernels this backend computes with.
	pub fn arithmetic(self) -> Arithmetic {
		match self {
			Backend::Reference => Arithmetic::Exact,
			_ => Arithmetic::Native,
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

/// Which kernels compute the products and the elementary functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arithmetic {
	/// [`kernel`]'s deterministic products and `libm`'s functions: the same bits everywhere.
	Exact,
	/// The backend's own kernels.
	Native,
}

impl Arithmetic {
	/// `a · b` for `a: [m, k]`, `b: [k, n]`.
	pub fn matmul(self, a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
		match self {
			Arithmetic::Exact => {
				exact(<Dispatch as ExactOps>::exact_matmul(a.into_dispatch(), b.into_dispatch()))
			}
			Arithmetic::Native => a.matmul(b),
		}
	}

	/// `a · b` for each of a batch: `a: [batch, m, k]`, `b: [batch, k, n]`.
	pub fn batched(self, a: Tensor<3>, b: Tensor<3>) -> Tensor<3> {
		match self {
			Arithmetic::Exact => {
				exact(<Dispatch as ExactOps>::exact_matmul(a.into_dispatch(), b.into_dispatch()))
			}
			Arithmetic::Native => a.matmul(b),
		}
	}

	/// `eˣ` element-wise.
	pub fn exp<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
		match self {
			Arithmetic::Exact => exact(<Dispatch as ExactOps>::exact_exp(x.into_dispatch())),
			Arithmetic::Native => x.exp(),
		}
	}

	/// `ln x` element-wise.
	pub fn ln<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
		match self {
			Arithmetic::Exact => exact(<Dispatch as ExactOps>::exact_ln(x.into_dispatch())),
			Arithmetic::Native => x.log(),
		}
	}

	/// `softmax` along `dim`, shifted by the maximum so that no `exp` overflows.
	pub fn softmax<const D: usize>(self, x: Tensor<D>, dim: usize) -> Tensor<D> {
		let shifted = x.clone() - x.max_dim(dim).detach();
		let e = self.exp(shifted);
		e.clone() / e.sum_dim(dim)
	}

	/// Every pixel's 3×3 neighbourhood of `x: [batch, height, width, channels]` (zero beyond
	/// the border) as a row of `[batch · height · width, 9 · channels]`, in the order of
	/// [`image::patches`]: a 3×3 convolution is a product of these rows with its weight.
	pub fn patches3x3(self, x: Tensor<4>) -> Tensor<2> {
		match self {
			Arithmetic::Exact => exact(<Dispatch as ExactOps>::exact_patches(x.into_dispatch())),
			Arithmetic::Native => {
				let [batch, height, width, channels] = x.dims();
				let padded = x.pad([(0, 0), (1, 1), (1, 1), (0, 0)], PadMode::Constant(0.0));
				let taps = (0..9)
					.map(|tap| {
						let (dy, dx) = (tap / 3, tap % 3);
						padded.clone().slice([
							0..batch,
							dy..dy + height,
							dx..dx + width,
							0..channels,
						])
					})
					.collect();
				Tensor::cat(taps, 3).reshape([batch * height * width, 9 * channels])
			}
		}
	}

	/// The maximum of every 2×2 window of `x: [batch, height, width, channels]`, whose sides
	/// are even (CNNs take images whose sides are multiples of 4).
	pub fn max_pool2x2(self, x: Tensor<4>) -> Tensor<4> {
		match self {
			Arithmetic::Exact => exact(<Dispatch as ExactOps>::exact_max_pool(x.into_dispatch())),
			Arithmetic::Native => {
				let [batch, height, width, channels] = x.dims();
				let (height, width) = (height / 2, width / 2);
				x.reshape([batch, height, 2, width, 2 * channels])
					.max_dim(2)
					.reshape([batch, height, width, 2, channels])
					.max_dim(3)
					.reshape([batch, height, width, channels])
			}
		}
	}

	/// The mean cross-entropy of `logits: [rows, classes]` against class indices
	/// `targets: [rows]`: the mean of `ln Σ eˣ − x[target]` (with `x` shifted by its maximum).
	pub fn cross_entropy(self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
		let rows = targets.dims()[0];
		let shifted = logits.clone() - logits.max_dim(1).detach();
		let normaliser = self.ln(self.exp(shifted.clone()).sum_dim(1));
		let target_logits = shifted.gather(1, targets.reshape([rows, 1]));
		(normaliser - target_logits).mean()
	}
}

/// An [`ExactOps`] result, run through burn's dispatch, as a tensor again.
fn exact<const D: usize>(result: FloatTensor<Dispatch>) -> Tensor<D> {
	Tensor::from_dispatch(result)
}

#[cfg(test)]
mod tests {
	use super::*;
	use burn::backend::DispatchDevice;

	#[test]
	fn each_backend_runs_on_the_device_it_names() {
		for backend in [Backend::Reference, Backend::Cpu] {
			assert!(
				matches!(backend.device().as_dispatch(), DispatchDevice::Flex(_)),
				"{backend:?}"
			);
		}
		// With both GPU features built, burn's default device would be CUDA's.
		#[cfg(feature = "wgpu")]
		assert!(matches!(
			Backend::Wgpu.device().as_dispatch(),
			DispatchDevice::Cube(burn::backend::CubeDevice::Wgpu(_))
		));
		#[cfg(feature = "cuda")]
		assert!(matches!(
			Backend::Cuda.device().as_dispatch(),
			DispatchDevice::Cube(burn::backend::CubeDevice::Cuda(_))
		));
	}
}
