//! Self-contained HTML drift report (written in the next step).
