"""Assets, one module per layer of DESIGN.md; each asset is one stage of the loop."""
