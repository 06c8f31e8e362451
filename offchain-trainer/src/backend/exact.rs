//! The reference backend's deterministic operations as a burn backend extension: the forward
//! pass on `Flex` runs [`kernel`]'s and [`image`]'s code on the tensors' memory, and the
//! autodiff pass records backward steps that go through the same code, so gradients are as
//! reproducible as outputs.

use super::{image, kernel};
use burn::backend::{
	autodiff::{
		checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
		grads::Gradients,
		ops::{Backward, Ops, OpsKind},
		Autodiff,
	},
	backend_extension,
	flex::FlexTensor,
	tensor::FloatTensor,
	Backend, Flex, TensorMetadata,
};
use burn::tensor::TensorData;

/// Operations whose results are the same bits on every machine.
#[backend_extension(Flex, Autodiff)]
pub trait ExactOps: Backend {
	/// `lhs · rhs` over the last two dimensions, the leading ones being a batch both share.
	fn exact_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self>;
	/// `eˣ` element-wise.
	fn exact_exp(tensor: FloatTensor<Self>) -> FloatTensor<Self>;
	/// `ln x` element-wise.
	fn exact_ln(tensor: FloatTensor<Self>) -> FloatTensor<Self>;
	/// [`image::patches`] of `[batch, height, width, channels]`: `[batch · height · width,
	/// 9 · channels]`.
	fn exact_patches(images: FloatTensor<Self>) -> FloatTensor<Self>;
	/// [`image::max_pool`] of `[batch, height, width, channels]`.
	fn exact_max_pool(images: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// A row-major `f32` tensor's values: the tensor's own memory when its layout is plain, else
/// a contiguous copy.
struct Values {
	tensor: FlexTensor,
}

impl Values {
	fn of(tensor: &FlexTensor) -> Self {
		Self { tensor: tensor.to_contiguous() }
	}

	fn shape(&self) -> Vec<usize> {
		self.tensor.shape().to_vec()
	}

	fn get(&self) -> &[f32] {
		self.tensor.as_slice::<f32>().expect("the trainer's tensors are contiguous f32 here")
	}
}

fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
	FlexTensor::from_data(TensorData::new(values, shape))
}

fn elementwise(input: &FlexTensor, function: fn(&mut [f32])) -> FlexTensor {
	let input = Values::of(input);
	let mut values = input.get().to_vec();
	function(&mut values);
	tensor(values, input.shape())
}

/// `lhs · rhs`, either operand taken as its transpose when its flag says so, over the last two
/// dimensions of operands sharing their leading (batch) dimensions.
fn product(
	lhs: &FlexTensor,
	lhs_transposed: bool,
	rhs: &FlexTensor,
	rhs_transposed: bool,
) -> FlexTensor {
	let (lhs, rhs) = (Values::of(lhs), Values::of(rhs));
	let (lhs_shape, rhs_shape) = (lhs.shape(), rhs.shape());
	let rank = lhs_shape.len();
	assert!(
		rank >= 2 && rhs_shape.len() == rank && lhs_shape[..rank - 2] == rhs_shape[..rank - 2],
		"exact_matmul needs operands of one rank sharing their batch: {lhs_shape:?} · {rhs_shape:?}"
	);
	let matrix = |shape: &[usize], transposed| {
		let (rows, columns) = (shape[rank - 2], shape[rank - 1]);
		if transposed {
			(columns, rows)
		} else {
			(rows, columns)
		}
	};
	let ((m, k), (inner, n)) =
		(matrix(&lhs_shape, lhs_transposed), matrix(&rhs_shape, rhs_transposed));
	assert_eq!(k, inner, "exact_matmul: inner dimensions differ");
	let batch = lhs_shape[..rank - 2].iter().product();
	let c = kernel::batched_matmul(
		kernel::Operand { values: lhs.get(), transposed: lhs_transposed },
		kernel::Operand { values: rhs.get(), transposed: rhs_transposed },
		[batch, m, k, n],
	);
	let mut shape = lhs_shape;
	(shape[rank - 2], shape[rank - 1]) = (m, n);
	tensor(c, shape)
}

/// A `[batch, height, width, channels]` shape, or a panic naming the operation: the model
/// code passes images only.
fn image_shape(shape: &[usize], operation: &str) -> image::Shape4 {
	shape.try_into().unwrap_or_else(|_| panic!("{operation} takes rank-4 images, not {shape:?}"))
}

fn max_pool(images: &FlexTensor) -> (FlexTensor, Vec<usize>) {
	let images = Values::of(images);
	let [batch, height, width, channels] = image_shape(&images.shape(), "exact_max_pool");
	let (maxima, winners) = image::max_pool(images.get(), [batch, height, width, channels]);
	(tensor(maxima, vec![batch, height / 2, width / 2, channels]), winners)
}

impl ExactOps for Flex {
	fn exact_matmul(lhs: FlexTensor, rhs: FlexTensor) -> FlexTensor {
		product(&lhs, false, &rhs, false)
	}

	fn exact_exp(tensor: FlexTensor) -> FlexTensor {
		elementwise(&tensor, kernel::exp)
	}

	fn exact_ln(tensor: FlexTensor) -> FlexTensor {
		elementwise(&tensor, kernel::ln)
	}

	fn exact_patches(images: FlexTensor) -> FlexTensor {
		let images = Values::of(&images);
		let shape = image_shape(&images.shape(), "exact_patches");
		let [batch, height, width, channels] = shape;
		tensor(image::patches(images.get(), shape), vec![batch * height * width, 9 * channels])
	}

	fn exact_max_pool(images: FlexTensor) -> FlexTensor {
		max_pool(&images).0
	}
}

/// `∂(a·b)`: the output gradient times `bᵀ` for `a`, `aᵀ` times it for `b`.
#[derive(Debug)]
struct MatmulBackward;

impl Backward<Flex, 2> for MatmulBackward {
	type State = (FlexTensor, FlexTensor);

	fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
		let [lhs_node, rhs_node] = ops.parents;
		let grad = grads.consume::<Flex>(&ops.node);
		let (lhs, rhs) = ops.state;
		if let Some(node) = lhs_node {
			grads.register::<Flex>(node.id, product(&grad, false, &rhs, true));
		}
		if let Some(node) = rhs_node {
			grads.register::<Flex>(node.id, product(&lhs, true, &grad, false));
		}
	}
}

/// An element-wise function's backward: the output gradient times its derivative, which
/// `derivative` computes from the kept tensor (the output of `exp`, the input of `ln`).
#[derive(Debug)]
struct ElementwiseBackward(fn(f32, f32) -> f32);

impl Backward<Flex, 1> for ElementwiseBackward {
	type State = FlexTensor;

	fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
		let [node] = ops.parents;
		let grad = grads.consume::<Flex>(&ops.node);
		if let Some(node) = node {
			let (grad, kept) = (Values::of(&grad), Values::of(&ops.state));
			let chained = grad
				.get()
				.iter()
				.zip(kept.get())
				.map(|(grad, kept)| (self.0)(*grad, *kept))
				.collect();
			grads.register::<Flex>(node.id, tensor(chained, grad.shape()));
		}
	}
}

/// [`image::fold_patches`] of the output gradient, back to the images' shape.
#[derive(Debug)]
struct PatchesBackward;

impl Backward<Flex, 1> for PatchesBackward {
	type State = image::Shape4;

	fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
		let [node] = ops.parents;
		let grad = grads.consume::<Flex>(&ops.node);
		if let Some(node) = node {
			let pixels = image::fold_patches(Values::of(&grad).get(), ops.state);
			grads.register::<Flex>(node.id, tensor(pixels, ops.state.to_vec()));
		}
	}
}

/// [`image::unpool`]: each window's gradient to the value that won it.
#[derive(Debug)]
struct MaxPoolBackward;

impl Backward<Flex, 1> for MaxPoolBackward {
	/// The images' shape and the winners.
	type State = (Vec<usize>, Vec<usize>);

	fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
		let [node] = ops.parents;
		let grad = grads.consume::<Flex>(&ops.node);
		if let Some(node) = node {
			let (shape, winners) = ops.state;
			let pixels = image::unpool(Values::of(&grad).get(), &winners, shape.iter().product());
			grads.register::<Flex>(node.id, tensor(pixels, shape));
		}
	}
}

impl<C: CheckpointStrategy> ExactOps for Autodiff<Flex, C> {
	fn exact_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
		match MatmulBackward.prepare::<C>([lhs.node(), rhs.node()]).compute_bound().stateful() {
			OpsKind::Tracked(prep) => {
				let (lhs, rhs) = (lhs.into_primitive(), rhs.into_primitive());
				let output = Flex::exact_matmul(lhs.clone(), rhs.clone());
				prep.finish((lhs, rhs), output)
			}
			OpsKind::UnTracked(prep) => {
				prep.finish(Flex::exact_matmul(lhs.into_primitive(), rhs.into_primitive()))
			}
		}
	}

	fn exact_exp(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
		let derivative = ElementwiseBackward(|grad, output| grad * output);
		match derivative.prepare::<C>([tensor.node()]).compute_bound().stateful() {
			OpsKind::Tracked(prep) => {
				let output = Flex::exact_exp(tensor.into_primitive());
				prep.finish(output.clone(), output)
			}
			OpsKind::UnTracked(prep) => prep.finish(Flex::exact_exp(tensor.into_primitive())),
		}
	}

	fn exact_ln(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
		let derivative = ElementwiseBackward(|grad, input| grad / input);
		match derivative.prepare::<C>([tensor.node()]).compute_bound().stateful() {
			OpsKind::Tracked(prep) => {
				let input = tensor.into_primitive();
				prep.finish(input.clone(), Flex::exact_ln(input))
			}
			OpsKind::UnTracked(prep) => prep.finish(Flex::exact_ln(tensor.into_primitive())),
		}
	}

	fn exact_patches(images: FloatTensor<Self>) -> FloatTensor<Self> {
		match PatchesBackward.prepare::<C>([images.node()]).compute_bound().stateful() {
			OpsKind::Tracked(prep) => {
				let images = images.into_primitive();
				let shape = image_shape(&images.shape(), "exact_patches");
				prep.finish(shape, Flex::exact_patches(images))
			}
			OpsKind::UnTracked(prep) => prep.finish(Flex::exact_patches(images.into_primitive())),
		}
	}

	fn exact_max_pool(images: FloatTensor<Self>) -> FloatTensor<Self> {
		match MaxPoolBackward.prepare::<C>([images.node()]).compute_bound().stateful() {
			OpsKind::Tracked(prep) => {
				let images = images.into_primitive();
				let (maxima, winners) = max_pool(&images);
				let shape = images.shape().to_vec();
				prep.finish((shape, winners), maxima)
			}
			OpsKind::UnTracked(prep) => prep.finish(Flex::exact_max_pool(images.into_primitive())),
		}
	}
}

#[cfg(test)]
mod tests {
	use crate::backend::Arithmetic;
	use burn::tensor::{Device, Int, Tensor, TensorData};

	/// A loss through every exact operation: products (plain and batched), `exp` and `ln`.
	fn loss_and_gradients(arithmetic: Arithmetic) -> (f32, Vec<Vec<f32>>) {
		let device = Device::flex().autodiff();
		let values = |count: usize, seed: usize| -> Vec<f32> {
			(0..count).map(|i| ((i * 31 + seed * 17) % 23) as f32 / 23.0 - 0.5).collect()
		};
		let parameter = |shape: [usize; 2], seed| {
			Tensor::<2>::from_data(
				TensorData::new(values(shape[0] * shape[1], seed), shape),
				&device,
			)
			.require_grad()
		};
		let (x, w, v) = (parameter([6, 5], 1), parameter([5, 8], 2), parameter([8, 8], 3));
		let hidden = arithmetic.matmul(x.clone(), w.clone());
		let mixed = arithmetic
			.batched(hidden.clone().reshape([2, 3, 8]), v.clone().unsqueeze::<3>().repeat_dim(0, 2))
			.reshape([6, 8]);
		let probabilities = arithmetic.softmax(mixed, 1);
		let logits = arithmetic.ln(probabilities + 0.5);
		let targets =
			Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 3, 7, 1, 2, 5], [6]), &device);
		let loss = arithmetic.cross_entropy(logits, targets);
		let value = loss.clone().into_scalar::<f32>();
		let grads = loss.backward();
		let gradients = [x, w, v]
			.iter()
			.map(|p| {
				p.grad(&grads)
					.expect("every parameter has a gradient")
					.try_into_vec_as::<f32>()
					.unwrap()
			})
			.collect();
		(value, gradients)
	}

	/// A loss through the image operations: a convolution's patches and max-pooling.
	fn image_loss_and_gradients(arithmetic: Arithmetic) -> (f32, Vec<Vec<f32>>) {
		let device = Device::flex().autodiff();
		let values = |count: usize| -> Vec<f32> {
			(0..count).map(|i| ((i * 37) % 29) as f32 / 29.0 - 0.5).collect()
		};
		let images =
			Tensor::<4>::from_data(TensorData::new(values(2 * 4 * 6 * 3), [2, 4, 6, 3]), &device)
				.require_grad();
		let weight = Tensor::<2>::from_data(TensorData::new(values(27 * 5), [27, 5]), &device)
			.require_grad();
		let convolved = arithmetic.matmul(arithmetic.patches3x3(images.clone()), weight.clone());
		let pooled = arithmetic.max_pool2x2(convolved.reshape([2, 4, 6, 5]));
		let loss = (pooled.clone() * pooled).sum();
		let value = loss.clone().into_scalar::<f32>();
		let grads = loss.backward();
		let gradient = |p: &Tensor<4>| p.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
		(
			value,
			vec![gradient(&images), weight.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap()],
		)
	}

	#[test]
	fn exact_image_gradients_agree_with_burns_own_to_rounding() {
		let (exact_loss, exact) = image_loss_and_gradients(Arithmetic::Exact);
		let (native_loss, native) = image_loss_and_gradients(Arithmetic::Native);
		assert!(
			(exact_loss - native_loss).abs() <= 1e-4 * native_loss.abs(),
			"{exact_loss} vs {native_loss}"
		);
		for (exact, native) in exact.iter().zip(&native) {
			assert!(native.iter().any(|g| g.abs() > 1e-3), "a gradient that says nothing");
			for (e, n) in exact.iter().zip(native) {
				assert!((e - n).abs() <= 1e-5 + 1e-4 * n.abs(), "{e} vs {n}");
			}
		}
	}

	#[test]
	fn exact_gradients_agree_with_burns_own_to_rounding() {
		let (exact_loss, exact) = loss_and_gradients(Arithmetic::Exact);
		let (native_loss, native) = loss_and_gradients(Arithmetic::Native);
		assert!((exact_loss - native_loss).abs() <= 1e-5, "{exact_loss} vs {native_loss}");
		for (exact, native) in exact.iter().zip(&native) {
			assert!(native.iter().any(|g| g.abs() > 1e-3), "a gradient that says nothing");
			for (e, n) in exact.iter().zip(native) {
				assert!((e - n).abs() <= 1e-5 + 1e-4 * n.abs(), "{e} vs {n}");
			}
		}
	}

	#[test]
	fn exact_operations_without_autodiff_give_the_same_values() {
		let device = Device::flex();
		let a =
			Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]), &device);
		let product =
			Arithmetic::Exact.matmul(a.clone(), a.clone()).try_into_vec_as::<f32>().unwrap();
		assert_eq!(product, vec![7.0, 10.0, 15.0, 22.0]);
		let logs = Arithmetic::Exact.ln(Arithmetic::Exact.exp(a)).try_into_vec_as::<f32>().unwrap();
		for (value, expected) in logs.iter().zip([1.0f32, 2.0, 3.0, 4.0]) {
			assert!((value - expected).abs() <= 4.0 * f32::EPSILON * expected);
		}
	}
}
