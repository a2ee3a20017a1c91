use cohort_policy::DeliveryPermit;

fn send_twice(permit: DeliveryPermit) -> (DeliveryPermit, DeliveryPermit) {
    let copy = permit.clone();
    (permit, copy)
}

fn main() {}
