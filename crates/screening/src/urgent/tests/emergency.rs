//! Emergency rule families and their hard negatives.

use super::*;
use crate::urgent::UrgentLabel;

#[test]
fn chest_pain_cluster_multilingual_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "tight chest and feel like throwing up, it started 30 min ago while shovelling snow",
            "my husband says his chest feels heavy and he's grey and clammy",
            "me duele mucho el pecho y estoy sudando, me da miedo",
            "douleur dans la poitrine qui descend dans le bras gauche depuis ce matin",
        ],
    );
}

#[test]
fn chest_pain_alone_or_other_senses_is_not_emergency() {
    assert_label(
        UrgentLabel::None,
        &[
            "chest day done, arms are jelly",
            "finally got it off my chest with my sister",
            "bought a toy chest for the kids' room",
        ],
    );
}

#[test]
fn stroke_signs_are_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "mum's smile is lopsided all of a sudden and she's slurring",
            "my right arm went numb and weak 20 minutes ago and I keep mixing up words, words come out wrong",
            "a mi padre se le cayo la cara de un lado y habla raro",
            "mon pere a le visage de travers et n'arrive plus a parler",
        ],
    );
}

#[test]
fn anaphylaxis_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "ate a satay skewer at the party and my tongue is swelling up",
            "stung by a bee, hives everywhere and wheezing, used my epipen",
            "se me esta hinchando la garganta despues de comer mariscos",
        ],
    );
}

#[test]
fn severe_bleeding_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "cut my leg on the fence and it won't stop bleeding, soaked through two towels",
            "coughing up blood this morning, quite a lot",
        ],
    );
}

#[test]
fn overdose_taken_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "I took all my sleeping pills about an hour ago, I just want to sleep forever",
            "my son swallowed a button battery from a toy",
            "took 30 tylenol last night for my tooth, now my stomach hurts",
        ],
    );
}

#[test]
fn fever_in_young_infant_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "our 5 week old has a temperature of 38.3 and is not interested in feeding",
            "mi bebe de 3 semanas tiene fiebre de 38,5",
        ],
    );
}

#[test]
fn thunderclap_headache_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "sudden explosive headache out of nowhere, worst headache ever, throwing up",
            "le pire mal de tete de ma vie, d'un coup",
        ],
    );
}

#[test]
fn breathing_trouble_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "I can't breathe properly, lips look blue",
            "my son's breathing is really fast and his ribs are sucking in with each breath",
            "SOB getting worse all afternoon even at rest",
        ],
    );
}

#[test]
fn dka_signs_are_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &["blood sugar 420 and ketones are high, vomiting all morning"],
    );
}

#[test]
fn seizure_now_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "he has been seizing for 6 minutes and won't come round",
            "my wife just had her first ever seizure, she's very confused",
        ],
    );
}

#[test]
fn playing_it_down_does_not_lower_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "lol probably nothing but my face is drooping on the left and my arm feels weak",
            "prob just anxiety haha but crushing chest pain and sweating, gonna sleep it off",
        ],
    );
}

#[test]
fn past_emergency_story_is_not_urgent() {
    assert_label(
        UrgentLabel::None,
        &[
            "Three years ago my face drooped and my arm went weak. Today I ran a half marathon!",
            "Remember when I had crushing chest pain and sweating on the plane? Cardiac rehab graduate now",
            "in 2018 my throat swelled shut at a wedding. carry your epipens, folks",
            "hace dos anos tuve un infarto con dolor en el pecho y sudor frio. hoy estoy bien",
        ],
    );
}

#[test]
fn teaching_and_awareness_are_not_urgent() {
    assert_label(
        UrgentLabel::None,
        &[
            "Teaching point: crushing chest pain with sweating in a diabetic is an MI until proven otherwise.",
            "Know the signs: face drooping, arm weakness, speech difficulty. #StrokeAwareness",
            "Quiz for the residents: 4 week old, fever 38.5, what next?",
        ],
    );
}

#[test]
fn fiction_and_tv_are_not_urgent() {
    assert_label(
        UrgentLabel::None,
        &[
            "watching the new medical drama and the main character can't breathe, lips blue, so dramatic",
            "in my novel the heroine wants to die after the war. too bleak?",
        ],
    );
}

#[test]
fn animals_are_not_urgent() {
    assert_label(
        UrgentLabel::None,
        &[
            "my dog is having a seizure right now and won't stop shaking, which vet is open?",
            "our cat can't breathe properly, taking her to the emergency vet",
        ],
    );
}
