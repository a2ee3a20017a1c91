//! The urgent-question router's classifier (being built; see issue 10).
