use cohort_model::Domain;
use cohort_policy::{Addressing, DeliveryPermit, Rule};

fn main() {
    let _forged = DeliveryPermit {
        inbox: String::from("https://evil.example/inbox"),
        domain: Domain::parse("evil.example").unwrap(),
        addressing: Addressing { public: None, author_followers: None, to: std::sync::Arc::from([]), cc: std::sync::Arc::from([]) },
        rule: Rule::OpenAudience,
    };
}
