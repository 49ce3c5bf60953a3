"""The live copy pipeline: intake (watch → normalise) → copier (decide → guard) → oms (sign + submit)
→ ledger, driven by the runner (`mirrorbot run`). See docs/decisions/pipeline.md."""
