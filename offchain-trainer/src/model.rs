//! The networks the trainer trains, with weights drawn from the job's seed.
//!
//! Every parameter is created eagerly from a ChaCha8 stream seeded by the job, in
//! declaration order, with a fixed [`ParamId`] (its index): burn's own initialisers draw
//! lazily from a process-global generator and give parameters random ids, and both would
//! leak into the digests and the saved state. A parameter's position in
//! [`Module::visit`] order is the canonical parameter order of `primitives::digest`.

use crate::backend::Matmul;
use burn::{
	module::{Module, Param, ParamId},
	tensor::{activation::relu, Device, Tensor, TensorData},
};
use rand_chacha::{
	rand_core::{RngCore, SeedableRng},
	ChaCha8Rng,
};
use serde::{Deserialize, Serialize};

/// Which network to train, and its size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Architecture {
	/// Fully connected layers with ReLU between them.
	Mlp {
		/// Widths of the hidden layers.
		hidden: Vec<usize>,
	},
	/// Two 3×3 convolutions (ReLU, 2×2 max-pooling) and a linear classifier, for one-channel
	/// images whose sides are multiples of 4.
	Cnn {
		/// Output channels of the two convolutions.
		channels: [usize; 2],
	},
}

/// Why an architecture does not fit a dataset.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArchitectureError {
	/// A CNN needs image data.
	#[error("a CNN needs image data whose sides are multiples of 4")]
	NotAnImage,
	/// A layer of width zero.
	#[error("layer widths and channel counts must be positive")]
	EmptyLayer,
	/// More layers or parameters than a trainer takes on.
	#[error("at most {MAX_LAYERS} layers and {MAX_PARAMETERS} parameters")]
	TooLarge,
}

/// The most hidden layers an MLP may have.
pub const MAX_LAYERS: usize = 16;
/// The most parameters a network may have.
pub const MAX_PARAMETERS: usize = 1 << 24;

impl Architecture {
	/// The `(fan_in, fan_out)` of every matrix product, for `inputs` features (an image of
	/// `image`) and `classes` outputs.
	pub fn products(
		&self,
		inputs: usize,
		image: Option<(usize, usize)>,
		classes: usize,
	) -> Vec<(usize, usize)> {
		match self {
			Architecture::Mlp { hidden } => {
				let widths: Vec<usize> = core::iter::once(inputs)
					.chain(hidden.iter().copied())
					.chain([classes])
					.collect();
				widths.windows(2).map(|pair| (pair[0], pair[1])).collect()
			}
			Architecture::Cnn { channels: [first, second] } => {
				let (height, width) = image.unwrap_or((0, 0));
				let mut products = vec![(1, *first); 9];
				products.extend(vec![(*first, *second); 9]);
				products.push((
					(height / 4).saturating_mul(width / 4).saturating_mul(*second),
					classes,
				));
				products
			}
		}
	}
}

/// Draws initial weights: uniform in `±1/√fan_in`, as PyTorch's default for linear layers.
pub struct Initializer {
	rng: ChaCha8Rng,
	next_id: u64,
	device: Device,
}

impl Initializer {
	/// Weights for the job with this seed, created on `device`.
	pub fn new(seed: u64, device: &Device) -> Self {
		Self { rng: ChaCha8Rng::seed_from_u64(seed), next_id: 0, device: device.clone() }
	}

	fn uniform(&mut self, shape: [usize; 2], fan_in: usize) -> Param<Tensor<2>> {
		let bound = 1.0 / (fan_in as f32).sqrt();
		// 24 random bits give every representable multiple of 2^-24 in [0, 1) exactly.
		let values = (0..shape[0] * shape[1])
			.map(|_| ((self.rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * bound)
			.collect();
		self.param(TensorData::new(values, shape))
	}

	fn param<const D: usize>(&mut self, data: TensorData) -> Param<Tensor<D>> {
		let id = ParamId::from(self.next_id);
		self.next_id += 1;
		let tensor = Tensor::from_data(data, &self.device);
		let tensor = if self.device.is_autodiff() { tensor.require_grad() } else { tensor };
		Param::initialized(id, tensor)
	}

	fn dense(&mut self, fan_in: usize, fan_out: usize) -> Dense {
		let weight = self.uniform([fan_in, fan_out], fan_in);
		let bias = self.uniform([1, fan_out], fan_in);
		Dense { weight, bias }
	}
}

/// `x · weight + bias`.
#[derive(Module, Debug)]
pub struct Dense {
	weight: Param<Tensor<2>>,
	bias: Param<Tensor<2>>,
}

impl Dense {
	fn forward(&self, x: Tensor<2>, matmul: Matmul) -> Tensor<2> {
		matmul.apply(x, self.weight.val()) + self.bias.val()
	}
}

/// A 3×3 convolution with zero padding, computed as nine channel-mixing products of shifted
/// views so that it goes through [`Matmul`] like everything else.
#[derive(Module, Debug)]
pub struct Conv3x3 {
	taps: Vec<Dense>,
}

impl Conv3x3 {
	fn new(init: &mut Initializer, channels_in: usize, channels_out: usize) -> Self {
		let fan_in = channels_in * 9;
		let taps = (0..9)
			.map(|_| Dense {
				weight: init.uniform([channels_in, channels_out], fan_in),
				bias: init.uniform([1, channels_out], fan_in),
			})
			.collect();
		Self { taps }
	}

	/// `x: [batch, height, width, channels]`.
	fn forward(&self, x: Tensor<4>, matmul: Matmul) -> Tensor<4> {
		let [batch, height, width, channels] = x.dims();
		let device = x.device();
		let zero_rows = Tensor::zeros([batch, 1, width, channels], &device);
		let x = Tensor::cat(vec![zero_rows.clone(), x, zero_rows], 1);
		let zero_columns = Tensor::zeros([batch, height + 2, 1, channels], &device);
		let padded = Tensor::cat(vec![zero_columns.clone(), x, zero_columns], 2);
		let channels_out = self.taps.first().map_or(0, |tap| tap.weight.dims()[1]);
		let out = self.taps.iter().enumerate().fold(
			Tensor::zeros([batch * height * width, channels_out], &device),
			|sum, (tap, layer)| {
				let (dy, dx) = (tap / 3, tap % 3);
				let view = padded
					.clone()
					.slice([0..batch, dy..dy + height, dx..dx + width, 0..channels])
					.reshape([batch * height * width, channels]);
				sum + layer.forward(view, matmul)
			},
		);
		out.reshape([batch, height, width, channels_out])
	}
}

/// 2×2 max-pooling of `[batch, height, width, channels]`.
fn max_pool(x: Tensor<4>) -> Tensor<4> {
	let [batch, height, width, channels] = x.dims();
	x.reshape([batch, height / 2, 2, width / 2, 2 * channels])
		.max_dim(2)
		.reshape([batch, height / 2, width / 2, 2, channels])
		.max_dim(3)
		.reshape([batch, height / 2, width / 2, channels])
}

/// A network ready to train.
#[derive(Module, Debug)]
pub enum Network {
	/// See [`Architecture::Mlp`].
	Mlp(Vec<Dense>),
	/// See [`Architecture::Cnn`].
	Cnn(Cnn),
}

/// See [`Architecture::Cnn`].
#[derive(Module, Debug)]
pub struct Cnn {
	first: Conv3x3,
	second: Conv3x3,
	head: Dense,
	height: usize,
	width: usize,
}

impl Network {
	/// A network of `architecture` for `inputs` features (an image of `image` if given) and
	/// `classes` outputs, its weights drawn by `init`.
	pub fn new(
		architecture: &Architecture,
		inputs: usize,
		image: Option<(usize, usize)>,
		classes: usize,
		init: &mut Initializer,
	) -> Result<Self, ArchitectureError> {
		let products = architecture.products(inputs, image, classes);
		if matches!(architecture, Architecture::Mlp { hidden } if hidden.len() > MAX_LAYERS) {
			return Err(ArchitectureError::TooLarge);
		}
		let parameters = products.iter().try_fold(0usize, |total, (fan_in, fan_out)| {
			fan_in.checked_add(1)?.checked_mul(*fan_out)?.checked_add(total)
		});
		if parameters.is_none_or(|parameters| parameters > MAX_PARAMETERS) {
			return Err(ArchitectureError::TooLarge);
		}
		match architecture {
			Architecture::Mlp { hidden } => {
				if hidden.contains(&0) || inputs == 0 || classes == 0 {
					return Err(ArchitectureError::EmptyLayer);
				}
				Ok(Network::Mlp(
					products
						.iter()
						.map(|(fan_in, fan_out)| init.dense(*fan_in, *fan_out))
						.collect(),
				))
			}
			Architecture::Cnn { channels: [first, second] } => {
				let (height, width) = image
					.filter(|(h, w)| *h > 0 && *w > 0 && h % 4 == 0 && w % 4 == 0)
					.ok_or(ArchitectureError::NotAnImage)?;
				if *first == 0 || *second == 0 || classes == 0 {
					return Err(ArchitectureError::EmptyLayer);
				}
				Ok(Network::Cnn(Cnn {
					first: Conv3x3::new(init, 1, *first),
					second: Conv3x3::new(init, *first, *second),
					head: init.dense(height / 4 * width / 4 * second, classes),
					height,
					width,
				}))
			}
		}
	}

	/// Class scores (logits) for `x: [batch, features]`.
	pub fn forward(&self, x: Tensor<2>, matmul: Matmul) -> Tensor<2> {
		match self {
			Network::Mlp(layers) => {
				let last = layers.len().saturating_sub(1);
				layers.iter().enumerate().fold(x, |x, (index, layer)| {
					let y = layer.forward(x, matmul);
					if index == last {
						y
					} else {
						relu(y)
					}
				})
			}
			Network::Cnn(cnn) => {
				let batch = x.dims()[0];
				let image = x.reshape([batch, cnn.height, cnn.width, 1]);
				let hidden = max_pool(relu(cnn.first.forward(image, matmul)));
				let hidden = max_pool(relu(cnn.second.forward(hidden, matmul)));
				let features = hidden.dims()[1] * hidden.dims()[2] * hidden.dims()[3];
				cnn.head.forward(hidden.reshape([batch, features]), matmul)
			}
		}
	}
}
