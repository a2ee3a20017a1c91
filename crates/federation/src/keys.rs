//! Actor key pairs.

/// A freshly generated RSA-2048 key pair in PEM.
#[derive(Clone)]
pub struct ActorKeys {
    /// SPKI PEM, published in the actor's `publicKey`.
    pub public_key_pem: String,
    /// PKCS#8 PEM; never leaves the instance.
    pub private_key_pem: String,
}

impl std::fmt::Debug for ActorKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorKeys").finish_non_exhaustive()
    }
}

/// Key generation failed (the system's random source failed).
#[derive(Debug, thiserror::Error)]
#[error("could not generate an actor key pair: {0}")]
pub struct KeyError(String);

/// Generates an RSA-2048 key pair, the only kind every fediverse server accepts. Takes tens
/// of milliseconds in an optimised build: call it off the async executor's hot path
/// (`spawn_blocking`) where latency matters.
pub fn generate_actor_keys() -> Result<ActorKeys, KeyError> {
    let pair = activitypub_federation::http_signatures::generate_actor_keypair()
        .map_err(|e| KeyError(e.to_string()))?;
    Ok(ActorKeys {
        public_key_pem: pair.public_key,
        private_key_pem: pair.private_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_pem_keys() {
        let keys = generate_actor_keys().unwrap();
        assert!(
            keys.public_key_pem
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        assert!(
            keys.private_key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert!(
            !format!("{keys:?}").contains("PRIVATE"),
            "Debug must not print keys"
        );
    }
}
