//! Talking to a spawned node through subxt, with nothing but the chain's metadata: submitting
//! calls, reading storage, constants and runtime APIs, following finalized events.

use anyhow::{anyhow, bail, Context, Result};
use std::{
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};
use zombienet_sdk::{
	subxt::{
		backend::legacy::LegacyRpcMethods,
		dynamic::{constant, runtime_api_call, storage, tx, At, Value},
		ext::scale_value::{Composite, Primitive, ValueDef},
		tx::{DynamicPayload, Signer},
		OnlineClient, SubstrateConfig,
	},
	subxt_signer::sr25519::dev,
	NetworkNode,
};

/// A decoded value, as subxt hands it out.
pub type Decoded = Value<u32>;

/// A client of one node.
#[derive(Clone)]
pub struct Chain {
	/// The subxt client.
	pub client: OnlineClient<SubstrateConfig>,
	rpc: LegacyRpcMethods<SubstrateConfig>,
}

impl Chain {
	/// Connects to `node`, waiting for it to answer.
	pub async fn connect(node: &NetworkNode) -> Result<Self> {
		let client = node
			.wait_client_with_timeout::<SubstrateConfig>(300u64)
			.await
			.with_context(|| format!("connecting to {}", node.name()))?;
		let rpc = LegacyRpcMethods::new(node.rpc().await?);
		Ok(Self { client, rpc })
	}

	/// Submits `call` signed by `signer` and waits for it to succeed in a finalized block.
	///
	/// Finalized, not best: subxt reads the signer's nonce at the latest finalized block, so a
	/// second call sent while the first is only in a best block would reuse its nonce.
	pub async fn submit(
		&self,
		call: &DynamicPayload,
		signer: &impl Signer<SubstrateConfig>,
	) -> Result<Vec<EventRecord>> {
		let what = format!("{}::{}", call.pallet_name(), call.call_name());
		let events = self
			.client
			.tx()
			.sign_and_submit_then_watch_default(call, signer)
			.await
			.with_context(|| format!("submitting {what}"))?
			.wait_for_finalized_success()
			.await
			.with_context(|| format!("{what} failed"))?;
		events.iter().map(|event| EventRecord::decode(0, &event?)).collect()
	}

	/// Dispatches `call` as root through Alice, the sudo key of Tessera's local spec.
	pub async fn sudo(&self, call: DynamicPayload) -> Result<()> {
		let what = format!("{}::{}", call.pallet_name(), call.call_name());
		let events =
			self.submit(&tx("Sudo", "sudo", vec![call.into_value()]), &dev::alice()).await?;
		let outcome = events
			.iter()
			.find(|event| event.is("Sudo", "Sudid"))
			.and_then(|event| event.field("sudo_result"))
			.ok_or_else(|| anyhow!("sudo of {what} emitted no Sudid"))?;
		match &outcome.value {
			ValueDef::Variant(variant) if variant.name == "Ok" => Ok(()),
			_ => bail!("{what} failed as root: {outcome}"),
		}
	}

	/// The value under `pallet::entry(keys)` in the latest finalized block, if any.
	pub async fn storage(
		&self,
		pallet: &str,
		entry: &str,
		keys: Vec<Value>,
	) -> Result<Option<Decoded>> {
		let at = self.client.storage().at_latest().await?;
		let value = at.fetch(&storage(pallet, entry, keys)).await?;
		Ok(value.map(|value| value.to_value()).transpose()?)
	}

	/// The runtime's constant `pallet::name`, as its metadata gives it.
	pub fn constant(&self, pallet: &str, name: &str) -> Result<Decoded> {
		Ok(self.client.constants().at(&constant(pallet, name))?.to_value()?)
	}

	/// What runtime API `api::method(args)` answers in the latest finalized block.
	pub async fn call(&self, api: &str, method: &str, args: Vec<Value>) -> Result<Decoded> {
		let at = self.client.runtime_api().at_latest().await?;
		Ok(at.call(runtime_api_call(api, method, args)).await?.to_value()?)
	}

	/// The number of the latest finalized block.
	pub async fn finalized_number(&self) -> Result<u64> {
		Ok(self.client.blocks().at_latest().await?.number().into())
	}

	/// The events of block `number` of the best chain.
	pub async fn events_of(&self, number: u64) -> Result<Vec<EventRecord>> {
		let hash = self
			.rpc
			.chain_get_block_hash(Some(number.into()))
			.await?
			.ok_or_else(|| anyhow!("no block {number}"))?;
		let block = self.client.blocks().at(hash).await?;
		block.events().await?.iter().map(|event| EventRecord::decode(number, &event?)).collect()
	}
}

/// One event of a block.
#[derive(Clone, Debug)]
pub struct EventRecord {
	/// The block it was emitted in; 0 for events read from a submission.
	pub block: u64,
	/// Its pallet.
	pub pallet: String,
	/// Its variant.
	pub variant: String,
	/// Its fields.
	pub fields: Composite<u32>,
}

impl EventRecord {
	fn decode(
		block: u64,
		event: &zombienet_sdk::subxt::events::EventDetails<SubstrateConfig>,
	) -> Result<Self> {
		Ok(Self {
			block,
			pallet: event.pallet_name().into(),
			variant: event.variant_name().into(),
			fields: event.field_values()?,
		})
	}

	/// Whether this is `pallet::variant`.
	pub fn is(&self, pallet: &str, variant: &str) -> bool {
		self.pallet == pallet && self.variant == variant
	}

	/// The field `name`.
	pub fn field(&self, name: &str) -> Option<&Decoded> {
		self.fields.at(name)
	}

	/// The field `name` as a number.
	pub fn number(&self, name: &str) -> Option<u128> {
		self.field(name).and_then(number)
	}

	/// The field `name` as the bytes it is made of (an account, a digest, a CID).
	pub fn bytes(&self, name: &str) -> Option<Vec<u8>> {
		self.field(name).and_then(bytes)
	}

	/// The field `name` as a boolean.
	pub fn flag(&self, name: &str) -> Option<bool> {
		match &self.field(name)?.value {
			ValueDef::Primitive(Primitive::Bool(flag)) => Some(*flag),
			_ => None,
		}
	}

	/// The name of the enum variant in the field `name`.
	pub fn variant_of(&self, name: &str) -> Option<&str> {
		match &self.field(name)?.value {
			ValueDef::Variant(variant) => Some(&variant.name),
			_ => None,
		}
	}
}

/// `value` as a number, looking through single-field wrappers.
pub fn number(value: &Decoded) -> Option<u128> {
	match &value.value {
		ValueDef::Composite(composite) if composite.len() == 1 => {
			composite.values().next().and_then(number)
		}
		_ => value.as_u128(),
	}
}

/// The bytes `value` is made of: its `u8`s in order, through any nesting.
pub fn bytes(value: &Decoded) -> Option<Vec<u8>> {
	match &value.value {
		ValueDef::Composite(composite) => {
			composite.values().map(bytes).collect::<Option<Vec<_>>>().map(|parts| parts.concat())
		}
		_ => value.as_u128().and_then(|byte| u8::try_from(byte).ok()).map(|byte| vec![byte]),
	}
}

/// The events of every finalized block from when following started, in order and without gaps.
#[derive(Clone)]
pub struct Events {
	log: Arc<Mutex<Vec<EventRecord>>>,
	failure: Arc<Mutex<Option<String>>>,
}

impl Events {
	/// Starts following `chain`'s finalized blocks. It polls the finalized head and reads each
	/// new block by number, rather than holding a subscription, which a node may drop.
	pub async fn follow(chain: &Chain) -> Result<Self> {
		let events = Self { log: Arc::default(), failure: Arc::default() };
		let (log, failure) = (events.log.clone(), events.failure.clone());
		let chain = chain.clone();
		let mut next = chain.finalized_number().await? + 1;
		tokio::spawn(async move {
			loop {
				let read = async {
					let finalized = chain.finalized_number().await?;
					let mut records = Vec::new();
					for number in next..=finalized {
						records.extend(chain.events_of(number).await?);
					}
					anyhow::Ok((finalized, records))
				};
				match read.await {
					Ok((finalized, records)) => {
						log.lock().expect("not poisoned").extend(records);
						next = next.max(finalized + 1);
					}
					Err(error) => {
						*failure.lock().expect("not poisoned") = Some(format!("{error:#}"));
						return;
					}
				}
				tokio::time::sleep(Duration::from_secs(1)).await;
			}
		});
		Ok(events)
	}

	/// Every event so far that `keep` keeps.
	pub fn matching(&self, keep: impl Fn(&EventRecord) -> bool) -> Vec<EventRecord> {
		self.log.lock().expect("not poisoned").iter().filter(|event| keep(event)).cloned().collect()
	}

	/// Waits up to `timeout` for an event `find` picks something out of, and returns it; the
	/// error names `what` was awaited.
	pub async fn wait_for<T>(
		&self,
		what: &str,
		timeout: Duration,
		find: impl Fn(&EventRecord) -> Option<T>,
	) -> Result<T> {
		let started = Instant::now();
		loop {
			if let Some(found) = self.log.lock().expect("not poisoned").iter().find_map(&find) {
				return Ok(found);
			}
			if let Some(failure) = self.failure.lock().expect("not poisoned").clone() {
				bail!("stopped following blocks while waiting for {what}: {failure}");
			}
			if started.elapsed() > timeout {
				bail!("no {what} within {} s", timeout.as_secs());
			}
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
	}
}
