// Prints the CID `ipfs add --cid-version=1 --raw-leaves` gives each input of the trainer's
// golden-CID test, computed by the UnixFS importer of IPFS's JavaScript stack with Kubo's
// defaults (256 KiB fixed-size chunks, balanced layout, 174 links per node).
import { importer } from 'ipfs-unixfs-importer'
import { MemoryBlockstore } from 'blockstore-core/memory'

const CHUNK = 262144
// The same inputs as `golden_input` in offchain-trainer/src/store/tests.rs.
const pattern = (len) => Uint8Array.from({ length: len }, (_, i) => i % 251)
const inputs = {
  empty: new Uint8Array(0),
  hello: new TextEncoder().encode('hello tessera\n'),
  one_chunk: pattern(CHUNK),
  one_chunk_and_a_byte: pattern(CHUNK + 1),
  two_levels: pattern(174 * CHUNK + 1),
}

for (const [name, content] of Object.entries(inputs)) {
  let root
  for await (const entry of importer([{ content }], new MemoryBlockstore(), { cidVersion: 1, rawLeaves: true })) root = entry
  console.log(`${name} ${root.cid.toString()} ${content.length}`)
}
