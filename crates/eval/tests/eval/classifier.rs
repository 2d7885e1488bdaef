use grimoire_eval::{ClassifierOptions, PersonaClassifier, same_person};

use crate::common::{PERSONA, sample_lines};

#[test]
fn the_persona_classifier_tells_elizabeth_from_the_others_on_held_out_lines() {
    let lines = sample_lines();
    let samples: Vec<(&str, bool)> = lines
        .iter()
        .filter_map(|l| {
            let s = l.speaker.as_deref()?;
            Some((l.text.as_str(), same_person(s, PERSONA, &[])))
        })
        .collect();
    let (classifier, report) = PersonaClassifier::fit(&samples, &ClassifierOptions::default());
    eprintln!("{report:#?}");

    assert!(
        report.persona_lines >= 300 && report.other_lines >= 800,
        "{report:?}"
    );
    // Nested 5-fold cross-validation, 1,252 lines: 0.543–0.565 over five split seeds (0.562
    // with this one; standard error about 0.015). The attribution is noisy (its persona
    // precision on LitBank is 84%) and one line says little, so the bar is chance plus two
    // standard errors; see docs/benchmarks.md. The calibrated threshold keeps both recalls
    // near each other (the previous SGD model's persona recall was 0.37–0.41).
    assert!(report.balanced_accuracy >= 0.53, "{report:?}");
    assert!(
        report.persona_recall >= 0.45 && report.other_recall >= 0.5,
        "{report:?}"
    );
    // Deterministic: the same lines give the same model.
    let (again, _) = PersonaClassifier::fit(&samples, &ClassifierOptions::default());
    let probe = "I am perfectly convinced by it that Mr. Darcy has no defect.";
    assert_eq!(classifier.probability(probe), again.probability(probe));
}
