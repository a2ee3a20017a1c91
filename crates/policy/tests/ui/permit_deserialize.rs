use cohort_policy::DeliveryPermit;

fn from_the_wire<T: serde::de::DeserializeOwned>() {}

fn main() {
    from_the_wire::<DeliveryPermit>();
}
