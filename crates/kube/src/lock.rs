//! The run lock: a `coordination.k8s.io/v1` Lease `kubeladder` in `kube-system`.
//!
//! Rule: a run holds the lease while it renews it every [`RENEW_EVERY`]. A lease not
//! renewed for its `leaseDurationSeconds` ([`LEASE_SECONDS`]) is stale, and the next run
//! takes it over (its error or event names the previous holder). Every write carries the
//! lease's `resourceVersion`, so of two runs racing for it exactly one wins (409 for the
//! other). A run that fails to renew - because another run took a stale lease over -
//! must stop before its next step.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};

use crate::error::Holder;
use crate::error::KubeError;

pub const LEASE_NAME: &str = "kubeladder";
pub const LEASE_NAMESPACE: &str = "kube-system";
pub const LEASE_SECONDS: i32 = 60;
pub const RENEW_EVERY: Duration = Duration::from_secs(15);

/// A held lock. Dropping it does not release it: call [`RunLock::release`].
pub struct RunLock {
    client: Client,
    identity: String,
    lease: Lease,
    /// The holder this run displaced because its lease was stale, if any.
    pub took_over_from: Option<Holder>,
}

impl std::fmt::Debug for RunLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunLock").field("identity", &self.identity).finish_non_exhaustive()
    }
}

fn now() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

fn api(client: &Client) -> Api<Lease> {
    Api::namespaced(client.clone(), LEASE_NAMESPACE)
}

fn holder(lease: &Lease) -> Holder {
    let spec = lease.spec.clone().unwrap_or_default();
    Holder {
        identity: spec.holder_identity.unwrap_or_default(),
        acquired: spec.acquire_time.map(|t| t.0.to_string()),
        renewed: spec.renew_time.map(|t| t.0.to_string()),
        lease_seconds: spec.lease_duration_seconds.unwrap_or(LEASE_SECONDS),
    }
}

fn is_stale(lease: &Lease, at: jiff::Timestamp) -> bool {
    let spec = lease.spec.clone().unwrap_or_default();
    let seconds = i64::from(spec.lease_duration_seconds.unwrap_or(LEASE_SECONDS));
    match spec.renew_time.or(spec.acquire_time) {
        Some(t) => t.0.as_second() + seconds < at.as_second(),
        None => true,
    }
}

fn spec_for(identity: &str, acquired: MicroTime) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(identity.to_owned()),
        lease_duration_seconds: Some(LEASE_SECONDS),
        acquire_time: Some(acquired),
        renew_time: Some(now()),
        ..LeaseSpec::default()
    }
}

impl RunLock {
    /// Take the lock for `identity`, or refuse naming the live holder.
    pub async fn acquire(client: &Client, identity: &str) -> Result<Self, KubeError> {
        let leases = api(client);
        let existing = leases.get_opt(LEASE_NAME).await.map_err(|e| KubeError::api("read the kubeladder Lease", e))?;
        let (lease, took_over_from) = match existing {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta { name: Some(LEASE_NAME.to_owned()), ..ObjectMeta::default() },
                    spec: Some(spec_for(identity, now())),
                };
                match leases.create(&PostParams::default(), &lease).await {
                    Ok(created) => (created, None),
                    Err(kube::Error::Api(s)) if s.code == 409 => return Err(Self::held(&leases).await),
                    Err(e) => return Err(KubeError::api("create the kubeladder Lease", e)),
                }
            }
            Some(current) => {
                let current_holder = holder(&current);
                let ours = current_holder.identity == identity;
                if !ours && !is_stale(&current, jiff::Timestamp::now()) {
                    return Err(KubeError::LockHeld(current_holder));
                }
                let acquired = if ours {
                    current.spec.as_ref().and_then(|s| s.acquire_time.clone()).unwrap_or_else(now)
                } else {
                    now()
                };
                let mut next = current.clone();
                next.spec = Some(spec_for(identity, acquired));
                match leases.replace(LEASE_NAME, &PostParams::default(), &next).await {
                    Ok(replaced) => {
                        (replaced, (!ours && !current_holder.identity.is_empty()).then_some(current_holder))
                    }
                    Err(kube::Error::Api(s)) if s.code == 409 => return Err(Self::held(&leases).await),
                    Err(e) => return Err(KubeError::api("take over the kubeladder Lease", e)),
                }
            }
        };
        Ok(Self { client: client.clone(), identity: identity.to_owned(), lease, took_over_from })
    }

    async fn held(leases: &Api<Lease>) -> KubeError {
        match leases.get(LEASE_NAME).await {
            Ok(l) => KubeError::LockHeld(holder(&l)),
            Err(e) => KubeError::api("read the kubeladder Lease", e),
        }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Renew; fails with `LockLost` if another run has taken the lease.
    pub async fn renew(&mut self) -> Result<(), KubeError> {
        let mut next = self.lease.clone();
        if let Some(spec) = next.spec.as_mut() {
            spec.renew_time = Some(now());
        }
        match api(&self.client).replace(LEASE_NAME, &PostParams::default(), &next).await {
            Ok(renewed) => {
                self.lease = renewed;
                Ok(())
            }
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                let leases = api(&self.client);
                let now_held = leases.get_opt(LEASE_NAME).await.ok().flatten().map(|l| holder(&l));
                Err(KubeError::LockLost { by: now_held.map(|h| h.identity) })
            }
            Err(e) => Err(KubeError::api("renew the kubeladder Lease", e)),
        }
    }

    /// Delete the lease if it is still ours (precondition on its resourceVersion).
    pub async fn release(self) -> Result<(), KubeError> {
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                resource_version: self.lease.metadata.resource_version.clone(),
                uid: self.lease.metadata.uid.clone(),
            }),
            ..DeleteParams::default()
        };
        match api(&self.client).delete(LEASE_NAME, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
            Err(e) => Err(KubeError::api("release the kubeladder Lease", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(renewed_secs_ago: i64) -> Lease {
        let at = jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_secs(renewed_secs_ago)).unwrap();
        Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                holder_identity: Some("other".to_owned()),
                lease_duration_seconds: Some(LEASE_SECONDS),
                renew_time: Some(MicroTime(at)),
                ..LeaseSpec::default()
            }),
        }
    }

    #[test]
    fn a_lease_is_stale_only_after_its_duration() {
        let now = jiff::Timestamp::now();
        assert!(!is_stale(&lease(5), now));
        assert!(!is_stale(&lease(i64::from(LEASE_SECONDS) - 5), now));
        assert!(is_stale(&lease(i64::from(LEASE_SECONDS) + 5), now));
        assert!(is_stale(&Lease::default(), now));
    }
}
