//! Record numbers and other labelled identifiers: SSN, MRN, health plan, account, licence,
//! vehicle (plate or VIN), device serial, biometric template IDs, trauma aliases, photo
//! references and unique identifying characteristics.
//!
//! Most of these are only recognisable by their label ("MRN", "Member ID", "SN"): a bare
//! 8-digit number could be anything, and lot, model, protocol and billing codes must not be
//! reported. So each kind is a label regex followed by a value that contains digits; the span is
//! the value alone, as the corpus defines it.

use regex::Regex;

use super::{Found, Hint, PhiError, PhiKind, compile};

/// A value after a label: letters, digits and inner hyphens, at least one digit.
const VALUE: &str = r"((?:[A-Za-z0-9]+-)*[A-Za-z0-9]*\d[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)";
/// Licence plates may contain one space ("HJK 2290").
const PLATE: &str = r"([A-Z0-9]{2,4}[ -][A-Z0-9]{2,5}|[A-Z0-9]{4,8})\b";
/// Label-to-value filler: punctuation plus up to three words ("MRN at Lakemont is 5512...").
const FILLER: &str = r"(?:[\s:#.,()\[\]-]+(?:[A-Za-z]+\b|#|no\.)){0,3}?[\s:#.,()\[\]-]+";
const TIGHT: &str = r"[\s:#.,()\[\]-]*\s*";

pub(crate) struct IdRules {
    labelled: Vec<(Regex, PhiKind)>,
    plate: Regex,
    vin: Regex,
    ssn: Regex,
    ssn_labelled: Regex,
    list_more: Regex,
    photo: Regex,
    characteristic: Regex,
}

impl IdRules {
    pub fn new() -> Result<IdRules, PhiError> {
        let strong = |labels: &str| compile(&format!(r"(?i)\b(?:{labels})\b{FILLER}{VALUE}"));
        let tight = |labels: &str| compile(&format!(r"(?i)\b(?:{labels}){TIGHT}{VALUE}"));
        let labelled = vec![
            (
                strong(
                    r"mrns?|mr#|mrn#|medical record(?: number| no| #)?|hospital number|nhs number|patient id|pt id|record number",
                )?,
                PhiKind::Mrn,
            ),
            (tight(r"chart(?: number| no\.?| #| id| is)")?, PhiKind::Mrn),
            (
                strong(
                    r"member(?: id| #| number| no)?|medicaid(?: id| #| number| no)?|medicare(?: id| #| number| no)?|mbi|insurance (?:id|number|card)|policy (?:number|no|#)|subscriber (?:id|#)|plan id|group (?:number|no|#)|beneficiary id",
                )?,
                PhiKind::HealthPlan,
            ),
            (
                strong(
                    r"acct|account(?: number| no| #)?|encounter(?: number| no| #| id)?|fin|billing (?:number|no|#)|invoice(?: number| no| #)?|claim(?: number| no| #)?|visit (?:number|id)",
                )?,
                PhiKind::Account,
            ),
            (
                strong(r"licen[sc]e(?: number| no| #)?|dl#?|npi|dea(?: number| #)?")?,
                PhiKind::License,
            ),
            (
                strong(r"serial(?: number| no| #)?|s/n|sn|device id|imei|udi")?,
                PhiKind::Device,
            ),
            (
                strong(
                    r"(?:finger)?print id|fingerprint(?: id| template)?|template|palm(?:-vein)? (?:id|template)|voiceprint(?: id)?|iris (?:id|template)|biometric (?:id|template)",
                )?,
                PhiKind::Biometric,
            ),
            (strong(r"trauma alias|alias|trauma name")?, PhiKind::OtherId),
        ];
        Ok(IdRules {
            labelled,
            plate: compile(&format!(
                r"(?i)\b(?:plate|licen[sc]e plate|plate number|reg(?:istration)? plate)\b{FILLER}(?-i){PLATE}"
            ))?,
            vin: compile(r"\b(?:VIN[\s:#]*)?([A-HJ-NPR-Z0-9]{17})\b")?,
            ssn: compile(r"\b(\d{3}-\d{2}-\d{4})\b")?,
            ssn_labelled: compile(
                r"(?i)\b(?:ssn|ss#|social security(?: number| no| #)?)\b(?:\s+[A-Za-z.]+){0,3}?[\s:#.,()-]*(?:last (?:4|four)(?: digits)?[\s:#,-]*)?(\d{3}-?\d{2}-?\d{4}|\d{4})\b",
            )?,
            list_more: compile(&format!(r"^\s*(?:,|and|&|/|or)\s*{VALUE}"))?,
            photo: compile(
                r"(?i)\[[^\]\n]{0,60}?\b(?:photos?|pics?|pictures?|images?|selfies?|img_\w+)\b[^\]\n]{0,60}\]|\b(?:photos?|pictures?|selfies?|pics?) (?:attached|below|above)\b|\bIMG_\d+\.(?:jpe?g|png|heic)\b",
            )?,
            characteristic: compile(
                r"(?i)\bwith (?:a|an|the|that|this|those)\s+((?:[\w-]+\s+){0,2}(?:tattoos?|birthmark|scar|piercings?|port-wine stain)(?:\s+(?:covering|on|across|over)\s+(?:his|her|their)\s+(?:[\w-]+\s+){0,2}?(?:face|neck|head|arm|forehead|chest|hand|cheek|scalp))?)",
            )?,
        })
    }

    pub fn detect(&self, text: &str, out: &mut Vec<Found>) {
        for (re, kind) in &self.labelled {
            for c in re.captures_iter(text) {
                let Some(m) = c.get(1) else { continue };
                if !is_id_value(m.as_str()) {
                    continue;
                }
                out.push(Found::new(m.start(), m.end(), *kind, Hint::None));
                // "Two MRNs, 7719204 and 7719240": further values in a list share the label.
                let mut pos = m.end();
                while let Some(more) = self.list_more.captures(&text[pos..]) {
                    let Some(v) = more.get(1) else { break };
                    if !is_id_value(v.as_str()) {
                        break;
                    }
                    out.push(Found::new(
                        pos + v.start(),
                        pos + v.end(),
                        *kind,
                        Hint::None,
                    ));
                    pos += v.end();
                }
            }
        }
        for c in self.plate.captures_iter(text) {
            if let Some(m) = c.get(1)
                && m.as_str().chars().filter(char::is_ascii_digit).count() >= 2
            {
                out.push(Found::new(m.start(), m.end(), PhiKind::Vehicle, Hint::None));
            }
        }
        for c in self.vin.captures_iter(text) {
            if let Some(m) = c.get(1) {
                let s = m.as_str();
                if s.chars().any(|c| c.is_ascii_alphabetic())
                    && s.chars().filter(char::is_ascii_digit).count() >= 5
                {
                    out.push(Found::new(m.start(), m.end(), PhiKind::Vehicle, Hint::None));
                }
            }
        }
        for re in [&self.ssn, &self.ssn_labelled] {
            for c in re.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    out.push(Found::new(m.start(), m.end(), PhiKind::Ssn, Hint::None));
                }
            }
        }
        for m in self.photo.find_iter(text) {
            out.push(Found::new(m.start(), m.end(), PhiKind::Photo, Hint::None));
        }
        for c in self.characteristic.captures_iter(text) {
            if let Some(m) = c.get(1) {
                out.push(Found::new(m.start(), m.end(), PhiKind::OtherId, Hint::None));
            }
        }
    }
}

/// An identifier value has at least four characters and three digits; "4-4-7-1-9-0-2" counts,
/// "U-100" and "2" do not.
fn is_id_value(v: &str) -> bool {
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let looks_like_year =
        v.len() == 4 && (v.starts_with("19") || v.starts_with("20")) && digits == 4;
    v.chars().count() >= 4 && digits >= 3 && !looks_like_year
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(String, PhiKind)> {
        let rules = IdRules::new().unwrap();
        let mut out = Vec::new();
        rules.detect(text, &mut out);
        out.iter()
            .map(|f| (text[f.start..f.end].to_owned(), f.kind))
            .collect()
    }

    fn has(text: &str, value: &str, kind: PhiKind) -> bool {
        found(text).iter().any(|(s, k)| s == value && *k == kind)
    }

    #[test]
    fn detects_mrn_values_without_their_label() {
        assert!(has(
            "Just discharged him, MRN 00482913 — ok",
            "00482913",
            PhiKind::Mrn
        ));
        assert!(has(
            "Two MRNs, 7719204 and 7719240, same DOB",
            "7719240",
            PhiKind::Mrn
        ));
        assert!(has(
            "chart is 4-4-7-1-9-0-2 if",
            "4-4-7-1-9-0-2",
            PhiKind::Mrn
        ));
        assert!(has(
            "My MRN at Lakemont is 55120874 and",
            "55120874",
            PhiKind::Mrn
        ));
    }

    #[test]
    fn detects_ssn_full_and_partial() {
        assert!(has(
            "face sheet (SSN 000-41-7729) on",
            "000-41-7729",
            PhiKind::Ssn
        ));
        assert!(has(
            "wrong SSN for him (last 4 7731) and",
            "7731",
            PhiKind::Ssn
        ));
    }

    #[test]
    fn detects_health_plan_account_and_license_numbers() {
        assert!(has(
            "card (member W229-381-004) on",
            "W229-381-004",
            PhiKind::HealthPlan
        ));
        assert!(has(
            "Medicaid ID VT44810273 keeps",
            "VT44810273",
            PhiKind::HealthPlan
        ));
        assert!(has("Acct 88-30125-7. I am", "88-30125-7", PhiKind::Account));
        assert!(has("void encounter 5509182?", "5509182", PhiKind::Account));
        assert!(has(
            "driver's license # D4410-27719-08 scribbled",
            "D4410-27719-08",
            PhiKind::License
        ));
    }

    #[test]
    fn detects_vehicle_plates_and_vins() {
        assert!(has(
            "blue Subaru, plate HJK 2290, that's",
            "HJK 2290",
            PhiKind::Vehicle
        ));
        assert!(has(
            "pickup (plate 7KLM442) is",
            "7KLM442",
            PhiKind::Vehicle
        ));
        assert!(has(
            "VIN 1HGCM82633A004352 on file",
            "1HGCM82633A004352",
            PhiKind::Vehicle
        ));
    }

    #[test]
    fn detects_device_serials_and_biometric_ids() {
        assert!(has(
            "pacer (serial PJN-4471908), battery",
            "PJN-4471908",
            PhiKind::Device
        ));
        assert!(has(
            "transmitter (SN 8G44S1X2) died",
            "8G44S1X2",
            PhiKind::Device
        ));
        assert!(has(
            "flagged her (print ID FPX-20931) for",
            "FPX-20931",
            PhiKind::Biometric
        ));
        assert!(has(
            "wrong chart (template PV-0093312).",
            "PV-0093312",
            PhiKind::Biometric
        ));
    }

    #[test]
    fn detects_photo_references_and_identifying_characteristics() {
        assert!(has(
            "walking today [photo: IMG_2291.jpg]",
            "[photo: IMG_2291.jpg]",
            PhiKind::Photo
        ));
        assert!(has(
            "6 weeks apart [2 photos attached]",
            "[2 photos attached]",
            PhiKind::Photo
        ));
        assert!(
            found("the guy with the koi tattoo covering his whole face is back")
                .iter()
                .any(|(s, k)| s.starts_with("koi tattoo") && *k == PhiKind::OtherId)
        );
        assert!(has(
            "Trauma alias ZULU-4471 in bay 5",
            "ZULU-4471",
            PhiKind::OtherId
        ));
    }

    #[test]
    fn codes_lots_and_dosages_are_not_identifiers() {
        assert!(found("member since 2019, ICD-10 E11.9, CPT 99214, lot B4471, protocol ONC-2291, U-300, 500 mg").is_empty());
        assert!(found("only units with serials starting RX are affected").is_empty());
    }
}
