//! The networks the trainer trains, with weights drawn from the job's seed.
//!
//! Every parameter is created eagerly from a ChaCha8 stream seeded by the job, in
//! declaration order, with a fixed [`ParamId`] (its index): burn's own initialisers draw
//! lazily from a process-global generator and give parameters random ids, and both would
//! leak into the digests and the saved state. A parameter's position in
//! [`Module::visit`] order is the canonical parameter order of `primitives::digest`.

use crate::backend::Arithmetic;
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
	/// A decoder-only transformer over bytes (GPT-style pre-norm blocks of single-head
	/// causal self-attention and a ReLU feed-forward layer four times as wide), for text.
	CharTransformer {
		/// Bytes of context; the dataset's windows must have this length.
		context: usize,
		/// The model width.
		width: usize,
		/// Transformer blocks.
		layers: usize,
	},
}

impl Architecture {
	/// Work units per sample, by the chain's rule
	/// ([`tessera_primitives::Architecture::work_per_sample`]); `None` for a network beyond
	/// what the chain can name (a size past `u32`, too many layers), which no job names.
	pub fn work_per_sample(&self) -> Option<u64> {
		use tessera_primitives::Architecture as OnChain;
		let size = |size: &usize| u32::try_from(*size).ok();
		let on_chain = match self {
			Self::Mlp { hidden } => OnChain::Mlp {
				hidden: hidden.iter().map(size).collect::<Option<Vec<_>>>()?.try_into().ok()?,
			},
			Self::Cnn { channels: [first, second] } => {
				OnChain::Cnn { channels: [size(first)?, size(second)?] }
			}
			Self::CharTransformer { context, width, layers } => OnChain::CharTransformer {
				context: size(context)?,
				width: size(width)?,
				layers: size(layers)?,
			},
		};
		Some(on_chain.work_per_sample())
	}
}

/// Why an architecture does not fit a dataset.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArchitectureError {
	/// A CNN needs image data.
	#[error("a CNN needs image data whose sides are multiples of 4")]
	NotAnImage,
	/// A character transformer needs text windows of its context length.
	#[error("a character transformer needs a text dataset with windows of its context length")]
	NotText,
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

/// The tokens of a [`Architecture::CharTransformer`]: the 256 byte values, so text in any
/// language or script is tokenised alike.
pub const TEXT_VOCABULARY: usize = 256;

impl Architecture {
	/// Refuses more layers than a trainer takes on ([`MAX_LAYERS`]); needs no data, and comes
	/// before anything that goes through the layers one by one.
	pub fn check_depth(&self) -> Result<(), ArchitectureError> {
		let depth = match self {
			Architecture::Mlp { hidden } => hidden.len(),
			Architecture::Cnn { .. } => 2,
			Architecture::CharTransformer { layers, .. } => *layers,
		};
		if depth > MAX_LAYERS {
			return Err(ArchitectureError::TooLarge);
		}
		Ok(())
	}

	/// Every matrix product of one forward pass over one sample, as `(rows, fan_in,
	/// fan_out)`, for `inputs` features (an image of `image`) and `classes` outputs.
	pub fn products(
		&self,
		inputs: usize,
		image: Option<(usize, usize)>,
		classes: usize,
	) -> Vec<(usize, usize, usize)> {
		match self {
			Architecture::Mlp { hidden } => widths(inputs, hidden, classes)
				.windows(2)
				.map(|pair| (1, pair[0], pair[1]))
				.collect(),
			Architecture::Cnn { channels: [first, second] } => {
				let (height, width) = image.unwrap_or((0, 0));
				let pixels = height.saturating_mul(width);
				vec![
					(pixels, 9, *first),
					(pixels / 4, first.saturating_mul(9), *second),
					(1, (pixels / 16).saturating_mul(*second), classes),
				]
			}
			Architecture::CharTransformer { context, width, layers } => {
				let (t, d, wide) = (*context, *width, width.saturating_mul(4));
				let mut products = Vec::new();
				for _ in 0..*layers {
					products.extend([(t, d, d); 4]);
					products.extend([(t, d, t), (t, t, d), (t, d, wide), (t, wide, d)]);
				}
				products.push((t, d, classes));
				products
			}
		}
	}

	/// Parameters of the network, or `None` if the count overflows.
	pub fn parameters(
		&self,
		inputs: usize,
		image: Option<(usize, usize)>,
		classes: usize,
	) -> Option<usize> {
		let dense = |fan_in: usize, fan_out: usize| fan_in.checked_add(1)?.checked_mul(fan_out);
		match self {
			Architecture::Mlp { hidden } => widths(inputs, hidden, classes)
				.windows(2)
				.try_fold(0usize, |total, pair| total.checked_add(dense(pair[0], pair[1])?)),
			Architecture::Cnn { .. } => self
				.products(inputs, image, classes)
				.iter()
				.try_fold(0usize, |total, (_, fan_in, fan_out)| {
					total.checked_add(dense(*fan_in, *fan_out)?)
				}),
			Architecture::CharTransformer { context, width, layers } => {
				let d = *width;
				let embeddings = TEXT_VOCABULARY.checked_add(*context)?.checked_mul(d)?;
				let block = dense(d, d)?
					.checked_mul(4)?
					.checked_add(dense(d, d.checked_mul(4)?)?)?
					.checked_add(dense(d.checked_mul(4)?, d)?)?
					.checked_add(d.checked_mul(4)?)?;
				let head = dense(d, classes)?.checked_add(d.checked_mul(2)?)?;
				embeddings.checked_add(block.checked_mul(*layers)?)?.checked_add(head)
			}
		}
	}
}

fn widths(inputs: usize, hidden: &[usize], classes: usize) -> Vec<usize> {
	core::iter::once(inputs).chain(hidden.iter().copied()).chain([classes]).collect()
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

	fn constant(&mut self, shape: [usize; 2], value: f32) -> Param<Tensor<2>> {
		self.param(TensorData::new(vec![value; shape[0] * shape[1]], shape))
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
	fn forward(&self, x: Tensor<2>, arithmetic: Arithmetic) -> Tensor<2> {
		arithmetic.matmul(x, self.weight.val()) + self.bias.val()
	}
}

/// A 3×3 convolution with zero padding: every pixel's neighbourhood times a `[9 · channels
/// in, channels out]` weight, so that it goes through [`Arithmetic`]'s products like
/// everything else.
#[derive(Module, Debug)]
pub struct Conv3x3 {
	kernel: Dense,
}

impl Conv3x3 {
	fn new(init: &mut Initializer, channels_in: usize, channels_out: usize) -> Self {
		Self { kernel: init.dense(9 * channels_in, channels_out) }
	}

	/// `x: [batch, height, width, channels]`.
	fn forward(&self, x: Tensor<4>, arithmetic: Arithmetic) -> Tensor<4> {
		let [batch, height, width, _] = x.dims();
		let out = self.kernel.forward(arithmetic.patches3x3(x), arithmetic);
		let channels_out = out.dims()[1];
		out.reshape([batch, height, width, channels_out])
	}
}

/// A network ready to train.
#[derive(Module, Debug)]
pub enum Network {
	/// See [`Architecture::Mlp`].
	Mlp(Vec<Dense>),
	/// See [`Architecture::Cnn`].
	Cnn(Cnn),
	/// See [`Architecture::CharTransformer`].
	CharTransformer(CharTransformer),
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
		architecture.check_depth()?;
		if architecture
			.parameters(inputs, image, classes)
			.is_none_or(|parameters| parameters > MAX_PARAMETERS)
		{
			return Err(ArchitectureError::TooLarge);
		}
		match architecture {
			Architecture::Mlp { hidden } => {
				if hidden.contains(&0) || inputs == 0 || classes == 0 {
					return Err(ArchitectureError::EmptyLayer);
				}
				Ok(Network::Mlp(
					widths(inputs, hidden, classes)
						.windows(2)
						.map(|pair| init.dense(pair[0], pair[1]))
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
			Architecture::CharTransformer { context, width, layers } => {
				if inputs != *context || classes != TEXT_VOCABULARY {
					return Err(ArchitectureError::NotText);
				}
				if *context == 0 || *width == 0 || *layers == 0 {
					return Err(ArchitectureError::EmptyLayer);
				}
				Ok(Network::CharTransformer(CharTransformer::new(init, *context, *width, *layers)))
			}
		}
	}

	/// Class scores (logits) for `x: [batch, features]`: one row per sample, or for text one
	/// row per position of every sample.
	pub fn forward(&self, x: Tensor<2>, arithmetic: Arithmetic) -> Tensor<2> {
		match self {
			Network::Mlp(layers) => {
				let last = layers.len().saturating_sub(1);
				layers.iter().enumerate().fold(x, |x, (index, layer)| {
					let y = layer.forward(x, arithmetic);
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
				let hidden = arithmetic.max_pool2x2(relu(cnn.first.forward(image, arithmetic)));
				let hidden = arithmetic.max_pool2x2(relu(cnn.second.forward(hidden, arithmetic)));
				let features = hidden.dims()[1] * hidden.dims()[2] * hidden.dims()[3];
				cnn.head.forward(hidden.reshape([batch, features]), arithmetic)
			}
			Network::CharTransformer(transformer) => transformer.forward(x, arithmetic),
		}
	}
}

/// Layer normalisation over the last dimension, with a learned gain and bias.
#[derive(Module, Debug)]
pub struct Norm {
	gain: Param<Tensor<2>>,
	bias: Param<Tensor<2>>,
}

impl Norm {
	fn new(init: &mut Initializer, width: usize) -> Self {
		Self { gain: init.constant([1, width], 1.0), bias: init.constant([1, width], 0.0) }
	}

	/// `x: [rows, width]`.
	fn forward(&self, x: Tensor<2>) -> Tensor<2> {
		let centred = x.clone() - x.mean_dim(1);
		let variance = (centred.clone() * centred.clone()).mean_dim(1);
		centred / (variance + 1e-5).sqrt() * self.gain.val() + self.bias.val()
	}
}

/// A pre-norm transformer block: causal self-attention, then a feed-forward layer.
#[derive(Module, Debug)]
pub struct Block {
	attention_norm: Norm,
	query: Dense,
	key: Dense,
	value: Dense,
	output: Dense,
	feed_forward_norm: Norm,
	expand: Dense,
	contract: Dense,
}

/// See [`Architecture::CharTransformer`].
#[derive(Module, Debug)]
pub struct CharTransformer {
	embedding: Param<Tensor<2>>,
	position: Param<Tensor<2>>,
	blocks: Vec<Block>,
	norm: Norm,
	head: Dense,
	context: usize,
}

impl CharTransformer {
	fn new(init: &mut Initializer, context: usize, width: usize, layers: usize) -> Self {
		Self {
			embedding: init.uniform([TEXT_VOCABULARY, width], width),
			position: init.uniform([context, width], width),
			blocks: (0..layers)
				.map(|_| Block {
					attention_norm: Norm::new(init, width),
					query: init.dense(width, width),
					key: init.dense(width, width),
					value: init.dense(width, width),
					output: init.dense(width, width),
					feed_forward_norm: Norm::new(init, width),
					expand: init.dense(width, 4 * width),
					contract: init.dense(4 * width, width),
				})
				.collect(),
			norm: Norm::new(init, width),
			head: init.dense(width, TEXT_VOCABULARY),
			context,
		}
	}

	/// `x: [batch, context]` byte values; logits `[batch · context, 256]`.
	fn forward(&self, x: Tensor<2>, arithmetic: Arithmetic) -> Tensor<2> {
		let [batch, context] = x.dims();
		let width = self.position.dims()[1];
		let rows = batch * context;
		let device = x.device();
		// Looking rows up moves values without arithmetic, so it is exact on every backend.
		let tokens = self
			.embedding
			.val()
			.select(0, x.int().reshape([rows]))
			.reshape([batch, context, width]);
		let mut hidden = (tokens + self.position.val().unsqueeze::<3>()).reshape([rows, width]);
		// Position i attends to positions up to i: later ones get a score no softmax survives.
		let future: Vec<f32> = (0..context * context)
			.map(|cell| if cell % context > cell / context { -1e9 } else { 0.0 })
			.collect();
		let mask = Tensor::<2>::from_data(TensorData::new(future, [context, context]), &device)
			.unsqueeze::<3>();
		let scale = 1.0 / (width as f32).sqrt();
		for block in &self.blocks {
			let normed = block.attention_norm.forward(hidden.clone());
			let split = |layer: &Dense| {
				layer.forward(normed.clone(), arithmetic).reshape([batch, context, width])
			};
			let (query, key, value) = (split(&block.query), split(&block.key), split(&block.value));
			let scores = arithmetic.batched(query, key.swap_dims(1, 2)) * scale + mask.clone();
			let attended =
				arithmetic.batched(arithmetic.softmax(scores, 2), value).reshape([rows, width]);
			hidden = hidden + block.output.forward(attended, arithmetic);
			let normed = block.feed_forward_norm.forward(hidden.clone());
			let expanded = relu(block.expand.forward(normed, arithmetic));
			hidden = hidden + block.contract.forward(expanded, arithmetic);
		}
		self.head.forward(self.norm.forward(hidden), arithmetic)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use burn::module::Module;

	fn network(
		architecture: &Architecture,
		inputs: usize,
		image: Option<(usize, usize)>,
		classes: usize,
	) -> Network {
		Network::new(
			architecture,
			inputs,
			image,
			classes,
			&mut Initializer::new(1, &Device::flex()),
		)
		.unwrap()
	}

	#[test]
	fn networks_have_the_parameters_and_outputs_their_architecture_promises() {
		let cases = [
			(Architecture::Mlp { hidden: vec![32, 16] }, 64, None, 10, 4, 4),
			(Architecture::Cnn { channels: [4, 8] }, 64, Some((8, 8)), 10, 3, 3),
			(
				Architecture::CharTransformer { context: 8, width: 16, layers: 2 },
				8,
				None,
				TEXT_VOCABULARY,
				2,
				16,
			),
		];
		for (architecture, inputs, image, classes, batch, rows) in cases {
			let network = network(&architecture, inputs, image, classes);
			assert_eq!(
				Some(network.num_params()),
				architecture.parameters(inputs, image, classes),
				"{architecture:?}"
			);
			let x = Tensor::<2>::from_data(
				TensorData::new(vec![1.0f32; batch * inputs], [batch, inputs]),
				&Device::flex(),
			);
			for arithmetic in [Arithmetic::Exact, Arithmetic::Native] {
				assert_eq!(
					network.forward(x.clone(), arithmetic).dims(),
					[rows, classes],
					"{architecture:?}"
				);
			}
		}
	}

	#[test]
	fn the_exact_kernel_agrees_with_gemm_to_rounding() {
		let device = Device::flex();
		let values = |n: usize, scale: f32| {
			(0..n).map(|i| ((i * 7919) % 101) as f32 * scale - 0.5).collect::<Vec<_>>()
		};
		let a = Tensor::<2>::from_data(TensorData::new(values(6 * 40, 0.01), [6, 40]), &device);
		let b = Tensor::<2>::from_data(TensorData::new(values(40 * 5, 0.013), [40, 5]), &device);
		let exact =
			Arithmetic::Exact.matmul(a.clone(), b.clone()).try_into_vec_as::<f32>().unwrap();
		let native = Arithmetic::Native.matmul(a, b).try_into_vec_as::<f32>().unwrap();
		for (e, n) in exact.iter().zip(&native) {
			assert!((e - n).abs() <= 1e-4 * n.abs().max(1.0), "{e} vs {n}");
		}
	}

	#[test]
	fn architectures_that_do_not_fit_their_data_are_refused() {
		let init = &mut Initializer::new(1, &Device::flex());
		let mut refused = |architecture: Architecture, inputs, image, classes| {
			Network::new(&architecture, inputs, image, classes, init).err()
		};
		assert_eq!(
			refused(Architecture::Cnn { channels: [4, 8] }, 4, None, 3),
			Some(ArchitectureError::NotAnImage)
		);
		assert_eq!(
			refused(Architecture::Mlp { hidden: vec![0] }, 4, None, 3),
			Some(ArchitectureError::EmptyLayer)
		);
		assert_eq!(
			refused(Architecture::Mlp { hidden: vec![1 << 20] }, 64, None, 10),
			Some(ArchitectureError::TooLarge)
		);
		assert_eq!(
			refused(
				Architecture::CharTransformer { context: 8, width: 16, layers: 1 },
				64,
				None,
				10
			),
			Some(ArchitectureError::NotText)
		);
	}
}
