//! Canonical digests of training state, computed identically by the chain and the trainer.
