use cohort_policy::DeliveryPermit;

fn main() {
    let _forged: DeliveryPermit = Default::default();
}
