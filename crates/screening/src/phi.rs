//! The PHI guard's detectors (being built; see issue 4).
