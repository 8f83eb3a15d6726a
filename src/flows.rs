//! Realistic contract flows, signed the way the platform's services sign
//! them: used by the demo, the load tool and the end-to-end tests.

use ed25519_dalek::SigningKey;
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};
use verifier::attest::{
    identity_digest, sign_attestation_v2, sign_attestation_v2_1, AttestationV2, AttestationV21,
    ATTESTATION_V2_1,
};
use verifier::suite::Suite;
use verifier::Hash;

/// An issuer: its registry name and key.
pub struct Issuer {
    /// Registry name.
    pub name: String,
    /// Signing key.
    pub key: SigningKey,
}

impl Issuer {
    /// A fresh random issuer.
    pub fn random(name: &str) -> Issuer {
        let mut seed = [0u8; 32];
        OsRng.fill_bytes(&mut seed);
        Issuer::from_seed(name, seed)
    }

    /// An issuer with a known key.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Issuer {
        Issuer { name: name.to_string(), key: SigningKey::from_bytes(&seed) }
    }

    /// Base64 of the public key, as `issuer add` and `POST /v1/issuers` take it.
    pub fn public_key_b64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self.key.verifying_key().as_bytes())
    }
}

/// A signing party: pseudonymous id, masked name, and its own signing key
/// (registered as an issuer named `signer:<id>`).
pub struct Signer {
    /// Pseudonymous id.
    pub id: String,
    /// Masked display name.
    pub display: String,
    /// The signer's key, as an issuer.
    pub issuer: Issuer,
    /// The real identity the platform checked (`{"name", "id_type",
    /// "id_number", "phone"?}`), sent with the identity check event.
    pub identity: Option<Value>,
}

impl Signer {
    /// A random signer.
    pub fn random(id: &str, display: &str) -> Signer {
        Signer::with_issuer(id, display, Issuer::random(&format!("signer:{id}")))
    }

    /// A signer whose key is `issuer` (named `signer:<id>`).
    pub fn with_issuer(id: &str, display: &str, issuer: Issuer) -> Signer {
        Signer { id: id.into(), display: display.into(), issuer, identity: None }
    }

    /// The same signer with a real identity.
    pub fn with_identity(mut self, identity: Value) -> Signer {
        self.identity = Some(identity);
        self
    }

    fn actor(&self) -> Value {
        let commitment =
            Hash::digest(format!("salt|{}|name|id-number", self.id).as_bytes()).to_hex();
        json!({"id": self.id, "display": self.display, "commitment": commitment})
    }
}

/// The services that vouch for facts: identity provider and intent service.
pub struct Services {
    /// Real-name identity provider.
    pub idp: Issuer,
    /// Signing-intent service (SMS code, face liveness, ...).
    pub intent: Issuer,
}

/// The tenant the flows sign for when none is named (the tests' tenant).
pub const DEFAULT_TENANT: &str = "acme";

/// Where a flow's events are logged: the tenant, and the log's origin and
/// suite when the flow signs attestations v2.1 (`None`: v2).
#[derive(Clone, Copy)]
struct Scope<'a> {
    tenant: &'a str,
    log: Option<(&'a str, Suite)>,
}

/// The identity digest (attestation v2.1) of a submitted `identity`
/// object `{"name", "id_type", "id_number", "phone"?}`, with `suite`'s hash.
pub fn identity_digest_of(identity: &Value, suite: Suite) -> String {
    let s = |k: &str| identity[k].as_str().unwrap_or_default();
    identity_digest(suite, s("name"), s("id_type"), s("id_number"))
}

/// One event with a list of (issuer, claim) attestations, signed as
/// attestations v2 (bound to the tenant, the contract and the actor) or,
/// when `scope` names the log, v2.1 (also bound to the log and to the
/// person of `identity`, which the event then carries).
#[allow(clippy::too_many_arguments)]
fn event(
    scope: Scope<'_>,
    event_id: &str,
    document_id: &str,
    kind: &str,
    doc_hash: &str,
    actor: Value,
    identity: Option<&Value>,
    attest: &[(&Issuer, Value)],
) -> Value {
    let actor_id = actor["id"].as_str().unwrap_or_default().to_owned();
    let attestations: Vec<Value> = attest
        .iter()
        .map(|(iss, claim)| {
            let v2 = AttestationV2 {
                tenant: scope.tenant,
                document_id,
                document_hash_hex: doc_hash,
                event_id,
                kind,
                actor_id: &actor_id,
                issuer: &iss.name,
                claim,
            };
            match scope.log {
                None => {
                    let sig = sign_attestation_v2(&iss.key, &v2);
                    json!({"issuer": iss.name, "v": 2, "claim": claim, "signature": sig})
                }
                Some((log, suite)) => {
                    let digest = identity.map(|id| identity_digest_of(id, suite));
                    let a = AttestationV21 { v2, log, identity: digest.as_deref() };
                    let sig = sign_attestation_v2_1(&iss.key, &a);
                    json!({"issuer": iss.name, "v": ATTESTATION_V2_1, "claim": claim, "signature": sig})
                }
            }
        })
        .collect();
    let mut out = json!({
        "event_id": event_id,
        "document_id": document_id,
        "kind": kind,
        "document_hash": doc_hash,
        "actor": actor,
        "attestations": attestations,
    });
    if let (Some(id), Some(m)) = (identity, out.as_object_mut()) {
        m.insert("identity".into(), id.clone());
    }
    out
}

/// [`contract_flow_for`] the [`DEFAULT_TENANT`].
pub fn contract_flow(
    services: &Services,
    signers: &[&Signer],
    document_id: &str,
    document: &[u8],
) -> Vec<Value> {
    contract_flow_for(DEFAULT_TENANT, services, signers, document_id, document)
}

/// The whole life of one contract: registered; per signer identity check
/// (with the signer's real identity, when it has one), intent proof and
/// signature; completed. Attestations v2 (see [`contract_flow_on`]).
pub fn contract_flow_for(
    tenant: &str,
    services: &Services,
    signers: &[&Signer],
    document_id: &str,
    document: &[u8],
) -> Vec<Value> {
    flow(Scope { tenant, log: None }, services, signers, document_id, document)
}

/// [`contract_flow_for`] with every attestation v2.1, for the log `origin`
/// of `suite`: the identity provider's signature binds the person it
/// checked (the digest of the signer's identity) and the log; the intent
/// service's and the signer's bind the log and no person (their events
/// carry no identity). What the demo submits.
pub fn contract_flow_on(
    origin: &str,
    suite: Suite,
    tenant: &str,
    services: &Services,
    signers: &[&Signer],
    document_id: &str,
    document: &[u8],
) -> Vec<Value> {
    let scope = Scope { tenant, log: Some((origin, suite)) };
    flow(scope, services, signers, document_id, document)
}

fn flow(
    scope: Scope<'_>,
    services: &Services,
    signers: &[&Signer],
    document_id: &str,
    document: &[u8],
) -> Vec<Value> {
    let h = Hash::digest(document).to_hex();
    let platform = json!({"id": "platform", "display": "平台", "commitment": Hash::digest(b"platform").to_hex()});
    let event =
        |id: &str, kind: &str, actor: Value, who: Option<&Value>, a: &[(&Issuer, Value)]| {
            event(scope, id, document_id, kind, &h, actor, who, a)
        };
    let mut out = vec![event(
        &format!("{document_id}:registered"),
        "registered",
        platform.clone(),
        None,
        &[],
    )];
    let methods = [("phone_3_factor", "sms_code"), ("bank_card_4_factor", "face_liveness")];
    for (i, s) in signers.iter().enumerate() {
        let (id_method, intent_method) = methods[i % methods.len()];
        let id_claim = json!({"method": id_method, "result": "pass"});
        let intent_claim = json!({"method": intent_method, "result": "pass"});
        let sign_claim = json!({"action": "sign", "algorithm": "Ed25519"});
        let eid = |k: &str| format!("{document_id}:{}:{k}", s.id);
        let who = s.identity.as_ref();
        out.push(event(
            &eid("identity"),
            "identity_verified",
            s.actor(),
            who,
            &[(&services.idp, id_claim)],
        ));
        out.push(event(
            &eid("intent"),
            "intent_verified",
            s.actor(),
            None,
            &[(&services.intent, intent_claim)],
        ));
        out.push(event(&eid("signed"), "signed", s.actor(), None, &[(&s.issuer, sign_claim)]));
    }
    out.push(event(&format!("{document_id}:completed"), "completed", platform, None, &[]));
    out
}

/// One signed event of kind `signed` with a single attestation by `issuer`
/// (the load tool's unit of work).
pub fn signed_event(
    issuer: &Issuer,
    event_id: &str,
    document_id: &str,
    document_hash_hex: &str,
) -> Value {
    signed_event_for(DEFAULT_TENANT, issuer, event_id, document_id, document_hash_hex)
}

/// [`signed_event`] for `tenant`.
pub fn signed_event_for(
    tenant: &str,
    issuer: &Issuer,
    event_id: &str,
    document_id: &str,
    document_hash_hex: &str,
) -> Value {
    let actor =
        json!({"id": "u-load", "display": "李*", "commitment": Hash::digest(b"load").to_hex()});
    let claim = json!({"method": "face_liveness", "result": "pass"});
    event(
        Scope { tenant, log: None },
        event_id,
        document_id,
        "intent_verified",
        document_hash_hex,
        actor,
        None,
        &[(issuer, claim)],
    )
}
