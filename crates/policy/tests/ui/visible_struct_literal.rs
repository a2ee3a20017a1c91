use cohort_model::Id;
use cohort_policy::{Audience, Party, PostFacts, Rule, Visible};
use cohort_model::Visibility;

fn main() {
    let post = PostFacts::new(
        Id::from_i64(1).unwrap(),
        Party::local(Id::from_i64(2).unwrap()),
        Audience::new(Visibility::Direct),
    );
    let _forged = Visible { item: post, rule: Rule::AuthorSeesOwn };
}
