//! Outside code may read and consume a permit the policy issued.
use cohort_policy::{DeliveryPermit, DeliveryPlan};

fn describe(permit: &DeliveryPermit) -> String {
    format!("{} {} {:?} {}", permit.inbox(), permit.domain(), permit.addressing(), permit.rule())
}

fn drain(plan: DeliveryPlan) -> Vec<String> {
    plan.permits.iter().map(describe).collect()
}

fn main() {
    let _ = drain;
}
